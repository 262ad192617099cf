#!/usr/bin/env bash
# Builds the libFuzzer program of the fuzz targets (tests/fuzz/, one program for all) with
# clang under AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, then runs each for a bounded time on a copy of its
# seed corpus (so the repository stays clean) and its regression inputs.
# Usage: scripts/fuzz.sh [seconds per target, default 20] [target...]
#   targets: idx model_file weights model_json image digit_board keras_file keras_weights
#            keras_legacy
#   (default: all)
# Exits non-zero, naming the crash file, when a target crashes (or leaks, times out, runs out
# of memory). Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_JOBS (1), CXX_FUZZ (clang++).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(idx model_file weights model_json image digit_board keras_file
                               keras_weights keras_legacy)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
cxx=${CXX_FUZZ:-clang++}
command -v "$cxx" >/dev/null 2>&1 || { echo "fuzz.sh: $cxx not found (bash scripts/install_deps.sh)" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  -DXKERAS_BUILD_FUZZERS=ON -DXKERAS_BUILD_TESTS=OFF -DXKERAS_BUILD_EXAMPLES=OFF \
  -DXKERAS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-1}" --target xkeras_fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/xkeras-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XKERAS_NUM_THREADS=1
failed=()
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$work/crashes-$t"
  cp "$root/tests/fuzz/corpus/$t/"* "$corpus/"
  # -timeout catches unbounded work. The image target's bound is digit_image::max_pixels (50
  # Mpixel): a picture that size takes seconds to decode under the sanitizers, so it gets 30 s,
  # the others 10 s. -max_len lets inputs grow to 256 KiB: JSON nested 100,000 levels deep or a
  # table of thousands of entries fits, where libFuzzer's default (4 KB) never reaches them.
  timeout=10
  [[ "$t" == image ]] && timeout=30
  args=(-max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1
        -max_len=262144 -artifact_prefix="$work/crashes-$t/")
  [[ -f "$root/tests/fuzz/$t.dict" ]] && args+=(-dict="$root/tests/fuzz/$t.dict")
  # HDF5 (a C library, not ours) allocates what a file's headers announce before it reads
  # them: a request past the machine's memory fails in malloc and HDF5 reports a damaged file,
  # as in any process; ASan's allocator returns NULL there too instead of stopping the run.
  # Any request it can satisfy over 2 GiB is still a finding (-malloc_limit_mb).
  asan_options=${ASAN_OPTIONS:-}
  if [[ "$t" == keras_* ]]; then
    asan_options="allocator_may_return_null=1${asan_options:+:$asan_options}"
    args+=(-malloc_limit_mb=2048)
  fi
  inputs=("$corpus")
  [[ -d "$root/tests/fuzz/regressions/$t" ]] && inputs+=("$root/tests/fuzz/regressions/$t")
  echo "fuzz.sh: $t for ${secs}s"
  # third-party leaks the fuzzers found and that are not ours to fix (tests/sanitizers/lsan.supp)
  if ! ASAN_OPTIONS=$asan_options LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp" \
      XKERAS_FUZZ_TARGET=$t "$build/tests/fuzz/xkeras_fuzz" \
      "${args[@]}" "${inputs[@]}" \
      >"$work/log-$t" 2>&1; then
    mkdir -p "$root/build-fuzz-crashes/$t"
    cp "$work/crashes-$t/"* "$root/build-fuzz-crashes/$t/" 2>/dev/null || true
    grep -E "ERROR|SUMMARY|invariant|Test unit written" "$work/log-$t" | head -20 >&2 || true
    echo "fuzz.sh: $t FAILED; crash inputs copied to $root/build-fuzz-crashes/$t/:" >&2
    ls "$root/build-fuzz-crashes/$t/" >&2 || true
    failed+=("$t")
  fi
  { grep -E "cov: " "$work/log-$t" | tail -1
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$work/log-$t"
  } | sed "s/^/  $t: /" || true
done
if ((${#failed[@]})); then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), ${secs}s each, no crash."
