#!/usr/bin/python3
"""E3's recipe over many seeds, in xkeras and in the Keras-faithful PyTorch replica (issue 29).

Runs `mnist_cnn_deploy --seed S` (30 epochs, batch 512, validation_split 0.2, Adam; the test set at
the end) and `seed_models.py --model e3 --evaluate --seed S` (the same recipe) for every seed,
keeps each run's JSON in --out (a run already there is not repeated: the whole set takes about an
hour on 2 cores, and can be resumed), then compares the two distributions: test accuracy per seed,
mean, standard deviation, range, Welch's t statistic and an exact two-sided permutation test of
the difference in means; validation accuracy per epoch, mean and spread per side; and, given the
document (--document), the range of the validation accuracies its own log shows.

Usage: /usr/bin/python3 benchmarks/e3_spread.py [--seeds 1-10] [--threads 1] [--out DIR]
           [--markdown PATH] [--json PATH]
Needs build/examples/mnist_cnn_deploy (cmake --build build --target mnist_cnn_deploy) and
Debian's python3-torch.
"""
import argparse
import itertools
import json
import math
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_seeds(text):
    """'1-10' or '1,2,5' -> [1, ..., 10]."""
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = (int(v) for v in part.split("-", 1))
            seeds += range(lo, hi + 1)
        else:
            seeds.append(int(part))
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be distinct and non-negative: {text!r}")
    return seeds


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("1-10"))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=1, help="threads for each run (default 1)")
    p.add_argument("--limit", type=int, default=0,
                   help="xkeras: the first N training images (0: all; the replica then trains "
                        "on 80%% of them), for a quick check of the machinery")
    p.add_argument("--data-dir", default=str(Path.home() / ".xkeras/datasets/mnist"))
    p.add_argument("--xkeras-bin", default=str(ROOT / "build/examples/mnist_cnn_deploy"))
    p.add_argument("--torch-python", default="/usr/bin/python3")
    p.add_argument("--out", default=str(ROOT / "build/e3_spread"), help="one JSON per run")
    p.add_argument("--document", default=str(ROOT / "../shared/seeds/002_30d543df50659175.txt"),
                   help="E3's document, for the validation accuracies its log shows")
    p.add_argument("--xkeras-only", action="store_true",
                   help="run and report xkeras alone (e.g. at the example's default thread "
                        "count, to see what a user's run gives)")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--markdown", metavar="PATH")
    a = p.parse_args()
    if a.epochs < 1 or a.threads < 1 or a.limit < 0 or a.limit == 1:
        p.error("--epochs and --threads must be positive, --limit 0 or at least 2")
    return a


