#!/usr/bin/env bash
# THE test command: every test radi has, in the order that fails fastest.
#   1. setup (scripts/setup.sh) when a system package or the .venv is missing
#   2. C library + C unit tests (CTest) in build/
#   3. the same C tests under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
#   4. `pip install .` into .venv, then the Python suite (API, CLI, TileDB-Py oracle)
#      against the installed package
#   5. the oracle tests again against the ASan+UBSan build of libradi, and the S3
#      transport tests with the sanitized S3 driver
# Exits non-zero on the first failure. Options: --no-asan (skip steps 3 and 5, for quick runs).
# RADI_BUILD_DIR / RADI_ASAN_BUILD_DIR override build/ and build-asan/. RADI_TEST_ML=1 also
# installs requirements-ml.txt (torch) so that tests/python/test_ml_torch.py runs (it is
# skipped without torch).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

asan=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

jobs="$(nproc 2>/dev/null || echo 2)"
bdir="${RADI_BUILD_DIR:-build}"
adir="${RADI_ASAN_BUILD_DIR:-build-asan}"
step() { printf '\n== %s ==\n' "$*"; }
t0=$SECONDS

# ------------------------------------------------------------------------ setup --
need_setup=0
for tool in cmake ninja pkg-config cc strace; do
  command -v "$tool" >/dev/null 2>&1 || need_setup=1
done
if [ $need_setup -eq 0 ]; then
  pkg-config --exists libzstd liblz4 zlib libdeflate libcurl libcrypto expat cmocka libopenjp2 charls || need_setup=1
fi
if [ ! -x .venv/bin/python ] ||
   ! .venv/bin/python -c 'import numpy, tiledb, pytest, pytest_timeout, setuptools, wheel, moto, boto3, radiobject, pydicom' 2>/dev/null; then
  need_setup=1
fi
if [ $need_setup -eq 1 ]; then
  step "setup (scripts/setup.sh)"
  bash scripts/setup.sh
fi

# ------------------------------------------------------------------ C: release --
step "build ($bdir/)"
cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bdir" --parallel "$jobs"
step "C tests ($bdir/)"
ctest --test-dir "$bdir" --output-on-failure --no-tests=error --timeout 300 -j "$jobs"

# ------------------------------------------------------------ C: ASan + UBSan --
if [ $asan -eq 1 ]; then
  step "build with ASan+UBSan ($adir/)"
  cmake -S . -B "$adir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRADI_SANITIZE=ON >/dev/null
  cmake --build "$adir" --parallel "$jobs"
  step "C tests under ASan+UBSan ($adir/)"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    ctest --test-dir "$adir" --output-on-failure --no-tests=error --timeout 600 -j "$jobs"
fi

# -------------------------------------------------------------------- Python --
step "pip install . (.venv)"
# No build isolation: setuptools and wheel are pinned in .venv, and CI need not fetch them.
.venv/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps .

if [ "${RADI_TEST_ML:-0}" = "1" ]; then
  step "pip install -r requirements-ml.txt (RADI_TEST_ML=1)"
  .venv/bin/python -m pip install -q -r requirements-ml.txt
fi

step "Python tests (installed package; oracle TileDB-Py)"
# The installed package and its bundled libradi/radi are what is tested, not the tree.
unset RADI_LIBRARY RADI_CLI PYTHONPATH
set +e
.venv/bin/python -m pytest tests/python -q -p no:cacheprovider --timeout=300
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
if [ $rc -ne 0 ]; then
  exit $rc
fi

if [ $asan -eq 1 ]; then
  # The oracle workloads again, against the sanitized library: Python loads it with the
  # ASan/UBSan runtimes preloaded. Leak checking stays off (CPython itself never frees
  # everything); the C tests above check leaks.
  step "oracle tests against the ASan+UBSan library ($adir/libradi.so)"
  case "$adir" in /*) alib="$adir/libradi.so" ;; *) alib="$here/$adir/libradi.so" ;; esac
  RADI_LIBRARY="$alib" \
  LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    .venv/bin/python -m pytest tests/python/test_oracle_*.py -q -p no:cacheprovider --timeout=600
  # The S3 transport (libcurl multi, retries, multipart) under the sanitizers: its
  # driver program from the ASan build, against moto and the fault proxy.
  step "S3 transport tests against the ASan+UBSan build ($adir/tests/c/s3_vfs_check)"
  RADI_BUILD_DIR="$adir" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    .venv/bin/python -m pytest tests/python/test_s3_vfs.py -q -p no:cacheprovider --timeout=600
fi

printf '\ntest.sh: all tests passed in %ds\n' $((SECONDS - t0))
