#!/usr/bin/env python3
"""Peak resident memory of E1's example training one epoch, against a budget derived from what
the data and the model need.

Runs `mnist_cnn --epochs 1` under `/usr/bin/time -v` and reads "Maximum resident set size".
What the run needs is the sum of
  runtime    the same binary's peak RSS for `--help` (code, shared libraries, allocator), measured;
  data       the arrays the example holds while it trains, from their shapes: the uint8 labels
             of both MNIST splits, float32 x_train (the first N images) and x_test, float32
             one-hot y_train and y_test (the uint8 images are dropped once converted, as the
             tutorial's `x_train = x_train.astype('float32') / 255` drops them in Python);
  model      4 float32 copies of the parameters: weights, gradients, Adam's m and v;
  step       one training step at the example's batch size, from the layer shapes the example's
             summary prints: every layer's output (kept for the backward pass) and every layer's
             input gradient (each layer keeps its buffers from batch to batch, so a step
             allocates nothing), plus the batch's x and y;
  workspace  per thread and convolution, the patch matrix of one image group and its gradient
             (each kept within about 1 MiB by Conv2D) and the group's dz: 3 MiB.
The budget is that need plus 10% for the allocator (freed blocks it keeps, per-thread arenas).
The program exits 1 when the peak is over the budget (CTest `memory_budget` runs it on 12,000
images; `--limit 0` measures the full epoch the issue asks for).

Usage: memory_e1.py --binary build/examples/mnist_cnn [--limit N] [--threads T] [--json out.json]
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile

MIB = 1024.0 * 1024.0
TRAIN, TEST, PIXELS, CLASSES = 60000, 10000, 784, 10


def peak_rss_kib(cmd):
    """Runs cmd under /usr/bin/time -v; returns (peak RSS in KiB, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"memory_e1: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}"
                 f"{p.stderr[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if not m:
        sys.exit("memory_e1: /usr/bin/time -v printed no 'Maximum resident set size'")
    return int(m.group(1)), p.stdout


def summary_shapes(text):
    """Layer output sizes (per sample) and the parameter total from the summary's table."""
    sizes = []
    for dims in re.findall(r"\(None, ([0-9, ]+)\)", text):
        n = 1
        for d in dims.split(","):
            n *= int(d)
        sizes.append(n)
    total = re.search(r"Total params: ([0-9,]+)", text)
    if not sizes or not total:
        sys.exit("memory_e1: the example printed no model summary to read the shapes from")
    return sizes, int(total.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="path to the mnist_cnn example")
    ap.add_argument("--limit", type=int, default=0, help="training images (0: all 60,000)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=500, help="E1's batch size")
    ap.add_argument("--json", help="write the figures here too")
    a = ap.parse_args()

    runtime_kib, _ = peak_rss_kib([a.binary, "--help"])
    with tempfile.TemporaryDirectory() as out:
        peak_kib, log = peak_rss_kib([a.binary, "--epochs", "1", "--limit", str(a.limit),
                                      "--threads", str(a.threads), "--output", out])
    sizes, params = summary_shapes(log)

    n = a.limit or TRAIN
    b = min(a.batch_size, n)
    f32 = 4
    data = ((TRAIN + TEST)                               # uint8 labels
            + (n + TEST) * PIXELS * f32                  # x_train, x_test
            + (n + TEST) * CLASSES * f32)                # y_train, y_test one-hot
    model = 4 * params * f32
    inputs = [PIXELS] + sizes[:-1]                       # each layer's input, per sample
    step = (sum(sizes) + sum(inputs) + PIXELS + CLASSES) * b * f32
    convs = log.count("(Conv2D)")
    workspace = a.threads * convs * 3 * MIB
    need = runtime_kib * 1024 + data + model + step + workspace
    budget = 1.10 * need
    peak = peak_kib * 1024

    rows = [("runtime (--help, measured)", runtime_kib * 1024), ("data", data),
            ("model (4 x params)", model), (f"one step at batch {b}", step),
            (f"workspace ({convs} conv x {a.threads} thr)", workspace), ("need", need),
            ("budget (need + 10%)", budget), ("measured peak", peak)]
    print(f"E1 (mnist_cnn), one epoch on {n} images, {a.threads} thread(s):")
    for name, v in rows:
        print(f"  {name:<28} {v / MIB:8.1f} MiB")
    ok = peak <= budget
    print(f"  peak / need = {peak / need:.2f}; {'within' if ok else 'OVER'} the budget")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({name: round(v / MIB, 1) for name, v in rows} |
                      {"images": n, "threads": a.threads, "within": ok}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
