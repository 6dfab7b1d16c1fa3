#!/usr/bin/env bash
# Creates .venv-bench in the repository root with the pinned peers of bench/bench_s3.py
# (zarr v3 and s3fs, bench/requirements-bench.txt). A separate venv because s3fs pins an
# older botocore than the boto3 in .venv (which moto needs); bench_s3.py runs its zarr
# measurements in a subprocess with this interpreter, and runs this script itself when
# .venv-bench is missing.
#
#     bench/setup_bench.sh [PYTHON]     # default: python3 (3.11 or later)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-python3}"
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/bench/requirements-bench.txt"
"$venv/bin/python" -c "import zarr, s3fs; print(f'.venv-bench: zarr {zarr.__version__}, s3fs {s3fs.__version__}')"
