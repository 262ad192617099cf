#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, MNIST, and for the browser test
# Chromium and playwright-core), builds everything (library tests, examples, benchmarks) in
# build/ and runs the test suite with CTest; then the hardening runs: the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer and its threaded topics under ThreadSanitizer
# (scripts/sanitize.sh), every fuzz target for a bounded time (scripts/fuzz.sh), and the ARM64
# build's kernel and model-file tests under qemu (scripts/arm64.sh --ci).
# Usage: bash scripts/test.sh          (.ci/run calls exactly this)
#        bash scripts/test.sh --quick  the ordinary suite only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "test.sh: unknown option '$arg' (expected --quick)" >&2; exit 2 ;;
  esac
done

# each stage's time, for keeping CI's run inside its limit (docs/testing.md)
stage_start=$SECONDS
stage_done() {
  echo "test.sh: $1 took $((SECONDS - stage_start)) s (total $SECONDS s)"
  stage_start=$SECONDS
}

bash scripts/install_deps.sh
bash scripts/fetch_mnist.sh
# PyTorch: the independent reference of the LSTM test on a Keras-trained model (skipped, saying
# so, without it)
bash scripts/install_deps.sh --torch ||
  echo "test.sh: warning: PyTorch could not be installed; the Keras LSTM test will be skipped" >&2
# The digit board's browser test needs Chromium (Debian) and playwright-core (npm,
# tests/e2e/package-lock.json). Without them that one test is skipped, saying so.
bash scripts/install_deps.sh --e2e ||
  echo "test.sh: warning: Chromium could not be installed; the browser test will be skipped" >&2
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error ||
  echo "test.sh: warning: playwright-core could not be installed; the browser test will be skipped" >&2
stage_done "installing"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
stage_done "building"
ctest --test-dir build --output-on-failure -j "$(nproc)"
stage_done "the suite"
[ "$quick" = 1 ] && exit 0

bash scripts/sanitize.sh address
stage_done "the AddressSanitizer suite"
bash scripts/sanitize.sh thread
stage_done "the ThreadSanitizer suite"
FUZZ_JOBS="$(nproc)" bash scripts/fuzz.sh 20
stage_done "fuzzing"
bash scripts/arm64.sh --ci
stage_done "the ARM64 build under qemu"

