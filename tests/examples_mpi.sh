#!/usr/bin/env bash
# tests/examples_mpi.sh MPIEXEC BINARY OUT: E2's example built for mpirun (mnist_mlp_mpi) with
# --micro-batches 2 on 1 and on 2 processes ends with the same model: the same losses, validation
# figures and test accuracy to the last digit (docs/distributed.md, reproducibility).
set -euo pipefail
mpiexec=$1 binary=$2 out=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$out"
mkdir -p "$out"
for np in 1 2; do
  if ! timeout -s KILL 120 "$mpiexec" -n "$np" "$binary" --threads 1 --limit 2048 --epochs 1 \
      --micro-batches 2 --output "$out/np$np" > "$out/np$np.log" 2>&1; then
    cat "$out/np$np.log"
    exit 1
  fi
done
python3 - "$out" <<'PY'
import json
import sys

one, two = (json.load(open(f"{sys.argv[1]}/np{n}/result.json")) for n in (1, 2))
assert (one["settings"]["processes"], two["settings"]["processes"]) == (1, 2), "process counts"
for key in ("test_loss", "test_accuracy", "history"):
    if one[key] != two[key]:
        sys.exit(f"{key} differs: 1 process {one[key]!r}, 2 processes {two[key]!r}")
print(f"1 and 2 processes: test loss {one['test_loss']!r}, the same history")
PY
