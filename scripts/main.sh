#!/usr/bin/env bash
# The main job: installs what is missing (Debian packages, MNIST), builds the headline example
# and trains and evaluates it on MNIST. Extra arguments go to the example (e.g. --epochs 3).
# Usage: bash scripts/main.sh [example flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

example=mnist_cnn  # E1, the headline example
bash scripts/install_deps.sh
bash scripts/fetch_mnist.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target "$example"
"build/examples/$example" --output "out/$example" "$@"
