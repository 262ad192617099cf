#!/usr/bin/env bash
# xkeras on 64-bit ARM (docs/arm64.md): cross-compiles the library's tests and examples for
# aarch64 with Debian's toolchain (cmake/toolchains/aarch64-linux-gnu.cmake) in build-aarch64/,
# runs the test suite there under qemu-aarch64, and checks that predict_digit built for ARM64
# names the same digits as the x86 build, with the same model files and pictures, and gives the
# same probabilities within 1e-5.
# Usage: bash scripts/arm64.sh        every example and the whole suite, except the tests that
#                                     need x86 or a browser (labels packaging, speed, memory,
#                                     examples, e2e: skipped, and listed)
#        bash scripts/arm64.sh --ci   the kernel and model-file topics and predict_digit only
#                                     (scripts/test.sh runs this)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ci=0
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1 ;;
    *) echo "arm64.sh: unknown option '$arg' (expected --ci)" >&2; exit 2 ;;
  esac
done
die() { echo "arm64.sh: $*" >&2; exit 1; }

bash scripts/install_deps.sh --arm64
bash scripts/fetch_mnist.sh >/dev/null
data_dir="${XKERAS_DATA_DIR:-$HOME/.xkeras/datasets/mnist}"

build=$PWD/build-aarch64
# Debian's libhdf5-dev cannot be installed for two architectures at once (both own
# /usr/include/hdf5): the arm64 package's headers are unpacked here instead, for the arm64
# library that install_deps.sh --arm64 installs (libhdf5-103-1:arm64).
hdf5=$build/hdf5-dev
if [[ ! -f "$hdf5/pkgconfig/hdf5.pc" ]]; then
  rm -rf "$hdf5"
  mkdir -p "$hdf5/deb" "$hdf5/lib" "$hdf5/pkgconfig"
  version=$(dpkg-query -W -f='${Version}' libhdf5-103-1:arm64)
  (cd "$hdf5/deb" && apt-get download -q "libhdf5-dev:arm64=$version" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(ls "$hdf5"/deb/libhdf5-dev_*_arm64.deb 2>/dev/null) || die "could not download libhdf5-dev:arm64 $version"
  dpkg-deb -x "$deb" "$hdf5/root"
  ln -s /usr/lib/aarch64-linux-gnu/libhdf5_serial.so.103 "$hdf5/lib/libhdf5_serial.so"
  cat >"$hdf5/pkgconfig/hdf5.pc" <<EOF
Name: hdf5
Description: HDF5 for arm64 (headers unpacked from libhdf5-dev:arm64 by scripts/arm64.sh)
Version: ${version%%+*}
Cflags: -I$hdf5/root/usr/include/hdf5/serial
Libs: -L$hdf5/lib -lhdf5_serial
EOF
fi

# The CI run builds the topics of the kernels (backend/, the layers' routes, the optimizers) and
# of the model files; the Keras-file tests are a program of their own.
ci_topics="test_backend.cpp;test_cpu_dispatch.cpp;test_dense.cpp;test_conv.cpp"
ci_topics+=";test_conv_routes.cpp;test_pooling.cpp;test_batch_normalization.cpp"
ci_topics+=";test_layers_other.cpp;test_losses.cpp;test_optimizers.cpp;test_model_io.cpp"
topics=""
[ "$ci" = 1 ] && topics=$ci_topics
PKG_CONFIG_PATH="$hdf5/pkgconfig" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DXKERAS_BUILD_BENCHMARKS=OFF "-DXKERAS_TEST_TOPICS=$topics" >"$build/configure.log" ||
  { cat "$build/configure.log"; die "configuring $build failed"; }
if [ "$ci" = 1 ]; then
  cmake --build "$build" -j "$(nproc)" --target xkeras_tests xkeras_keras_files_tests \
    xkeras_fuzz_replay predict_digit
else
  cmake --build "$build" -j "$(nproc)"
fi
file "$build/examples/predict_digit" | grep -q 'ARM aarch64' ||
  die "$build/examples/predict_digit is not an ARM64 program: $(file -b "$build/examples/predict_digit")"

# NEON: the kernels compiled for the generic level (backend/simd.hpp's 16-byte vectors) must use
# ARM64's vector instructions; every convolution and pooling kernel must.
aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$build/examples/predict_digit" |
  python3 -c '
import re, sys
kernels, name = {}, None
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        name = m.group(1) if "vector_set<16ul, 16ul, 32ul>" in m.group(1) else None
    elif name and "\t" in line:
        kernels[name] = kernels.get(name, 0) + bool(re.search(r"\bv[0-9]+\.(4s|2d)\b", line))
neon = [k for k, n in kernels.items() if n]
print(f"arm64.sh: NEON: {len(neon)} of {len(kernels)} generic-level kernels in predict_digit use "
      f"NEON vector instructions")
missing = [k for k in kernels if kernels[k] == 0 and re.search(r"backend::(conv|pooling)", k)]
if not kernels or missing:
    sys.exit("arm64.sh: convolution or pooling kernels without NEON instructions:\n  " +
             "\n  ".join(k[:160] for k in missing) if missing else "arm64.sh: no generic kernels found")
'

# The suite under qemu (CMAKE_CROSSCOMPILING_EMULATOR). Skipped: the packaging tests (they
# build consumers with the machine's own compiler), the x86 instruction budget and the memory
# budget, the examples' pictures (minutes of training under emulation) and the browser test.
skipped='packaging|speed|memory|examples|e2e'
echo "arm64.sh: skipped under qemu (labels $skipped):"
ctest --test-dir "$build" -N -L "$skipped" | grep 'Test *#' || echo "  (none in this build)"
ctest --test-dir "$build" -LE "$skipped" --output-on-failure -j "$(nproc)"

# predict_digit, x86 against ARM64: E3's model trained briefly by the x86 build and saved as
# .keras and .xk, and two models trained by Keras itself; 20 real MNIST test digits as PGM
# pictures and one photo-like PNG.
native=$PWD/build
if [[ ! -x "$native/examples/predict_digit" || ! -x "$native/examples/mnist_cnn_deploy" ]]; then
  cmake -S . -B "$native" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$native" -j "$(nproc)" --target predict_digit mnist_cnn_deploy
fi
work=$build/predict_digit
rm -rf "$work"
mkdir -p "$work/pictures"
"$native/examples/mnist_cnn_deploy" --epochs 1 --limit 6000 --threads "$(nproc)" \
  --data-dir "$data_dir" --output "$work/e3" >"$work/e3.log" 2>&1 ||
  { cat "$work/e3.log"; die "training E3's model failed"; }
python3 - "$data_dir/t10k-images-idx3-ubyte" "$work/pictures" <<'EOF'
import sys
images, out = sys.argv[1], sys.argv[2]
with open(images, "rb") as f:
    data = f.read()
for i in range(20):
    pixels = data[16 + 784 * i:16 + 784 * (i + 1)]
    with open(f"{out}/mnist_test_{i:02d}.pgm", "wb") as g:
        g.write(b"P5\n28 28\n255\n" + pixels)
EOF
cp tests/fuzz/corpus/image/digit7.png "$work/pictures/"
models=("$work/e3/mnist_cnn_deploy.keras" "$work/e3/mnist_cnn_deploy.xk"
        tests/keras_files/k3_01_seq_lenet_tanh/mnist_model.keras
        tests/keras_files/k3_02_seq_cnn_tiny/mnist_cnn_model.keras)
for model in "${models[@]}"; do
  name=$(basename "$(dirname "$model")")_$(basename "$model")
  "$native/examples/predict_digit" --csv --model "$model" "$work"/pictures/* >"$work/$name.x86.csv"
  qemu-aarch64 "$build/examples/predict_digit" --csv --model "$model" "$work"/pictures/* \
    >"$work/$name.arm64.csv"
  python3 - "$work/$name.x86.csv" "$work/$name.arm64.csv" "$model" <<'EOF'
import sys
def rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split(",") for line in f if line.strip()]
x86, arm, model = rows(sys.argv[1]), rows(sys.argv[2]), sys.argv[3]
if len(x86) != len(arm) or len(x86) != 21:
    sys.exit(f"arm64.sh: {model}: expected 21 pictures from each, got {len(x86)} (x86) and {len(arm)} (arm64)")
labels = sum(a[1] == b[1] for a, b in zip(x86, arm))
diff = max(abs(float(p) - float(q)) for a, b in zip(x86, arm) for p, q in zip(a[2:], b[2:]))
print(f"arm64.sh: {model}: {labels}/{len(x86)} labels agree, largest probability difference {diff:.2e}")
if labels != len(x86) or diff > 1e-5:
    sys.exit(f"arm64.sh: {model}: x86 and arm64 disagree (labels must all agree, probabilities within 1e-5)")
EOF
done
echo "arm64.sh: done"
