#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, MNIST, and for the browser test
# Chromium and playwright-core), builds everything (library tests, examples, benchmarks) in
# build/ and runs the test suite with CTest.
# Usage: bash scripts/test.sh        (.ci/run calls exactly this)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install_deps.sh
bash scripts/fetch_mnist.sh
# The digit board's browser test needs Chromium (Debian) and playwright-core (npm,
# tests/e2e/package-lock.json). Without them that one test is skipped, saying so.
bash scripts/install_deps.sh --e2e ||
  echo "test.sh: warning: Chromium could not be installed; the browser test will be skipped" >&2
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error ||
  echo "test.sh: warning: playwright-core could not be installed; the browser test will be skipped" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
