#!/usr/bin/python3
"""Time one epoch of the same model in xkeras and in PyTorch, at each thread count, in one run.

Runs build/benchmarks/bench_epoch and benchmarks/pytorch/seed_models.py alternately for each
thread count and prints median seconds per epoch (min-max) and the xkeras/PyTorch ratio.
Standard library only; the PyTorch column needs Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # defaults below are relative to the repo root, not the cwd
TORCH_PYTHON = "/usr/bin/python3"
REPLICA = HERE / "pytorch" / "seed_models.py"  # PyTorch replicas of the seed models
# Each model's batch size and training-set size, as its document trains it (E1 trains on the
# 54,000 images that validation_split=0.1 leaves).
MODELS = {"e2": {"batch_size": 128, "limit": 0}, "e1": {"batch_size": 500, "limit": 54000}}


def parse_args():
    default_dir = os.environ.get("XKERAS_DATA_DIR") or str(Path.home() / ".xkeras/datasets/mnist")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="e2,e1", help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=0, help="override every model's batch size")
    p.add_argument("--data-dir", default=default_dir)
    p.add_argument("--limit", type=int, default=0,
                   help="override every model's training-set size (first N images)")
    p.add_argument("--xkeras-bin", default=str(ROOT / "build/benchmarks/bench_epoch"))
    p.add_argument("--json", default=str(ROOT / "build/benchmarks/compare.json"), metavar="PATH")
    return p.parse_args()


def run(name, cmd, threads, out_json):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    print(f"[compare] {name}, {threads} thread(s): {' '.join(map(str, cmd))}", file=sys.stderr,
          flush=True)
    proc = subprocess.run([str(c) for c in cmd], env=env, stdout=subprocess.PIPE, text=True)
    sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"compare.py: {name} failed with exit code {proc.returncode}")
    try:
        result = json.loads(Path(out_json).read_text())
        times = [float(t) for t in result["seconds_per_epoch"]]
        # Same statistics for both frameworks, whatever each child computed.
        result.update(median=statistics.median(times), min=min(times), max=max(times))
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"compare.py: {name} wrote no usable JSON to {out_json}: {e!r}")
    return result


def cell(r):
    return f"{r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})" if r else "-"


def main():
    args = parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    xbin = Path(args.xkeras_bin)
    if not (xbin.is_file() and os.access(xbin, os.X_OK)):
        sys.exit(f"compare.py: xkeras benchmark binary not found at {xbin}\n"
                 "Build it with: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && "
                 "cmake --build build --target bench_epoch")
    try:
        has_torch = subprocess.run([TORCH_PYTHON, "-c", "import torch"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        has_torch = False
    if not has_torch:
        print("PyTorch (python3-torch) not installed: skipping the PyTorch column "
              "(scripts/install_deps.sh --torch installs it)", flush=True)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            sys.exit(f"compare.py: unknown model '{m}'; choose from {', '.join(MODELS)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            batch = args.batch_size or MODELS[model]["batch_size"]
            limit = args.limit or MODELS[model]["limit"]
            common = ["--model", model, "--epochs", args.epochs, "--batch-size", batch,
                      "--data-dir", args.data_dir]
            if limit:
                common += ["--limit", limit]
            for n in threads:
                xout, pout = Path(tmp, f"xkeras_{model}_{n}.json"), Path(tmp, f"pytorch_{model}_{n}.json")
                x = run("xkeras", [xbin, "--threads", n, *common, "--json", xout], n, xout)
                p = None
                if has_torch:
                    p = run("pytorch", [TORCH_PYTHON, REPLICA, "--threads", n, *common,
                                        "--json", pout], n, pout)
                ratio = x["median"] / p["median"] if p else None
                rows.append({"model": model, "threads": n, "batch_size": batch,
                             "train_samples": limit or 60000, "xkeras": x, "pytorch": p,
                             "ratio_xkeras_over_pytorch": ratio})

    header = ["model", "threads", "xkeras s/epoch median (min-max)",
              "PyTorch s/epoch median (min-max)", "xkeras/PyTorch"]
    table = [[r["model"], str(r["threads"]), cell(r["xkeras"]), cell(r["pytorch"]),
              f"{r['ratio_xkeras_over_pytorch']:.2f}" if r["pytorch"] else "-"] for r in rows]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *table]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())

    core = rows[0]["xkeras"].get("blas_core", "?") if rows else "?"
    print(f"OpenBLAS core used by xkeras: {core}"
          f" (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"epochs": args.epochs, "cpu_count": os.cpu_count(),
                               "results": rows}, indent=2) + "\n")
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
