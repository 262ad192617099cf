#!/usr/bin/env bash
# Compile time of a user's program (benchmarks/compile_time/fashion_mlp.cpp, 40 lines), as the
# user's build compiles it: header-only (xkeras::headers), and with the float classes left to
# xkeras::xkeras's static library (XKERAS_PRECOMPILED), plus that library's one-time cost.
# Prints user + system CPU seconds of `g++ -O2 -c`, best of N runs (default 3).
# Usage: bash benchmarks/compile_time.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
cxx=${CXX:-g++}
work=$(mktemp -d "${TMPDIR:-/tmp}/xkeras-compile.XXXXXX")
trap 'rm -rf "$work"' EXIT
flags=(-std=c++20 -O2 -fno-math-errno -I"$root/include")

best() {  # best CPU seconds of $runs compilations of "$@"
  local b=""
  for ((i = 0; i < runs; ++i)); do
    /usr/bin/time -f "%U %S" -o "$work/t" "$cxx" "${flags[@]}" "$@" -c -o "$work/o.o"
    local t
    t=$(awk '{printf "%.1f", $1 + $2}' "$work/t")
    if [[ -z "$b" ]] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b"
}

echo "compiler: $("$cxx" --version | head -1); g++ -O2 -c, CPU seconds (user + system), best of $runs"
echo "fashion_mlp.cpp, header-only (xkeras::headers):          $(best "$root/benchmarks/compile_time/fashion_mlp.cpp") s"
echo "fashion_mlp.cpp, with xkeras::xkeras (XKERAS_PRECOMPILED): $(best -DXKERAS_PRECOMPILED "$root/benchmarks/compile_time/fashion_mlp.cpp") s"
echo "src/xkeras_float.cpp, once per build:                     $(best -DXKERAS_PRECOMPILED "$root/src/xkeras_float.cpp") s"