def run_xkeras(a, seed, path):
    out_dir = path.with_suffix("")
    cmd = [a.xkeras_bin, "--seed", str(seed), "--epochs", str(a.epochs), "--threads",
           str(a.threads), "--data-dir", a.data_dir, "--output", str(out_dir)]
    if a.limit:
        cmd += ["--limit", str(a.limit)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = json.loads((out_dir / "result.json").read_text())
    path.write_text(json.dumps({"test_accuracy": result["test_accuracy"],
                                "test_loss": result["test_loss"],
                                "history": result["history"]}, indent=1) + "\n")


def run_pytorch(a, seed, path):
    cmd = [a.torch_python, str(ROOT / "benchmarks/pytorch/seed_models.py"), "--model", "e3",
           "--evaluate", "--seed", str(seed), "--epochs", str(a.epochs), "--threads",
           str(a.threads), "--latency-runs", "1", "--data-dir", a.data_dir, "--json", str(path)]
    if a.limit:
        cmd += ["--limit", str(a.limit * 4 // 5)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def collect(a):
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sides = (("xkeras", run_xkeras),) if a.xkeras_only else (("xkeras", run_xkeras),
                                                              ("pytorch", run_pytorch))
    runs = {side: {} for side, _ in sides}
    for seed in a.seeds:
        for side, run in sides:
            path = out / f"{side}_seed{seed}_epochs{a.epochs}_threads{a.threads}_limit{a.limit}.json"
            if not path.is_file():
                print(f"e3_spread: {side}, seed {seed}", file=sys.stderr, flush=True)
                run(a, seed, path)
            runs[side][seed] = json.loads(path.read_text())
    return runs


def permutation_p(xs, ys):
    """Two-sided p-value of the difference in means under relabelling: exact when the
    relabellings number at most a million, else from 200,000 random ones (fixed seed)."""
    pooled, n = xs + ys, len(xs)
    observed = abs(statistics.fmean(xs) - statistics.fmean(ys))
    total = sum(pooled)

    def extreme(group_sum):
        other = (total - group_sum) / (len(pooled) - n)
        return abs(group_sum / n - other) >= observed - 1e-12

    if math.comb(len(pooled), n) <= 1_000_000:
        hits = count = 0
        for idx in itertools.combinations(range(len(pooled)), n):
            count += 1
            hits += extreme(sum(pooled[i] for i in idx))
        return hits / count
    rng = random.Random(29)
    hits = 0
    for _ in range(200_000):
        hits += extreme(sum(rng.sample(pooled, n)))
    return (hits + 1) / 200_001


def welch_t(xs, ys):
    vx, vy = statistics.variance(xs) / len(xs), statistics.variance(ys) / len(ys)
    t = (statistics.fmean(xs) - statistics.fmean(ys)) / math.sqrt(vx + vy)
    dof = (vx + vy) ** 2 / (vx**2 / (len(xs) - 1) + vy**2 / (len(ys) - 1))
    return t, dof


def summary(values):
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values),
            "min": min(values), "max": max(values)}


def document_val_accuracies(path):
    """The val_accuracy values E3's document prints (its log is cut at some lines' ends)."""
    p = Path(path)
    if not p.is_file():
        return []
    return [float(v) for v in re.findall(r"val_accuracy: (0\.\d{3,})", p.read_text())]


def lowest_last10(run):
    """A dip: the lowest validation accuracy of a run's last 10 epochs (one bad epoch, which the
    next one usually repairs, is what separates a 98.2% test figure from a 98.8% one)."""
    return min(run["history"]["val_accuracy"][-10:])


def seed_list(seeds):
    """'1-20' for a contiguous range, else '1, 5, 9'."""
    contiguous = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    return f"{seeds[0]}-{seeds[-1]}" if contiguous else ", ".join(map(str, seeds))


def emit(a, text, result):
    """Prints the report and writes it where --markdown and --json say."""
    print(text)
    if a.markdown:
        Path(a.markdown).write_text(text)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")


def report_one(a, runs):
    """xkeras alone: per seed, and the distribution of the test accuracy."""
    seeds = a.seeds
    test = [runs["xkeras"][s]["test_accuracy"] for s in seeds]
    low10 = [lowest_last10(runs["xkeras"][s]) for s in seeds]
    m = summary(test)
    lines = [f"xkeras alone, E3's recipe over seeds {seed_list(seeds)}, {a.epochs} epochs, "
             f"{a.threads} thread(s).", "", "| seed | test acc | lowest val acc, last 10 epochs |",
             "|---|---|---|"]
    lines += [f"| {s} | {t:.4f} | {v:.4f} |" for s, t, v in zip(seeds, test, low10)]
    lines += ["", f"Test accuracy: mean {m['mean']:.4f}, sd {m['sd']:.4f}, min {m['min']:.4f}, "
                  f"max {m['max']:.4f}."]
    emit(a, "\n".join(lines) + "\n",
         {"seeds": seeds, "epochs": a.epochs, "threads": a.threads, "test_accuracy": test,
          "test_summary": m, "val_accuracy_last10_min": low10})


def report(a, runs):
    if a.xkeras_only:
        return report_one(a, runs)
    seeds = a.seeds
    test = {side: [runs[side][s]["test_accuracy"] for s in seeds] for side in runs}
    t, dof = welch_t(test["xkeras"], test["pytorch"])
    per_epoch = {side: [[runs[side][s]["history"]["val_accuracy"][e] for s in seeds]
                        for e in range(a.epochs)] for side in runs}
    last5 = {side: [statistics.fmean(runs[side][s]["history"]["val_accuracy"][-5:])
                    for s in seeds] for side in runs}
    low10 = {side: [lowest_last10(runs[side][s]) for s in seeds] for side in runs}
    doc = document_val_accuracies(a.document)
    result = {
        "seeds": seeds, "epochs": a.epochs, "threads": a.threads, "limit": a.limit,
        "test_accuracy": test,
        "test_summary": {side: summary(v) for side, v in test.items()},
        "welch_t": t, "welch_dof": dof,
        "permutation_p": permutation_p(test["xkeras"], test["pytorch"]),
        "val_accuracy_last5_mean": last5,
        "val_accuracy_last5_permutation_p": permutation_p(last5["xkeras"], last5["pytorch"]),
        "val_accuracy_last10_min": low10,
        "val_accuracy_last10_min_permutation_p": permutation_p(low10["xkeras"], low10["pytorch"]),
        "val_accuracy_per_epoch": {side: [summary(v) for v in per_epoch[side]]
                                   for side in per_epoch},
        "document_val_accuracies": doc,
    }
    lines = [f"E3's recipe over seeds {seed_list(seeds)} ({len(seeds)} each), {a.epochs} "
             f"epochs, {a.threads} thread(s){f', first {a.limit} images' if a.limit else ''}.",
             "", "| seed | xkeras test acc | PyTorch test acc |", "|---|---|---|"]
    for s, x, p in zip(seeds, test["xkeras"], test["pytorch"]):
        lines.append(f"| {s} | {x:.4f} | {p:.4f} |")
    lines += ["", "| test accuracy | mean | sd | min | max |", "|---|---|---|---|---|"]
    for side in ("xkeras", "pytorch"):
        m = result["test_summary"][side]
        lines.append(f"| {side} | {m['mean']:.4f} | {m['sd']:.4f} | {m['min']:.4f} | "
                     f"{m['max']:.4f} |")
    lines += ["", f"Difference of the means: {statistics.fmean(test['xkeras']) - statistics.fmean(test['pytorch']):+.4f}; "
              f"Welch's t {t:.2f} ({dof:.1f} degrees of freedom); permutation test p = "
              f"{result['permutation_p']:.3f}. Mean validation accuracy of the last 5 epochs: "
              f"xkeras {statistics.fmean(last5['xkeras']):.4f}, PyTorch "
              f"{statistics.fmean(last5['pytorch']):.4f}, permutation test p = "
              f"{result['val_accuracy_last5_permutation_p']:.3f}. Lowest validation accuracy "
              f"of the last 10 epochs, mean over seeds: xkeras "
              f"{statistics.fmean(low10['xkeras']):.4f}, PyTorch "
              f"{statistics.fmean(low10['pytorch']):.4f}, permutation test p = "
              f"{result['val_accuracy_last10_min_permutation_p']:.3f}.", "",
              "| epoch | xkeras val acc (mean ± sd) | PyTorch val acc (mean ± sd) |",
              "|---|---|---|"]
    for e in range(a.epochs):
        x, p = (result["val_accuracy_per_epoch"][side][e] for side in ("xkeras", "pytorch"))
        lines.append(f"| {e + 1} | {x['mean']:.4f} ± {x['sd']:.4f} | "
                     f"{p['mean']:.4f} ± {p['sd']:.4f} |")
    if doc:
        lines += ["", f"The document's log shows {len(doc)} validation accuracies, "
                      f"{min(doc):.3f}-{max(doc):.3f} (its own run: one seed, Keras on its "
                      f"machine)."]
    emit(a, "\n".join(lines) + "\n", result)


def main():
    a = parse_args()
    if len(a.seeds) < 2:
        sys.exit("e3_spread: at least 2 seeds are needed to compare spreads")
    report(a, collect(a))


if __name__ == "__main__":
    main()
