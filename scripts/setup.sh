#!/usr/bin/env bash
# Installs everything radi needs on a fresh Debian 12 machine: system -dev packages,
# a Python virtual environment (.venv) with the pinned test dependencies, and builds radi.
# Idempotent: re-running only does what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

APT_PACKAGES=(build-essential cmake ninja-build pkg-config
  libzstd-dev liblz4-dev zlib1g-dev libdeflate-dev libcmocka-dev
  libcurl4-openssl-dev libssl-dev libexpat1-dev strace
  libopenjp2-7-dev libcharls-dev
  dcmtk libopenjp2-tools openjph-tools
  python3-venv clang-14 libclang-rt-14-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -r requirements-test.txt
echo "setup: done"
