#!/usr/bin/python3
"""Keras-faithful PyTorch replicas of the seed models, for timing against xkeras's bench_epoch.

Same flags and the same JSON keys as build/benchmarks/bench_epoch, so benchmarks/compare.py can
put the two side by side. The models (examples/seed_models.hpp has the Keras originals):

  e1     Conv 32/64/128 3x3 'same' relu, each + MaxPool 2; Flatten; Dense 128 relu; Dropout 0.25;
         Dense 10                                                   241,546 params, Adam
  e2     Dense 512 relu; Dropout 0.5; Dense 256 relu; Dropout 0.2; Dense 10
                                                                    535,818 params, Adam
  e3     Conv 16/32/64/128 2x2 'same' relu, each + MaxPool 2; Flatten; Dense 784, 392, 128 relu;
         Dense 10                                                   503,762 params, Adam
  e4     Conv 32 3x3 relu; MaxPool 2; Conv 64 3x3 relu; MaxPool 2; Flatten; Dropout 0.25; Dense 10
                                                                     34,826 params, Adam
  e5mlp  5x Dense 64 relu; Dropout 0.2; Dense 10                     67,530 params, Adam
  e5cnn  Conv 32 3x3 relu, BN, Conv 32 relu, BN, MaxPool 2, Conv 64 relu, BN, Conv 64 relu, BN,
         MaxPool 2; Flatten; Dense 256 relu; Dropout 0.5; Dense 128 relu; Dropout 0.5; Dense 10
                                         362,346 params, SGD lr 0.01 momentum 0.9 nesterov
  lstm   LSTM 128 over 28 rows of 28 pixels; Dense 10                 81,674 params, Adam
  gru    GRU 128 (reset_after) over the rows; Dense 10                61,962 params, Adam

What is Keras about them: glorot_uniform kernels and zero biases; Keras's Adam (epsilon 1e-7 added
to the uncorrected sqrt(v), "epsilon-hat"); 'valid' padding unless 'same' is named, and 'same'
with an even kernel pads the extra pixel bottom/right (PyTorch's padding='same' does the same);
MaxPooling2D's stride equal to its pool; BatchNormalization after the conv's relu, with Keras's
momentum 0.99 (PyTorch's momentum is 1 - that, 0.01) and epsilon 1e-3; PyTorch's nesterov SGD is
Keras's for a constant learning rate. Softmax + categorical crossentropy as one fused op on the
logits (mean over the batch); inference applies the softmax, as Keras's predict() returns it.
fit() semantics: the first N images are the training share (validation_split holds out the last
ones; validation itself is not timed), reshuffled every epoch, last partial batch kept.

Differences that do not matter for timing: PyTorch's native layout is NCHW, so Flatten orders the
features C,H,W where Keras's NHWC orders them H,W,C (the Dense after it sees a permutation of the
same values; shapes and FLOPs are identical); PyTorch's BN updates the running variance with the
unbiased batch variance (as tf.keras 2 does for images; Keras 3 uses the biased one). The
parameter count below includes BN's moving mean and variance, as Keras's count_params() does.

The timed part of an epoch is what Keras's fit() does per epoch (shuffle, batch gather, forward,
backward, update, running loss and accuracy), not reading the IDX files.
Needs Debian's python3-torch 1.13: run with /usr/bin/python3.
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

# Per model: batch size and training images as the document trains it (validation_split's share
# held out: E1 0.1, E3 0.2, E4 0.3, E5's CNN 0.1), the parameter count Keras reports, the input.
SEEDS = {
    "e1": {"batch_size": 500, "samples": 54000, "params": 241546, "input": "image"},
    "e2": {"batch_size": 128, "samples": 60000, "params": 535818, "input": "flat"},
    "e3": {"batch_size": 512, "samples": 48000, "params": 503762, "input": "image"},
    "e4": {"batch_size": 32, "samples": 42000, "params": 34826, "input": "image"},
    "e5mlp": {"batch_size": 32, "samples": 60000, "params": 67530, "input": "flat"},
    "e5cnn": {"batch_size": 128, "samples": 54000, "params": 362346, "input": "image"},
    # sequential MNIST (examples/mnist_rows.cpp): 28 rows of 28 pixels, validation_split 0.1
    "lstm": {"batch_size": 128, "samples": 54000, "params": 81674, "input": "rows"},
    "gru": {"batch_size": 128, "samples": 54000, "params": 61962, "input": "rows"},
}


def parse_args():
    default_dir = os.environ.get("XKERAS_DATA_DIR") or str(Path.home() / ".xkeras/datasets/mnist")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="e2", choices=tuple(SEEDS))
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--epochs", type=int, default=3, help="epochs to time (default 3)")
    p.add_argument("--batch-size", type=int, default=0, help="batch size (0: the document's)")
    p.add_argument("--data-dir", default=default_dir, help=f"IDX files (default {default_dir})")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N images (0: the document's share)")
    p.add_argument("--latency-runs", type=int, default=2000, help="batch-1 predictions to time")
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--malloc", choices=("kept", "glibc"), default="kept",
                   help="kept: freed memory stays with the process (default); glibc: glibc's "
                        "defaults, which hand it back to the kernel")
    p.add_argument("--evaluate", action="store_true",
                   help="also evaluate as the document's fit() does: the held-out validation "
                        "share (the images after the training share) after every epoch, not "
                        "timed, and the test set at the end; the JSON gets the history")
    p.add_argument("--initial-weights", metavar="H5",
                   help="start from these weights (a Keras 3 .weights.h5, e.g. xkeras's; e2, e3 "
                        "and e5mlp, whose Flatten sees no image layout) instead of drawing them")
    p.add_argument("--no-shuffle", action="store_true",
                   help="train on the samples in file order every epoch (fit's shuffle=False)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="the weights' and the data's type (float64: to follow xkeras's "
                        "basic_sequential<double> step for step)")
    p.add_argument("--save-weights", metavar="NPZ",
                   help="write the trained weights in Keras's shapes, keyed as the .weights.h5 "
                        "file names them ('conv2d_1/0' for layers/conv2d_1/vars/0)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    a = p.parse_args()
    if a.initial_weights and a.model not in ("e2", "e3", "e5mlp"):
        p.error("--initial-weights: only e2, e3 and e5mlp (the others' Flatten orders an image "
                "NCHW here and NHWC in Keras)")
    for name in ("threads", "epochs", "latency_runs"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if a.batch_size < 0 or a.limit < 0:
        p.error("--batch-size and --limit must be 0 or positive")
    return a


args = parse_args()
# Thread pinning, before torch is imported. Debian's torch runs its own ops on an OpenMP pool but
# its Linear layers on OpenBLAS (pthreads), and both pools size themselves from the environment
# when the library loads: torch.set_num_threads alone does not reach OpenBLAS. So every pool gets
# the requested count here, whatever the caller exported. And with OpenMP's default spin-wait its
# idle workers keep burning the cores OpenBLAS's threads then need: on a 2-core machine the
# 2-thread E2 ran 2.4x slower than the 1-thread one. Passive waiting (sleep when idle) fixes it.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def keep_freed_memory():
    """Makes glibc's malloc keep what the process frees, as jemalloc and tcmalloc do (PyTorch's
    CPU tuning guide recommends either). PyTorch allocates every step's activations and gradients
    afresh and frees them after the step. By default glibc serves blocks over 128 KiB with mmap
    and unmaps them when freed, and trims the heap's free top, so each step's blocks come back as
    new pages that fault in and are zeroed by the kernel: for the MLPs that is a third or more of
    an epoch, varying from epoch to epoch with glibc's adaptive threshold. xkeras reuses its
    buffers, so without this the comparison would time the allocator, not the training."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    # 32 MiB is the largest mmap threshold glibc accepts on 64-bit; blocks above it are rare here.
    for option, value in ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 1 << 30)):
        if libc.mallopt(option, value) != 1:
            sys.exit(f"seed_models.py: mallopt({option}, {value}) failed")


