#!/usr/bin/env bash
# Runs every example briefly (one epoch on the first 2,000 training images; the full test set is
# still evaluated) and checks that each left its pictures in its --output folder as valid PNG
# files, with the DOT model diagram where the document draws one, and the Keras files E3, E4 and
# E5 save (read back by predict_digit and by tests/keras_files/reference.py); plot_history
# redraws curves from what mnist_cnn wrote. CTest: examples_pictures.
# Usage: examples_pictures.sh EXAMPLES_BIN_DIR OUT_DIR
set -euo pipefail
bin=$1 out=$2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$out"
failures=0
check() {  # check DIR FILE...: each file exists and is a PNG (or DOT text)
  local dir=$1; shift
  for f in "$@"; do
    local p="$dir/$f"
    if [[ ! -s "$p" ]]; then echo "FAIL $p is missing"; failures=$((failures + 1)); continue; fi
    case "$f" in
      *.png) if [[ "$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')" != 89504e470d0a1a0a ]]; then
               echo "FAIL $p is not a PNG"; failures=$((failures + 1)); continue; fi ;;
      *.dot) if ! grep -q '^digraph' "$p"; then
               echo "FAIL $p is not DOT text"; failures=$((failures + 1)); continue; fi ;;
    esac
    echo "ok   $p ($(stat -c %s "$p") bytes)"
  done
}
run() {  # run NAME ARGS...: the example with a short run into OUT/NAME
  local name=$1; shift
  echo "== $name"
  "$bin/$name" --epochs 1 --limit 2000 --threads 2 --output "$out/$name" "$@" >"$out.$name.log" 2>&1 ||
    { echo "FAIL $name exited with $?:"; tail -20 "$out.$name.log"; failures=$((failures + 1)); }
}
mkdir -p "$out"
run mnist_mlp
check "$out/mnist_mlp" curves.png predictions.png result.json
run mnist_mlp_deep
check "$out/mnist_mlp_deep" curves.png model.dot mnist_mlp_deep.weights.h5 result.json
run mnist_cnn
check "$out/mnist_cnn" curves.png confusion_matrix.png history.csv result.json
run mnist_cnn_deploy
check "$out/mnist_cnn_deploy" curves.png training_digits.png confusion_matrix.png \
  mnist_cnn_deploy.keras mnist_cnn_deploy.xk result.json
# E3's deployment: predict_digit reads the .keras file and names a real digit's picture
"$bin/predict_digit" --model "$out/mnist_cnn_deploy/mnist_cnn_deploy.keras" \
  "$src/fuzz/corpus/image/digit7.png" >"$out.predict_digit.log" 2>&1 &&
  echo "ok   predict_digit read mnist_cnn_deploy.keras: $(cat "$out.predict_digit.log")" ||
  { echo "FAIL predict_digit:"; cat "$out.predict_digit.log"; failures=$((failures + 1)); }
run mnist_cnn_earlystop
check "$out/mnist_cnn_earlystop" curves.png confusion_matrix.png best.keras result.json
# the checkpoint is a Keras 3 file: the independent reader (zipfile, h5py) predicts with it
/usr/bin/python3 "$src/keras_files/reference.py" "$out/mnist_cnn_earlystop/best.keras" --count 3 \
  --preprocess unit >"$out.reference.log" 2>&1 &&
  echo "ok   reference.py read best.keras" ||
  { echo "FAIL reference.py on best.keras:"; tail -5 "$out.reference.log"; failures=$((failures + 1)); }
run mnist_cnn_bn
check "$out/mnist_cnn_bn" curves.png confusion_matrix.png model.dot result.json
# sequential MNIST: one run per layer that reads the rows
for layer in lstm gru conv1d; do
  echo "== mnist_rows --layer $layer"
  "$bin/mnist_rows" --layer "$layer" --epochs 1 --limit 2000 --threads 2 \
    --output "$out/mnist_rows_$layer" >"$out.mnist_rows_$layer.log" 2>&1 ||
    { echo "FAIL mnist_rows --layer $layer exited with $?:"; tail -20 "$out.mnist_rows_$layer.log"
      failures=$((failures + 1)); }
  check "$out/mnist_rows_$layer" curves.png confusion_matrix.png history.csv result.json
done
# plot_history redraws the curves from what an example wrote
for f in history.csv result.json; do
  "$bin/plot_history" "$out/mnist_cnn/$f" -o "$out/plot_history/from_${f%.*}.png" >/dev/null ||
    { echo "FAIL plot_history $f"; failures=$((failures + 1)); }
done
"$bin/plot_history" "$out/mnist_cnn/history.csv" -o "$out/plot_history/curves.svg" >/dev/null &&
  grep -q '<svg' "$out/plot_history/curves.svg" && echo "ok   $out/plot_history/curves.svg" ||
  { echo "FAIL plot_history to SVG"; failures=$((failures + 1)); }
check "$out/plot_history" from_history.png from_result.png
if command -v dot >/dev/null 2>&1; then
  check "$out/mnist_mlp_deep" model.png
  check "$out/mnist_cnn_bn" model.png
else
  echo "note: Graphviz's dot is not installed, so model.png is not expected (model.dot is)"
fi
if ((failures)); then echo "$failures failure(s)"; exit 1; fi
echo "every example wrote its pictures"
