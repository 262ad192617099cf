#!/usr/bin/env bash
# The test suite under sanitizers (GCC's runtimes):
#   bash scripts/sanitize.sh address   the whole CTest suite (library tests, examples,
#                                      the browser test) built with AddressSanitizer +
#                                      UndefinedBehaviorSanitizer, in build-asan/
#   bash scripts/sanitize.sh thread    the topics whose code runs on several threads, built with
#                                      ThreadSanitizer, in build-tsan/, on 4 pool threads
#   bash scripts/sanitize.sh           both
# Any report fails the run: the code is built with -fno-sanitize-recover=all and the runtimes are
# told to stop at the first error. Installs what is missing first (scripts/install_deps.sh).
# Sanitized code runs 2-10 times slower; the instruction-count check is left out (valgrind cannot
# run sanitized programs, and their counts would mean nothing), and so are the packaging tests
# (they build consumers of the installed headers with plain flags: nothing of theirs is
# sanitized).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(address thread)
jobs=$(nproc)

bash scripts/install_deps.sh
bash scripts/fetch_mnist.sh

# -O1: fast enough to train the examples' models briefly, quick to compile; asserts kept. -g1:
# the sanitizers' reports need file and line numbers only, not the types and variables of -g.
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1")

for mode in "${modes[@]}"; do
  case "$mode" in
    address)
      # the benchmarks only feed the instruction-count test, which a sanitizer build leaves out
      cmake -S . -B build-asan "${common[@]}" -DXKERAS_SANITIZE=address,undefined \
        -DXKERAS_BUILD_BENCHMARKS=OFF
      cmake --build build-asan -j "$jobs"
      ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1 \
      LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 1500 -LE packaging
      ;;
    thread)
      cmake -S . -B build-tsan "${common[@]}" -DXKERAS_SANITIZE=thread \
        -DXKERAS_BUILD_EXAMPLES=OFF -DXKERAS_BUILD_BENCHMARKS=OFF
      cmake --build build-tsan -j "$jobs" --target xkeras_tests
      # more pool threads than cores: more interleavings for the sanitizer to see
      XKERAS_NUM_THREADS=4 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir build-tsan --output-on-failure -j 1 --timeout 1500
      ;;
    *)
      echo "sanitize.sh: unknown mode '$mode' (expected address or thread)" >&2
      exit 2
      ;;
  esac
done