if args.malloc == "kept":
    keep_freed_memory()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
DTYPE = torch.float64 if args.dtype == "float64" else torch.float32


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


def load_mnist(data_dir):
    """The raw training and test images (uint8, N x 784) and labels."""
    d = Path(data_dir)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        if not (d / name).is_file():
            sys.exit(f"MNIST not found in {d} ({name} missing): run scripts/fetch_mnist.sh")
    x = read_idx(d / "train-images-idx3-ubyte", 2051, 16).reshape(-1, 784)
    y = read_idx(d / "train-labels-idx1-ubyte", 2049, 8)
    x_test = read_idx(d / "t10k-images-idx3-ubyte", 2051, 16).reshape(-1, 784)
    y_test = read_idx(d / "t10k-labels-idx1-ubyte", 2049, 8)
    return x, y, x_test, y_test


def to_input(images, kind):
    """uint8 N x 784 -> float32 in [0, 1]: N x 784 (flat), N x 1 x 28 x 28 (image, NCHW) or
    N x 28 x 28 (rows: 28 steps of 28 pixels)."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).to(DTYPE)
    if kind == "image":
        return x.reshape(-1, 1, 28, 28)
    return x.reshape(-1, 28, 28) if kind == "rows" else x


class LastStep(nn.Module):
    """A recurrent layer as Keras's with return_sequences=False: the last step's output."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0][:, -1]


