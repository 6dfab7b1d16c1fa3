#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan+UBSan) in build-fuzz/ and runs each for
# SECONDS (default 60), seeded from fuzz/corpus/<target>/. Not part of CI: the committed
# corpora are replayed by the normal tests (fuzz_replay_* in CTest).
#   scripts/fuzz.sh [SECONDS] [TARGET ...]     e.g. scripts/fuzz.sh 300 footer
# FUZZ_RUNS=N stops each target after N executions (whichever comes first).
# New interesting inputs go to build-fuzz/corpus/<target>/ (copy the good ones into
# fuzz/corpus/<target>/); crashes go to build-fuzz/artifacts/ and fail the script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

secs="${1:-60}"
shift || true
case "$secs" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, got '$secs'" >&2; exit 2 ;; esac

cc="${CC_FUZZ:-clang-14}"
command -v "$cc" >/dev/null || { echo "fuzz.sh: $cc not found (scripts/setup.sh installs clang-14)" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do t="$(basename "$f" .c)"; targets+=("${t#fuzz_}"); done
fi

cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRADI_FUZZ=ON -DRADI_SANITIZE=ON -DRADI_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target $(printf 'fuzz_%s ' "${targets[@]}")

mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
failed=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  mkdir -p "$work"
  echo "== fuzz_$t for ${secs}s =="
  # Text targets: inputs beyond a few KB only slow the search (a deep-nesting seed of
  # 200 KB would otherwise set libFuzzer's max_len); file-format targets keep the default.
  maxlen=()
  case "$t" in expr|journal|aws_ini|csv|s3_xml) maxlen=(-max_len=8192) ;; esac
  if ! "build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" "${maxlen[@]}" -rss_limit_mb=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/${t}-" \
       "$work" "fuzz/corpus/$t" 2>"build-fuzz/fuzz_$t.log"; then
    echo "fuzz_$t FAILED: see build-fuzz/fuzz_$t.log and build-fuzz/artifacts/" >&2
    tail -30 "build-fuzz/fuzz_$t.log" >&2
    failed=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "build-fuzz/fuzz_$t.log" | tail -2
  fi
done
exit $failed
