#!/usr/bin/env bash
# The digit board's browser end-to-end test (CTest: digit_board_browser): starts digit_board on a
# free loopback port with MODEL and runs digit_board.e2e.mjs against it in headless Chromium.
# Exits 77 (CTest's SKIP_RETURN_CODE) with a message saying what is missing when Chromium, node
# or playwright-core is not installed; scripts/test.sh installs them.
# Usage: run_digit_board.sh DIGIT_BOARD MODEL [SCREENSHOT_DIR]
# MNIST is read from $XKERAS_DATA_DIR or ~/.xkeras/datasets/mnist, as the library does.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
board=$1 model=$2 shots=${3:-}
mnist=${XKERAS_DATA_DIR:-$HOME/.xkeras/datasets/mnist}

skip() { echo "SKIPPED: the digit board browser test needs $* (scripts/test.sh installs it)"; exit 77; }
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$chromium" ]] || skip "Chromium at $chromium (Debian package chromium)"
command -v node >/dev/null 2>&1 || skip "node (Debian package nodejs)"
[[ -f "$here/node_modules/playwright-core/package.json" ]] ||
  skip "playwright-core in tests/e2e/node_modules (npm ci --prefix tests/e2e)"
[[ -f "$model" ]] || { echo "FAILED: no model file $model (the digit_board_model fixture makes it)"; exit 1; }
[[ -z "$shots" ]] || mkdir -p "$shots"

log=$(mktemp)
"$board" --model "$model" --port 0 ${DIGIT_BOARD_ARGS:-} >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
url=
for _ in $(seq 300); do
  url=$(grep -o 'http://[^ ]*/' "$log" || true)
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "FAILED: digit_board exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "FAILED: digit_board did not print its address"; cat "$log"; exit 1; }
echo "digit_board serves $url"
CHROMIUM="$chromium" node "$here/digit_board.e2e.mjs" "$url" "$mnist" "$shots"