def recurrent(kind, features, units):
    """Keras's LSTM / GRU (reset_after) in PyTorch: glorot_uniform input kernels, orthogonal
    recurrent kernels, zero biases (LSTM's forget gate's at 1). Keras's LSTM has one bias: the
    second of PyTorch's stays zero and frozen. PyTorch's GRU is Keras's reset_after form, with
    its two biases."""
    rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(features, units, batch_first=True)
    with torch.no_grad():
        nn.init.xavier_uniform_(rnn.weight_ih_l0)
        nn.init.orthogonal_(rnn.weight_hh_l0)
        nn.init.zeros_(rnn.bias_ih_l0)
        nn.init.zeros_(rnn.bias_hh_l0)
        if kind == "lstm":
            rnn.bias_ih_l0[units:2 * units] = 1.0
            rnn.bias_hh_l0.requires_grad_(False)
    return LastStep(rnn)


def conv_same(cin, cout, k):
    # Keras 'same' puts the extra pixel of an even kernel bottom/right; so does padding='same'.
    # For E3's 2x2 kernels PyTorch pads a copy of the input first and warns that it does so on
    # every call: that copy is part of its cost, the warning only noise in the log.
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    return nn.Conv2d(cin, cout, k, padding="same")


def bn(channels):
    # Keras: moving = moving * 0.99 + batch * 0.01; PyTorch: running = running * (1 - m) + batch * m
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def build_model(name):
    # The last Dense has no softmax: it is fused into the loss (cross_entropy = log_softmax + NLL)
    # in training and applied explicitly in inference.
    if name == "e1":
        layers = [conv_same(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                  conv_same(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                  conv_same(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14 -> 7 -> 3
                  nn.Flatten(), nn.Linear(128 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.25),
                  nn.Linear(128, 10)]
    elif name == "e2":
        layers = [nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
                  nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2),
                  nn.Linear(256, 10)]
    elif name == "e3":
        layers, cin = [], 1
        for cout in (16, 32, 64, 128):  # 28 -> 14 -> 7 -> 3 -> 1
            layers += [conv_same(cin, cout, 2), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        layers += [nn.Flatten(), nn.Linear(128, 784), nn.ReLU(), nn.Linear(784, 392), nn.ReLU(),
                   nn.Linear(392, 128), nn.ReLU(), nn.Linear(128, 10)]
    elif name == "e4":
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 26 -> 13
                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # 13 -> 11 -> 5
                  nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 5 * 5, 10)]
    elif name == "e5mlp":
        layers = [nn.Linear(784, 64), nn.ReLU()]
        for _ in range(4):
            layers += [nn.Linear(64, 64), nn.ReLU()]
        layers += [nn.Dropout(0.2), nn.Linear(64, 10)]
    elif name in ("lstm", "gru"):
        layers = [recurrent(name, 28, 128), nn.Linear(128, 10)]
    elif name == "e5cnn":
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), bn(32),  # 28 -> 26
                  nn.Conv2d(32, 32, 3), nn.ReLU(), bn(32), nn.MaxPool2d(2),  # 24 -> 12
                  nn.Conv2d(32, 64, 3), nn.ReLU(), bn(64),  # 10
                  nn.Conv2d(64, 64, 3), nn.ReLU(), bn(64), nn.MaxPool2d(2),  # 8 -> 4
                  nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5),
                  nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)]
    else:
        raise ValueError(name)
    model = nn.Sequential(*layers).to(DTYPE)
    for layer in model:
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            # glorot_uniform: fans as Keras computes them (conv: channels x kernel area)
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def build_optimizer(name, model):
    if name == "e5cnn":
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    return KerasAdam(model.parameters())


