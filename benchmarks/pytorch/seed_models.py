#!/usr/bin/python3
"""Keras-faithful PyTorch replicas of the seed models, for timing against xkeras.

--model e2: 784 -> Dense 512 relu -> Dropout 0.5 -> Dense 256 relu -> Dropout 0.2 -> Dense 10.
--model e1: Conv 32/64/128 3x3 same relu, each + MaxPool 2, Flatten, Dense 128 relu, Dropout
0.25, Dense 10 (PyTorch's native NCHW layout).
Softmax + categorical crossentropy (mean over the batch), Keras's Adam, glorot_uniform kernels
and zero biases, reshuffled every epoch, last partial batch kept. The timed part of an epoch is
what Keras's fit() does per epoch (shuffle, batch gather, forward, backward, update, running
accuracy), not reading the IDX files. Needs Debian's python3-torch: run with /usr/bin/python3.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path


def parse_args():
    default_dir = os.environ.get("XKERAS_DATA_DIR") or str(Path.home() / ".xkeras/datasets/mnist")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="e2", choices=("e2", "e1"))
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--data-dir", default=default_dir, help=f"IDX files (default {default_dir})")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    return p.parse_args()


args = parse_args()
# Pin every thread pool before torch (and its BLAS, OpenBLAS here) is loaded, whatever the
# caller exported: torch.set_num_threads alone does not reach Debian's pthread OpenBLAS.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
# torch's OpenMP workers and OpenBLAS's pthreads share the cores; with OpenMP's default spin-wait
# they fight, and 2 threads ran 2.4x slower than 1 on a 2-core machine. Passive waiting fixes it.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)


class KerasAdam(torch.optim.Optimizer):
    """Adam as in Keras 3: epsilon is added to the *uncorrected* sqrt(v) (epsilon-hat)."""

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon))
        self.iterations = 0

    @torch.no_grad()
    def step(self):
        self.iterations += 1
        t = self.iterations
        for group in self.param_groups:
            b1, b2, eps = group["beta_1"], group["beta_2"], group["epsilon"]
            alpha = group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t)
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.lerp_(g, 1 - b1)  # m += (g - m)(1 - b1)
                v.lerp_(g * g, 1 - b2)  # v += (g^2 - v)(1 - b2)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-alpha)  # w -= alpha m / (sqrt(v) + eps)


def read_idx(path, magic, header):
    buf = Path(path).read_bytes()
    found = int.from_bytes(buf[:4], "big")
    if found != magic:
        sys.exit(f"{path}: bad IDX magic {found}, expected {magic} (run scripts/fetch_mnist.sh)")
    return np.frombuffer(buf, dtype=np.uint8, offset=header)


def load_mnist(data_dir, limit, model):
    d = Path(data_dir)
    if not (d / "train-images-idx3-ubyte").is_file():
        sys.exit(f"MNIST not found in {d}: run scripts/fetch_mnist.sh")
    x = read_idx(d / "train-images-idx3-ubyte", 2051, 16).reshape(-1, 784)
    y = read_idx(d / "train-labels-idx1-ubyte", 2049, 8)
    if limit:
        x, y = x[:limit], y[:limit]
    x = x.astype(np.float32) / 255.0
    if model != "e2":
        x = x.reshape(-1, 1, 28, 28)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def build_model(name):
    if name == "e2":
        model = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(256, 10),  # softmax is folded into cross_entropy (log_softmax + NLL)
        )
    else:  # e1
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1152, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10),
        )
    for layer in model:
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)  # glorot_uniform (symmetric in fan_in/out)
            nn.init.zeros_(layer.bias)
    return model


def train_epoch(model, opt, x, y, batch_size, gen):
    model.train()
    perm = torch.randperm(len(x), generator=gen)
    correct = torch.zeros((), dtype=torch.int64)
    loss_sum = 0.0
    for start in range(0, len(x), batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        correct += (logits.argmax(1) == yb).sum()
    return loss_sum / len(x), correct.item() / len(x)


def main():
    x, y = load_mnist(args.data_dir, args.limit, args.model)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = build_model(args.model)
    opt = KerasAdam(model.parameters())
    times = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        loss, acc = train_epoch(model, opt, x, y, args.batch_size, gen)
        times.append(time.perf_counter() - t0)
        print(f"epoch {epoch}/{args.epochs}: {times[-1]:.3f} s  loss {loss:.4f}  acc {acc:.4f}",
              file=sys.stderr)
    result = {
        "framework": "pytorch", "torch_version": torch.__version__, "model": args.model,
        "threads": args.threads, "batch_size": args.batch_size, "samples": len(x),
        "seconds_per_epoch": times, "median": statistics.median(times),
        "train_loss_last": loss, "train_accuracy_last": acc,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"pytorch {torch.__version__} {args.model} threads={args.threads} batch={args.batch_size} "
          f"n={len(x)}: median {result['median']:.3f} s/epoch over {len(times)} epoch(s) "
          f"(min {min(times):.3f}, max {max(times):.3f}), last train acc {acc:.4f}")


if __name__ == "__main__":
    main()
