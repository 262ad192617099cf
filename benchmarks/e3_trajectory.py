#!/usr/bin/python3
"""E3 in xkeras and in the PyTorch replica from the same weights, on the same batches (issue 29).

One step agreeing with a reference does not show that a whole run does: Adam's state across
epochs, the last partial batch, the validation pass between epochs and the accumulation over
hundreds of steps only show over many. This starts xkeras (`e3_trajectory`: E3, Adam, batch 512,
validation_split 0.2, no shuffling) and the replica (`seed_models.py --initial-weights
--no-shuffle`) from the same weights, drawn by xkeras for --seed, on the same batches, and compares
the weights they end with and their per-epoch logs:

- rules: both in float64 over --epochs epochs, with xkeras at 2 threads beside them (other
  summation orders, the same rules). A difference of rules shows as a distance far above float64's
  rounding;
- float32: each side's float32 run against the float64 one after 1 step, 10 steps and an epoch.
  Float32 runs drift from the exact path as soon as a rounding moves a ReLU or a max-pool choice
  for one image, and the drift grows from there (a fresh draw, not an error): this measures how
  fast.

Usage: /usr/bin/python3 benchmarks/e3_trajectory.py [--seed 2] [--epochs 2] [--out DIR]
           [--markdown PATH]
Needs build/benchmarks/e3_trajectory, Debian's python3-torch and python3-h5py.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data-dir", default=str(Path.home() / ".xkeras/datasets/mnist"))
    p.add_argument("--bin", default=str(ROOT / "build/benchmarks/e3_trajectory"))
    p.add_argument("--out", default=str(ROOT / "build/e3_trajectory"))
    p.add_argument("--markdown", metavar="PATH")
    a = p.parse_args()
    if a.epochs < 1 or a.seed < 0:
        p.error("--epochs must be positive, --seed non-negative")
    return a


def run_xkeras(a, name, dtype, threads, epochs, limit, initial):
    """e3_trajectory from `initial`; (its history, its final weights)."""
    out = Path(a.out) / name
    subprocess.run([a.bin, "--out", str(out), "--initial-weights", str(initial), "--epochs",
                    str(epochs), "--limit", str(limit), "--threads", str(threads), "--dtype",
                    dtype, "--data-dir", a.data_dir], check=True, stdout=subprocess.DEVNULL)
    history = json.loads((out / "history.json").read_text())["history"]
    return history, read_h5(out / "final.weights.h5")


def run_replica(a, name, dtype, epochs, limit, initial):
    """The replica on the same batches as e3_trajectory --limit `limit` (it trains on 80% of
    them; the replica validates on the rest of the training file, which changes no weight)."""
    out = Path(a.out) / name
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "benchmarks/pytorch/seed_models.py"), "--model",
                    "e3", "--evaluate", "--epochs", str(epochs), "--latency-runs", "1",
                    "--dtype", dtype, "--limit", str(limit * 4 // 5),
                    "--initial-weights", str(initial), "--no-shuffle", "--data-dir", a.data_dir,
                    "--save-weights", str(out / "final.npz"), "--json", str(out / "run.json")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = json.loads((out / "run.json").read_text())["history"]
    with np.load(out / "final.npz") as z:
        return history, {k: z[k] for k in z.files}


def read_h5(path):
    """{'conv2d_1/0': array, ...} from a Keras 3 .weights.h5 file."""
    weights = {}
    with h5py.File(path, "r") as f:
        for name, group in f["layers"].items():
            for i, d in group["vars"].items():
                weights[f"{name}/{i}"] = d[()]
    return weights


def distance(a, b, keys):
    """||a - b|| / ||b|| over all the weights together, and its largest per-tensor value."""
    diff = sum(float(np.sum((a[k].astype(np.float64) - b[k]) ** 2)) for k in keys)
    norm = sum(float(np.sum(b[k].astype(np.float64) ** 2)) for k in keys)
    worst = max((float(np.linalg.norm(a[k].astype(np.float64) - b[k]) /
                        max(float(np.linalg.norm(b[k])), 1e-300)), k) for k in keys)
    return (diff / norm) ** 0.5, worst


def initial_weights(a):
    """The seed's float32 initial weights, drawn by xkeras: the initial file of a run on 8
    images (e3_trajectory writes it before training)."""
    out = Path(a.out) / "initial"
    subprocess.run([a.bin, "--out", str(out), "--seed", str(a.seed), "--epochs", "1", "--limit",
                    "10", "--data-dir", a.data_dir], check=True, stdout=subprocess.DEVNULL)
    return out / "initial.weights.h5"


def rules(a, initial):
    """float64, whole epochs: xkeras at 1 and 2 threads and the replica."""
    h1, w1 = run_xkeras(a, "rules_xkeras_1thr", "float64", 1, a.epochs, 60000, initial)
    h2, w2 = run_xkeras(a, "rules_xkeras_2thr", "float64", 2, a.epochs, 60000, initial)
    ht, wt = run_replica(a, "rules_pytorch", "float64", a.epochs, 60000, initial)
    keys = sorted(w1)
    if sorted(wt) != keys:
        sys.exit(f"e3_trajectory: the replica's weights {sorted(wt)} are not xkeras's {keys}")
    moved, _ = distance(w1, read_h5(initial), keys)
    cols = [f"epoch {e + 1}: loss, val_loss, val_accuracy" for e in range(a.epochs)]
    lines = [f"Rules (float64, {a.epochs} epoch(s) of 94 batches, the last of 384 images; "
             f"the weights moved by {moved:.3f} of their norm):", "",
             "| run | distance to xkeras, 1 thread | worst tensor | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * a.epochs]
    record = {"moved": moved}
    for label, w, h in (("xkeras, 1 thread", w1, h1), ("xkeras, 2 threads", w2, h2),
                        ("PyTorch replica", wt, ht)):
        logs = [f"{h['loss'][e]:.12f}, {h['val_loss'][e]:.12f}, {h['val_accuracy'][e]:.4f}"
                for e in range(a.epochs)]
        if w is w1:  # the reference
            lines.append(f"| {label} | | | " + " | ".join(logs) + " |")
            record[label] = {"history": h}
            continue
        total, (worst, key) = distance(w, w1, keys)
        lines.append(f"| {label} | {total:.2e} | {key} {worst:.2e} | " + " | ".join(logs) + " |")
        record[label] = {"distance": total, "worst": [key, worst], "history": h}
    return lines, record


def precision(a, initial):
    """float32 against float64 after 1 step, 10 steps and one epoch, xkeras and the replica."""
    lines = ["", "float32 against float64 (xkeras's float64 run; the replica's float64 run agrees "
             "with it as above), from the same weights:", "",
             "| steps | xkeras float32, 1 thread | xkeras float32, 2 threads | PyTorch float32 |",
             "|---|---|---|---|"]
    record = {}
    for steps, limit in ((1, 640), (10, 6400), (94, 60000)):
        _, exact = run_xkeras(a, f"prec{steps}_xkeras64", "float64", 1, 1, limit, initial)
        keys = sorted(exact)
        row = {}
        for label, run in (("xkeras float32, 1 thread",
                            lambda: run_xkeras(a, f"prec{steps}_xkeras32_1", "float32", 1, 1,
                                               limit, initial)),
                           ("xkeras float32, 2 threads",
                            lambda: run_xkeras(a, f"prec{steps}_xkeras32_2", "float32", 2, 1,
                                               limit, initial)),
                           ("PyTorch float32",
                            lambda: run_replica(a, f"prec{steps}_pytorch32", "float32", 1, limit,
                                                initial))):
            row[label] = distance(run()[1], exact, keys)[0]
        lines.append(f"| {steps} | " + " | ".join(f"{v:.2e}" for v in row.values()) + " |")
        record[steps] = row
    return lines, record


def main():
    a = parse_args()
    initial = initial_weights(a)
    lines = [f"E3 from seed {a.seed}'s initial weights (drawn by xkeras in float32), Adam, batch "
             f"512, no shuffling; distance: ||w - w'|| / ||w'|| over all weights.", ""]
    result = {"seed": a.seed, "epochs": a.epochs}
    more, result["rules"] = rules(a, initial)
    lines += more
    more, result["float32"] = precision(a, initial)
    lines += more
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(a.out) / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    if a.markdown:
        Path(a.markdown).write_text(text)


if __name__ == "__main__":
    main()