def count_params(model):
    """Keras's count_params(): weights, biases, and BN's moving mean and variance."""
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return n + sum(b.numel() for name, b in model.named_buffers()
                   if name.endswith(("running_mean", "running_var")))


def keras_names(model):
    """(Keras 3's name of each Conv2d / Linear layer in a .weights.h5 file, the layer): Keras
    names a layer by its snake-cased class and a counter per class, in layer order."""
    counts, named = {}, []
    for layer in model:
        kind = {nn.Conv2d: "conv2d", nn.Linear: "dense"}.get(type(layer))
        if kind is None:
            continue
        k = counts.get(kind, 0)
        counts[kind] = k + 1
        named.append((kind if k == 0 else f"{kind}_{k}", layer))
    return named


def to_torch(kernel):
    """A Keras kernel (kh, kw, in, out) or (in, out) in PyTorch's (out, in, kh, kw) / (out, in)."""
    return kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T


@torch.no_grad()
def load_keras_weights(model, path):
    import h5py  # Debian's python3-h5py; only this option needs it
    with h5py.File(path, "r") as f:
        for name, layer in keras_names(model):
            kernel, bias = (f[f"layers/{name}/vars/{i}"][()] for i in (0, 1))
            if to_torch(kernel).shape != tuple(layer.weight.shape) or \
                    bias.shape != tuple(layer.bias.shape):
                sys.exit(f"seed_models.py: {path}: layer {name} has shapes {kernel.shape}, "
                         f"{bias.shape}; the replica's are {tuple(layer.weight.shape)}, "
                         f"{tuple(layer.bias.shape)} in PyTorch's order")
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(to_torch(kernel))))
            layer.bias.copy_(torch.from_numpy(bias))  # copy_ converts to the layer's dtype


def save_keras_weights(model, path):
    arrays = {}
    for name, layer in keras_names(model):
        w = layer.weight.detach().numpy()
        arrays[f"{name}/0"] = w.transpose(2, 3, 1, 0) if w.ndim == 4 else w.T
        arrays[f"{name}/1"] = layer.bias.detach().numpy()
    np.savez(path, **arrays)


def train_epoch(model, opt, x, y, batch_size, gen):
    model.train()
    perm = torch.arange(len(x)) if args.no_shuffle else torch.randperm(len(x), generator=gen)
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


