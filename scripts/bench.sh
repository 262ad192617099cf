#!/usr/bin/env bash
# The benchmark command: installs what is missing (Debian packages with PyTorch, MNIST), builds
# bench_epoch (Release) twice, natively in build/ (-march=native) and as a user's program gets it
# in build-default/ (no -march: runtime dispatch), then runs every seed model in both builds and
# in PyTorch at 1 and 2 threads, in the environment as found and again with OPENBLAS_CORETYPE
# unset (if it is set), and prints the tables and the goals of issues 5 and 26; then the scaling
# of data-parallel training (benchmarks/scaling.py). Writes build/benchmarks/compare.json and
# scaling.json.
# Extra arguments go to benchmarks/compare.py, e.g. --models e2,e1 --epochs 2 --markdown out.md
# or, for a quick check, --limit 2000 --epochs 2. The full run takes tens of minutes.
# Usage: bash scripts/bench.sh [compare.py flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install_deps.sh --torch
bash scripts/fetch_mnist.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target bench_epoch
cmake -S . -B build-default -DCMAKE_BUILD_TYPE=Release -DXKERAS_NATIVE=OFF \
  -DXKERAS_BUILD_TESTS=OFF -DXKERAS_BUILD_EXAMPLES=OFF
cmake --build build-default -j "$(nproc)" --target bench_epoch
cmake --build build -j "$(nproc)" --target bench_scaling
# Debian's python3-torch lives in the system Python, whatever python3 is first on PATH.
/usr/bin/python3 benchmarks/compare.py --coretype-variants \
  --xkeras-default-bin build-default/benchmarks/bench_epoch "$@"
# data-parallel training: E1 and E2 on 2 processes against 1, and the cost model
# (docs/distributed.md); between network namespaces too when run as root
netns=()
((EUID == 0)) && netns=(--netns 200mbit,1gbit)
/usr/bin/python3 benchmarks/scaling.py --bin build/benchmarks/bench_scaling "${netns[@]}" \
  --json build/benchmarks/scaling.json
