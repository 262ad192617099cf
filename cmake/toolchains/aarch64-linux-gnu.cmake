# Cross-compiles xkeras for 64-bit ARM Linux (Raspberry Pi OS 64-bit, Debian arm64) with
# Debian's cross toolchain and multiarch libraries, and runs its programs under qemu-aarch64:
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# Needs g++-aarch64-linux-gnu, qemu-user and the :arm64 libraries that
# `bash scripts/install_deps.sh --arm64` installs (scripts/arm64.sh builds and tests with it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: libraries and CMake packages under /usr/lib/aarch64-linux-gnu,
# architecture-independent headers in /usr/include, both in the root file system.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")
# CTest, catch_discover_tests and the build's own test steps run the programs through qemu.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# xtensor and xtensor-blas are header-only, but Debian keeps their CMake files under the build
# machine's multiarch directory, and their :arm64 packages cannot be installed next to the
# native ones (xtl-dev is not multiarch): use the native, architecture-independent files.
foreach(package xtensor xtensor-blas)
  set(${package}_DIR "/usr/lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu/cmake/${package}"
      CACHE PATH "${package}'s CMake package (header-only)")
endforeach()