@torch.no_grad()
def evaluate(model, x, y, batch_size):
    """Keras's evaluate(): the mean loss and the accuracy over every sample, in inference mode."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def predict(model, x):
    return torch.softmax(model(x), dim=1)  # what Keras's predict() returns


def main():
    spec = SEEDS[args.model]
    batch_size = args.batch_size or spec["batch_size"]
    n = min(args.limit or spec["samples"], 60000)
    raw_x, raw_y, raw_test, raw_test_y = load_mnist(args.data_dir)
    x = to_input(raw_x[:n], spec["input"])
    y = torch.from_numpy(raw_y[:n].astype(np.int64))
    # validation_split holds out the last images of the training file, before any shuffling
    val_x = to_input(raw_x[n:], spec["input"])
    val_y = torch.from_numpy(raw_y[n:].astype(np.int64))
    if args.evaluate and len(val_x) == 0:
        sys.exit("seed_models.py: --evaluate needs a validation share (--limit below 60000)")
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = build_model(args.model)
    params = count_params(model)
    if params != spec["params"]:
        sys.exit(f"seed_models.py: {args.model} has {params:,} parameters, Keras's has "
                 f"{spec['params']:,}: the replica is not the seed model")
    print(f"{args.model}: {params:,} parameters (= Keras's count)", file=sys.stderr)
    if args.initial_weights:
        load_keras_weights(model, args.initial_weights)
    opt = build_optimizer(args.model, model)

    times = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        loss, acc = train_epoch(model, opt, x, y, batch_size, gen)
        times.append(time.perf_counter() - t0)
        line = f"epoch {epoch}/{args.epochs}: {times[-1]:.3f} s  loss {loss:.4f}  acc {acc:.4f}"
        if args.evaluate:
            val_loss, val_acc = evaluate(model, val_x, val_y, batch_size)
            for key, value in zip(history, (loss, acc, val_loss, val_acc)):
                history[key].append(value)
            line += f"  val_loss {val_loss:.4f}  val_acc {val_acc:.4f}"
        print(line, file=sys.stderr)
    rss = peak_rss_mib()  # training's peak, before the inference measurements

    # Inference: batch 1 (one test image, median of --latency-runs calls after 50 warm-ups), then
    # batch 1000 over the 10,000 test images (best of 3 passes).
    model.eval()
    x_test = to_input(raw_test, spec["input"])
    x1 = x_test[:1].clone()
    lat = []
    with torch.inference_mode():
        for i in range(args.latency_runs + 50):
            t0 = time.perf_counter()
            predict(model, x1)
            if i >= 50:
                lat.append(time.perf_counter() - t0)
        tput = []
        for _ in range(3):
            t0 = time.perf_counter()
            for start in range(0, len(x_test), 1000):
                predict(model, x_test[start:start + 1000])
            tput.append(len(x_test) / (time.perf_counter() - t0))

    med = statistics.median(times)
    result = {
        "framework": "pytorch", "torch_version": torch.__version__, "model": args.model,
        "malloc": args.malloc,
        "threads": args.threads, "batch_size": batch_size, "samples": n, "params": params,
        "seconds_per_epoch": times, "median": med,
        "train_loss_last": loss, "train_accuracy_last": acc, "peak_rss_mib": rss,
        "latency_batch1_us": statistics.median(lat) * 1e6,
        "throughput_batch1000": max(tput),
    }
    if args.evaluate:
        test_y = torch.from_numpy(raw_test_y.astype(np.int64))
        test_loss, test_acc = evaluate(model, x_test, test_y, batch_size)
        result.update(seed=args.seed, history=history, test_loss=test_loss,
                      test_accuracy=test_acc)
        print(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}", file=sys.stderr)
    if args.save_weights:
        save_keras_weights(model, args.save_weights)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"pytorch {torch.__version__} {args.model}: {args.threads} thread(s), batch {batch_size}, "
          f"{n} images, median {med:.3f} s/epoch (min {min(times):.3f}, max {max(times):.3f}), "
          f"train accuracy {acc:.4f}, peak RSS {rss:.0f} MiB, batch-1 "
          f"{result['latency_batch1_us']:.1f} us, batch-1000 {max(tput):.0f} samples/s")


if __name__ == "__main__":
    main()
