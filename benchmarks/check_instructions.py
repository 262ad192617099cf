#!/usr/bin/env python3
"""CI's speed regression check: instructions of a fixed workload, counted by callgrind.

Runs build/benchmarks/instruction_workload under `valgrind --tool=callgrind`, counting only
inside xkeras_instruction_workload (one thread, fixed seed, 256 MNIST images, every seed model),
and compares the count with benchmarks/instruction_budget.json. Instructions are repeatable on a
machine whatever else runs on it, so this can gate CI where wall time could not.

Under valgrind OpenBLAS is pinned to its Sandybridge (AVX, no FMA) kernels: valgrind emulates FMA
instructions one lane at a time, which made the Haswell kernels run ~30x slower than the
rest. For the same reason xkeras's kernels run at their generic level (XKERAS_ISA=generic, SSE2,
backend/cpu.hpp): at the AVX2 level the direct convolution kernels are mostly FMAs. The budget
therefore measures xkeras's own code at a fixed level plus a fixed BLAS, whatever the machine,
not the code a user's CPU runs.

  check_instructions.py [--binary PATH] [--budget PATH] [--update]

Exit status: 0 within budget (or --update), 1 over budget or failed, 77 when valgrind is missing
(CTest reports the test as skipped).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = 77


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(HERE.parent / "build/benchmarks/instruction_workload"))
    p.add_argument("--budget", default=str(HERE / "instruction_budget.json"))
    p.add_argument("--data-dir", help="MNIST folder (default: the workload's default)")
    p.add_argument("--update", action="store_true",
                   help="write the measured count as the new budget (after a deliberate change)")
    return p.parse_args()


def measure(binary, data_dir):
    """Returns (instructions, checksum line) of one callgrind run."""
    env = dict(os.environ, XKERAS_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OPENBLAS_CORETYPE="Sandybridge", XKERAS_ISA="generic")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               "--collect-atstart=no", "--toggle-collect=xkeras_instruction_workload", binary]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            sys.exit(f"check_instructions: {binary} failed under valgrind "
                     f"(exit code {proc.returncode})")
        m = re.search(r"^summary:\s*(\d+)", out.read_text(), re.MULTILINE)
        if not m:
            sys.exit(f"check_instructions: no 'summary:' line in callgrind's output {out}")
        checksum = next((l for l in proc.stdout.splitlines() if l.startswith("checksum")), "")
        return int(m.group(1)), checksum


def main():
    args = parse_args()
    if shutil.which("valgrind") is None:
        print("SKIPPED: valgrind is not installed (Debian: valgrind)")
        return SKIP
    binary = Path(args.binary)
    if not binary.is_file():
        sys.exit(f"check_instructions: {binary} not found; build the target instruction_workload")
    count, checksum = measure(str(binary), args.data_dir)
    budget_path = Path(args.budget)

    if args.update:
        budget = {
            "instructions": count,
            "tolerance": 0.02,
            "checksum": checksum,
            "measured": date.today().isoformat(),
            "note": "callgrind Ir inside xkeras_instruction_workload; OpenBLAS pinned to "
                    "Sandybridge kernels, xkeras's kernels at their generic level "
                    "(XKERAS_ISA=generic), 1 thread. Update with: "
                    "benchmarks/check_instructions.py --update",
        }
        budget_path.write_text(json.dumps(budget, indent=2) + "\n")
        print(f"budget updated: {count:,} instructions ({checksum})")
        return 0

    try:
        budget = json.loads(budget_path.read_text())
        limit, tol = int(budget["instructions"]), float(budget["tolerance"])
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"check_instructions: cannot read the budget {budget_path}: {e!r}")
    change = count / limit - 1.0
    print(f"instructions: {count:,}; budget {limit:,} (+{tol:.0%} allowed): {change:+.2%}")
    if checksum != budget.get("checksum"):
        print(f"note: the workload's results changed: {checksum!r}, "
              f"budget recorded {budget.get('checksum')!r}")
    if change > tol:
        print(f"FAILED: {change:+.2%} over the instruction budget. If the extra work is "
              "deliberate, run benchmarks/check_instructions.py --update and commit the budget.")
        return 1
    if change < -tol:
        print(f"note: {-change:.2%} under budget; lower it with --update to keep the gain.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
