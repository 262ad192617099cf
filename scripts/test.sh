#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, MNIST), builds everything
# (library tests, examples, benchmarks) in build/ and runs the test suite with CTest.
# Usage: bash scripts/test.sh        (.ci/run calls exactly this)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install_deps.sh
bash scripts/fetch_mnist.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
