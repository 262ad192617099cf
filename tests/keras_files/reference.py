#!/usr/bin/python3
"""Independent float64 reference for Keras model files (h5py + numpy only).

Reads a Keras model file, rebuilds its forward pass from Keras's documented
inference semantics and prints predictions for the first N test images of
MNIST (or Fashion-MNIST) as one JSON object.  It is written from Keras's
semantics and the fixture notes in /work/shared/keras_files (LAYOUT.md and each
PROVENANCE.txt), not from xkeras code, so it can check xkeras's Keras-file
loader.

Usage:
  reference.py MODEL [--config CONFIG] [--dataset mnist|fashion_mnist]
               [--data-dir DIR] [--count N] [--accuracy] [--preprocess raw|unit]
               [--inputs FILE.npy|FILE.json] [--batch B]

MODEL is one of
  * a Keras 3 `.keras` zip (config.json + model.weights.h5);
  * a Keras 3 `.weights.h5` (needs --config);
  * a legacy full-model `.h5` (root attribute model_config);
  * a legacy weights-only `.h5` (root attribute layer_names; needs --config).
CONFIG is a `.keras` zip (its config.json), a legacy `.h5` with model_config, or
a JSON file holding a model config ({"class_name": ..., "config": ...}).

Output (stdout): {"predictions": [[float per output unit] x N],
                  "labels": [N labels], "accuracy": float (with --accuracy,
                  over all 10,000 test images), "layers": [class names]}.
"layers" lists the executed chain; the members of a nested Sequential appear
in place of it (its own InputLayer is left out).  --inputs FILE feeds arrays
of shape (N, *model_input_shape) instead of a dataset (used for models whose
input is not a 28x28 image); "labels" and "accuracy" are then absent.
--preprocess is applied to dataset pixels only: raw = 0..255, unit = /255.

Exit status: 0 ok; 1 error (missing file, weight mismatch); 2 bad usage;
3 "unsupported: ..." (channels_first data, unknown layer class, a Functional
graph that is not a plain chain, dilation != 1, ...).

Per-fixture table (fixtures in /work/shared/keras_files; the quoted text is
from that fixture's PROVENANCE.txt unless another source is named):

| id | input shape | preprocess | source of the preprocessing | status |
|----|-------------|------------|------------------------------|--------|
| k3_01_seq_lenet_tanh | (28,28,1) | raw | "RAW uint8 pixels 0..255 (the notebook never divides by 255; model was trained on raw pixels)" | supported |
| k3_02_seq_cnn_tiny | (28,28,1) | unit | PROVENANCE only says "Written by part1_tensorflow.py"; that script (CypherHK/MLS_A11) does x_test.astype("float32") / 255.0 | supported |
| k3_05_functional_bn | (28,28,1) | unit | PROVENANCE: "Training code: model.py in the same repo"; model.py preprocess_data does x_test.astype('float32') / 255 | supported: Functional plain chain, nested Sequential of Random* = identity |
| k3_06_seq_mlp | (28,28) | unit | PROVENANCE is silent; the repo's app.py feeds img_array / 255.0; unit reproduces the repo's metrics.pkl (accuracy 0.9602, identical confusion matrix) | supported |
| w3_01_cnn_tiny | (28,28,1) | unit | "model.save_weights output of the model in k3_02 (arrays identical)"; --config k3_02's .keras | supported |
| w3_02_mlp | (28,28) | unit | "model.save_weights output of the model in k3_06"; "layer order must come from k3_06's config.json" | supported |
| h5_01_kotlindl_mnist_full | (28,28) (Flatten batch_input_shape) | unit | PROVENANCE is silent; assumed (KotlinDL feeds [0,1] images); raw and unit give nearly equal accuracy (0.9723 / 0.9719) | supported |
| h5_02_kotlindl_mnist_weights | (28,28) | unit | "Weights-only twin of h5_01 (identical arrays)"; --config h5_01's mnist.h5 | supported |
| h5_03_kotlindl_lenet_weights | (28,28,1) | unit, fashion_mnist | "These weights were trained on Fashion-MNIST (x / 255)"; --config lenetMdl.json | supported (needs Fashion-MNIST data for a meaningful accuracy) |
| h5_04_kotlindl_lenet_bn_weights | (28,28,1) | unit, fashion_mnist | "Trained on Fashion-MNIST (x / 255)"; --config modelConfig.json | supported (same) |
| h5_06_fml_dense_bn | (16,) | n/a (jet features, not images) | "hls4ml example model" | supported with --inputs (plain-chain Functional) |
| h5_07_fml_conv2d_dropout | (8,8,1) | n/a (not 28x28) | "hls4ml example model; 8x8x1 input, padding same" | supported with --inputs |
| h5_09_keras216_cnn | (1,28,28) channels_first | not stated | "data_format 'channels_first' with batch_input_shape [null,1,28,28]" | unsupported, exit 3 |
| l2_01_kotlindl_lstm | (40,41) | n/a (characters) | "Input(40, 41) > LSTM(64, return_sequences) > ..." | unsupported (LSTM), exit 3 |

LAYOUT.md also names fixtures kept back from that folder (k3_03, k3_04, k2_07,
w3_03, h5_05, h5_08, h5_10); their architectures there use only the layers
above, channels_last, so they should load, but their preprocessing is not
documented here.
"""

import argparse
import gzip
import io
import json
import os
import re
import sys
import zipfile

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover
    sys.stderr.write("error: h5py is required (use /usr/bin/python3)\n")
    sys.exit(1)


class Unsupported(Exception):
    """The model uses something this reference deliberately does not handle."""


class LoadError(Exception):
    """The file or its weights do not fit together."""


# --------------------------------------------------------------------------
# small helpers

def _s(v):
    """Decode an HDF5 string attribute (fixed-length bytes or vlen str)."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.bytes_):
        return bytes(v).decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _s(v[()])
    return str(v)


def _str_list(v):
    if v is None:
        return []
    arr = np.asarray(v)
    if arr.size == 0:
        return []
    return [_s(x) for x in arr.reshape(-1)]


def to_snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(x) for x in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise Unsupported("%s must have 2 entries, got %r" % (name, v))
    return v


# --------------------------------------------------------------------------
# activations (keras.activations)

def _softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def _sigmoid(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "elu": _elu,
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
    "exponential": np.exp,
}


def activation_fn(spec):
    if spec is None:
        return ACTIVATIONS["linear"]
    if isinstance(spec, dict):  # serialized function object
        inner = spec.get("config")
        if isinstance(inner, dict):
            inner = inner.get("name")
        if not isinstance(inner, str):
            inner = spec.get("class_name")
        spec = inner
    if not isinstance(spec, str) or spec not in ACTIVATIONS:
        raise Unsupported("activation %r" % (spec,))
    return ACTIVATIONS[spec]


# --------------------------------------------------------------------------
# layers (inference semantics, channels_last, batch-first float64 arrays)

IDENTITY_CLASSES = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomContrast", "RandomBrightness",
}
# RandomCrop is left out on purpose: at inference it centre-crops/resizes.

MODEL_CLASSES = {"Sequential", "Functional", "Model"}


def _check_channels_last(cls, cfg):
    df = cfg.get("data_format")
    if df not in (None, "channels_last"):
        raise Unsupported("%s %r uses data_format=%r" % (cls, cfg.get("name"), df))


def _same_pads(size, k, s):
    """TensorFlow 'SAME': out = ceil(size/s); the odd pixel goes bottom/right."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pad_hw(x, kh, kw, sh, sw, padding, value):
    if padding == "valid":
        return x
    if padding != "same":
        raise Unsupported("padding %r" % (padding,))
    t, b = _same_pads(x.shape[1], kh, sh)
    l, r = _same_pads(x.shape[2], kw, sw)
    if t == b == l == r == 0:
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


class Layer:
    """One layer of the chain: class name, config, weights, forward function."""

    def __init__(self, cls, cfg):
        self.cls = cls
        self.cfg = cfg
        self.name = cfg.get("name")
        self.weights = {}

    # names of the weights Keras creates for this layer, in
    # trainable + non-trainable order (keras Layer.save_own_variables)
    def expected_weights(self):
        c, cfg = self.cls, self.cfg
        if c in ("Dense", "Conv2D"):
            return ["kernel"] + (["bias"] if cfg.get("use_bias", True) else [])
        if c == "BatchNormalization":
            w = []
            if cfg.get("scale", True):
                w.append("gamma")
            if cfg.get("center", True):
                w.append("beta")
            return w + ["moving_mean", "moving_variance"]
        return []

    def validate(self):
        c, cfg = self.cls, self.cfg
        _check_channels_last(c, cfg)
        if c == "Conv2D":
            if _pair(cfg.get("dilation_rate", 1), "dilation_rate") != (1, 1):
                raise Unsupported("Conv2D %r has dilation_rate %r" % (self.name, cfg.get("dilation_rate")))
            if int(cfg.get("groups", 1)) != 1:
                raise Unsupported("Conv2D %r has groups=%r" % (self.name, cfg.get("groups")))
            activation_fn(cfg.get("activation"))
        elif c == "Dense":
            activation_fn(cfg.get("activation"))
        elif c == "Activation":
            activation_fn(cfg.get("activation"))
        elif c in ("MaxPooling2D", "AveragePooling2D"):
            if cfg.get("padding", "valid") not in ("valid", "same"):
                raise Unsupported("padding %r" % cfg.get("padding"))
        elif c in ("InputLayer", "Flatten", "Reshape", "Rescaling", "BatchNormalization",
                   "ReLU", "Softmax") or c in IDENTITY_CLASSES:
            pass
        else:
            raise Unsupported("layer class %s (%r)" % (c, self.name))

    def forward(self, x):
        c, cfg = self.cls, self.cfg
        if c == "InputLayer" or c in IDENTITY_CLASSES:
            return x
        if c == "Dense":
            y = np.matmul(x, self.weights["kernel"])
            if "bias" in self.weights:
                y = y + self.weights["bias"]
            return activation_fn(cfg.get("activation"))(y)
        if c == "Conv2D":
            return self._conv2d(x)
        if c in ("MaxPooling2D", "AveragePooling2D"):
            return self._pool(x, c == "MaxPooling2D")
        if c == "Flatten":
            return x.reshape(x.shape[0], -1)  # channels_last: row-major H, W, C
        if c == "Reshape":
            return x.reshape((x.shape[0],) + tuple(int(d) for d in cfg["target_shape"]))
        if c == "Rescaling":
            return x * np.asarray(cfg.get("scale", 1.0), dtype=np.float64) + \
                np.asarray(cfg.get("offset", 0.0), dtype=np.float64)
        if c == "Activation":
            return activation_fn(cfg.get("activation"))(x)
        if c == "ReLU":
            return self._relu_layer(x)
        if c == "Softmax":
            ax = cfg.get("axis", -1)
            if isinstance(ax, list):
                ax = tuple(ax)
            return _softmax(x, axis=ax)
        if c == "BatchNormalization":
            return self._batch_norm(x)
        raise Unsupported("layer class %s" % c)

    def _conv2d(self, x):
        cfg = self.cfg
        k = self.weights["kernel"]  # (kh, kw, in, out)
        kh, kw, cin, cout = k.shape
        if x.ndim != 4 or x.shape[3] != cin:
            raise LoadError("Conv2D %r: input shape %r does not fit kernel %r" % (self.name, x.shape, k.shape))
        sh, sw = _pair(cfg.get("strides", 1), "strides")
        xp = _pad_hw(x, kh, kw, sh, sw, cfg.get("padding", "valid"), 0.0)
        ho = (xp.shape[1] - kh) // sh + 1
        wo = (xp.shape[2] - kw) // sw + 1
        if ho <= 0 or wo <= 0:
            raise LoadError("Conv2D %r: input too small" % self.name)
        n = x.shape[0]
        # sliding windows: (n, ho', wo', cin, kh, kw), then keep every stride-th one
        win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
        win = win[:, ::sh, ::sw][:, :ho, :wo]
        # im2col: rows (n*ho*wo), columns ordered (kh, kw, cin) like the kernel
        cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * ho * wo, kh * kw * cin)
        y = cols @ k.reshape(kh * kw * cin, cout)
        y = y.reshape(n, ho, wo, cout)
        if "bias" in self.weights:
            y = y + self.weights["bias"]
        return activation_fn(cfg.get("activation"))(y)

    def _pool(self, x, is_max):
        cfg = self.cfg
        ph, pw = _pair(cfg.get("pool_size", 2), "pool_size")
        strides = cfg.get("strides")
        sh, sw = _pair(strides, "strides") if strides is not None else (ph, pw)
        padding = cfg.get("padding", "valid")
        if x.ndim != 4:
            raise LoadError("%s %r: input rank %d" % (self.cls, self.name, x.ndim))
        if is_max:
            xp = _pad_hw(x, ph, pw, sh, sw, padding, -np.inf)
            win = np.lib.stride_tricks.sliding_window_view(xp, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
            return win.max(axis=(4, 5))
        # average: padded cells are not counted (TensorFlow avg_pool SAME)
        xp = _pad_hw(x, ph, pw, sh, sw, padding, 0.0)
        ones = _pad_hw(np.ones((1,) + x.shape[1:3] + (1,)), ph, pw, sh, sw, padding, 0.0)
        win = np.lib.stride_tricks.sliding_window_view(xp, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
        cnt = np.lib.stride_tricks.sliding_window_view(ones, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
        return win.sum(axis=(4, 5)) / cnt.sum(axis=(4, 5))

    def _batch_norm(self, x):
        cfg = self.cfg
        ax = cfg.get("axis", -1)
        if isinstance(ax, list):
            if len(ax) != 1:
                raise Unsupported("BatchNormalization %r over axes %r" % (self.name, ax))
            ax = ax[0]
        ax = int(ax)
        if ax < 0:
            ax += x.ndim
        if ax != x.ndim - 1:
            raise Unsupported("BatchNormalization %r on axis %d of a rank-%d tensor (not the last)"
                              % (self.name, ax, x.ndim))
        eps = float(cfg.get("epsilon", 1e-3))
        w = self.weights
        y = (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + eps)
        if "gamma" in w:
            y = y * w["gamma"]
        if "beta" in w:
            y = y + w["beta"]
        return y

    def _relu_layer(self, x):
        cfg = self.cfg
        slope = float(cfg.get("negative_slope", 0.0) or 0.0)
        thr = float(cfg.get("threshold", 0.0) or 0.0)
        mx = cfg.get("max_value")
        y = np.where(x >= thr, x, slope * (x - thr))
        if mx is not None:
            y = np.minimum(y, float(mx))
        return y


# --------------------------------------------------------------------------
# model config -> flat chain of layers

def _inbound_names(layer_entry):
    nodes = layer_entry.get("inbound_nodes") or []
    if not nodes:
        return None
    if len(nodes) != 1:
        raise Unsupported("layer %r is called %d times (shared layer)" % (layer_entry.get("name"), len(nodes)))
    node = nodes[0]
    refs = []
    if isinstance(node, dict):  # Keras 3: {"args": [...__keras_tensor__...], "kwargs": {...}}
        def walk(v):
            if isinstance(v, dict):
                if v.get("class_name") == "__keras_tensor__":
                    refs.append(tuple(v["config"]["keras_history"]))
                    return
                for vv in v.values():
                    walk(vv)
            elif isinstance(v, list):
                for vv in v:
                    walk(vv)
        walk(node.get("args", []))
        walk(node.get("kwargs", {}))
    else:  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        for r in node:
            refs.append(tuple(r[:3]))
    return refs


def _io_list(v):
    if not v:
        return []
    if isinstance(v[0], str):  # single [name, node, tensor]
        return [tuple(v)]
    return [tuple(x) for x in v]


def _layer_name(entry):
    return entry.get("name") or entry.get("config", {}).get("name")


def _functional_chain(cfg):
    layers = cfg["layers"]
    by_name = {_layer_name(l): l for l in layers}
    ins = _io_list(cfg.get("input_layers"))
    outs = _io_list(cfg.get("output_layers"))
    if len(ins) != 1 or len(outs) != 1:
        raise Unsupported("Functional model with %d inputs and %d outputs" % (len(ins), len(outs)))
    chain = []
    name = outs[0][0]
    seen = set()
    while True:
        if name in seen or name not in by_name:
            raise Unsupported("Functional graph is not a plain chain (at %r)" % name)
        seen.add(name)
        entry = by_name[name]
        chain.append(entry)
        refs = _inbound_names(entry)
        if refs is None:
            break
        if len(refs) != 1 or tuple(refs[0][1:]) != (0, 0):
            raise Unsupported("Functional graph is not a plain chain: %r has inputs %r" % (name, refs))
        name = refs[0][0]
    chain.reverse()
    if _layer_name(chain[0]) != ins[0][0]:
        raise Unsupported("Functional chain does not start at the model input")
    if len(chain) != len(layers):
        extra = sorted(set(by_name) - seen)
        raise Unsupported("Functional graph is not a plain chain (layers off the chain: %r)" % extra)
    return chain


class Spec:
    """A layer of the flattened chain plus where its weights live."""

    def __init__(self, entry, k3_path, legacy_group):
        self.cls = entry["class_name"]
        self.cfg = entry.get("config", {})
        self.k3_path = k3_path          # e.g. ["layers", "conv2d"] or ["layers", "sequential", "layers", "dense"]
        self.legacy_group = legacy_group  # top-level legacy group holding its weights


def flatten_model(model_cfg, k3_prefix=(), legacy_group=None, top=True):
    """Return (input_shape or None, [Spec]) for a Sequential / plain-chain Functional config."""
    cls = model_cfg.get("class_name")
    cfg = model_cfg.get("config")
    if cls == "Sequential":
        entries = cfg if isinstance(cfg, list) else cfg["layers"]  # Keras 2.1.6: bare list
        order = list(entries)
        # Sequential.layers leaves out the InputLayer (keras saving_lib keys follow model.layers)
        container = [e for e in entries if e["class_name"] != "InputLayer"]
    elif cls in ("Functional", "Model"):
        order = _functional_chain(cfg)
        container = list(cfg["layers"])  # Functional.layers includes the InputLayer
    else:
        raise Unsupported("model class %r" % (cls,))
    # keras saving_lib._save_container_state: snake_case(class name) + "_<n>" counter
    keys = {}
    used = {}
    for e in container:
        k = to_snake_case(e["class_name"])
        if k in used:
            used[k] += 1
            k = "%s_%d" % (k, used[k])
        else:
            used[k] = 0
        keys[id(e)] = k

    input_shape = None
    specs = []
    for e in order:
        name = _layer_name(e)
        c = e["class_name"]
        ecfg = e.get("config", {})
        if input_shape is None:
            bs = ecfg.get("batch_shape") or ecfg.get("batch_input_shape")
            if bs is not None:
                input_shape = tuple(bs[1:])
        kp = list(k3_prefix) + ["layers", keys[id(e)]] if id(e) in keys else None
        lg = legacy_group if legacy_group is not None else name
        if c in MODEL_CLASSES:
            sub_shape, sub = flatten_model(e, kp, lg, top=False)
            if input_shape is None:
                input_shape = sub_shape
            specs.extend(sub)
            continue
        if c == "InputLayer" and not top:
            continue
        specs.append(Spec(e, kp, lg))
    return input_shape, specs


# --------------------------------------------------------------------------
# weight stores

class Keras3Weights:
    """model.weights.h5 of Keras 3 (and tf.keras 2.15 .keras, backslash names)."""

    def __init__(self, h5):
        self.h5 = h5

    def _group(self, path):
        p = "/".join(path)
        if p in self.h5:
            return self.h5[p]
        # tf.keras 2.15 on Windows: groups named "layers\\conv2d" at the top level
        for i in range(len(path), 0, -1):
            head = "\\".join(path[:i])
            if head in self.h5:
                rest = "/".join(path[i:])
                g = self.h5[head]
                if not rest:
                    return g
                if rest in g:
                    return g[rest]
        return None

    def load(self, spec, layer):
        expected = layer.expected_weights()
        g = self._group(spec.k3_path + ["vars"]) if spec.k3_path else None
        if g is None:
            if expected:
                raise LoadError("no weights group %r for layer %r" % ("/".join(spec.k3_path or []), layer.name))
            return
        if "name" in g.attrs and _s(g.attrs["name"]) != layer.name:
            sys.stderr.write("note: %s/vars @name=%r, config name %r\n"
                             % ("/".join(spec.k3_path), _s(g.attrs["name"]), layer.name))
        idx = sorted((k for k in g.keys()), key=int)
        if len(idx) != len(expected):
            if not expected:
                raise Unsupported("layer %s %r has %d stored weights" % (layer.cls, layer.name, len(idx)))
            raise LoadError("layer %r: %d stored weights, expected %r" % (layer.name, len(idx), expected))
        for n, i in zip(expected, idx):
            layer.weights[n] = np.asarray(g[i][()], dtype=np.float64)


class LegacyWeights:
    """Keras 2 / tf.keras HDF5: groups by layer name, order from weight_names."""

    def __init__(self, root):
        self.root = root
        self.layer_names = _str_list(root.attrs.get("layer_names"))
        self.by_topology = None

    def setup(self, specs, layers):
        """Keras matches by name; if names do not fit, fall back to topology order."""
        wanted = [(s, l) for s, l in zip(specs, layers) if l.expected_weights()]
        if all(s.legacy_group in self.root for s, _ in wanted):
            return
        with_w = [n for n in self.layer_names if _str_list(self.root[n].attrs.get("weight_names"))]
        if len(with_w) != len(wanted):
            missing = [s.legacy_group for s, _ in wanted if s.legacy_group not in self.root]
            raise LoadError("weights file has no groups for layers %r" % missing)
        sys.stderr.write("note: layer names differ from the weights file; matching by topology\n")
        self.by_topology = {id(s): n for (s, _), n in zip(wanted, with_w)}

    def load(self, spec, layer):
        expected = layer.expected_weights()
        gname = spec.legacy_group
        if self.by_topology is not None and id(spec) in self.by_topology:
            gname = self.by_topology[id(spec)]
        if gname not in self.root:
            if expected:
                raise LoadError("no weights group %r for layer %r" % (gname, layer.name))
            return
        g = self.root[gname]
        names = _str_list(g.attrs.get("weight_names"))
        if gname != layer.name and self.by_topology is None:  # inside a nested model's group
            names = [n for n in names if n.split("/")[0] == layer.name]
        if not expected:
            if names:
                raise Unsupported("layer %s %r has stored weights %r" % (layer.cls, layer.name, names))
            return
        got = {}
        for n in names:
            base = n.split("/")[-1]
            if base.endswith(":0"):
                base = base[:-2]
            got[base] = np.asarray(g[n][()], dtype=np.float64)
        if sorted(got) != sorted(expected):
            # fall back to order if the names are unusual
            if len(names) == len(expected):
                got = {e: np.asarray(g[n][()], dtype=np.float64) for e, n in zip(expected, names)}
            else:
                raise LoadError("layer %r: stored weights %r, expected %r" % (layer.name, names, expected))
        layer.weights.update(got)


# --------------------------------------------------------------------------
# opening files

def _is_zip(path):
    return zipfile.is_zipfile(path)


def _read_config(path):
    if _is_zip(path):
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json"))
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise LoadError("%s has no model_config attribute" % path)
            return json.loads(_s(f.attrs["model_config"]))
    with open(path, "r", encoding="utf-8") as fh:
        cfg = json.load(fh)
    if "class_name" not in cfg and "config" in cfg and isinstance(cfg["config"], dict):
        cfg = cfg["config"]
    return cfg


def open_model(model_path, config_path):
    """Return (model_config, weight_store, keepalive)."""
    if _is_zip(model_path):
        with zipfile.ZipFile(model_path) as z:
            cfg = json.loads(z.read("config.json"))
            blob = z.read("model.weights.h5")
        h5 = h5py.File(io.BytesIO(blob), "r")
        if config_path:
            cfg = _read_config(config_path)
        return cfg, Keras3Weights(h5), h5
    if not h5py.is_hdf5(model_path):
        raise LoadError("%s is neither a zip nor an HDF5 file" % model_path)
    h5 = h5py.File(model_path, "r")
    if "model_config" in h5.attrs:
        cfg = json.loads(_s(h5.attrs["model_config"]))
        if config_path:
            cfg = _read_config(config_path)
        return cfg, LegacyWeights(h5["model_weights"]), h5
    if not config_path:
        raise LoadError("%s holds weights only; pass --config" % model_path)
    cfg = _read_config(config_path)
    if "layer_names" in h5.attrs:
        return cfg, LegacyWeights(h5), h5
    if "layers" in h5 or "vars" in h5 or any(k.startswith("layers\\") for k in h5.keys()):
        return cfg, Keras3Weights(h5), h5
    raise LoadError("%s: unrecognised HDF5 layout" % model_path)


def build(model_path, config_path):
    cfg, store, keep = open_model(model_path, config_path)
    input_shape, specs = flatten_model(cfg)
    layers = [Layer(s.cls, s.cfg) for s in specs]
    for l in layers:
        l.validate()
    if isinstance(store, LegacyWeights):
        store.setup(specs, layers)
    for s, l in zip(specs, layers):
        store.load(s, l)
    keep.close()
    return input_shape, layers


def forward(layers, x):
    for l in layers:
        x = l.forward(x)
    return x


# --------------------------------------------------------------------------
# data

def _open_maybe_gz(path):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise LoadError("missing %s" % path)


def read_idx(path):
    with _open_maybe_gz(path) as fh:
        data = fh.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:
        raise LoadError("%s: not an unsigned-byte IDX file" % path)
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def default_data_dir(dataset):
    home = os.path.expanduser("~")
    if dataset == "mnist":
        cands = [os.path.join(home, ".xkeras", "datasets", "mnist")]
    else:
        cands = [os.path.join(home, ".xkeras", "datasets", "fashion_mnist"),
                 os.path.join(home, ".xkeras", "datasets", "fashion-mnist"),
                 "/usr/share/dataset-fashion-mnist", "/usr/share/fashion-mnist",
                 "/usr/share/datasets/fashion-mnist"]
    for c in cands:
        if os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte")) or \
                os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte.gz")):
            return c
    return cands[0]


def fit_images(images, input_shape):
    """Shape (n, 28, 28) images to the model input, as Keras would accept them."""
    n = images.shape[0]
    if input_shape is None or any(d is None for d in input_shape):
        raise Unsupported("model input shape %r is not fully known" % (input_shape,))
    if int(np.prod(input_shape)) != images[0].size:
        raise Unsupported("model input shape %r does not take %dx%d images (use --inputs)"
                          % (tuple(input_shape), images.shape[1], images.shape[2]))
    return images.reshape((n,) + tuple(input_shape))


def load_inputs(path):
    if path.endswith(".npy"):
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
    with open(path, "r", encoding="utf-8") as fh:
        return np.asarray(json.load(fh), dtype=np.float64)


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent numpy reference for Keras model files.")
    ap.add_argument("model")
    ap.add_argument("--config")
    ap.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    ap.add_argument("--data-dir")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--preprocess", choices=["raw", "unit"], default="raw")
    ap.add_argument("--inputs", help=".npy or JSON array (N, *input_shape) fed instead of a dataset")
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args(argv)
    if a.count < 0 or a.batch <= 0:
        ap.error("--count must be >= 0 and --batch > 0")

    try:
        input_shape, layers = build(a.model, a.config)
        out = {}
        if a.inputs:
            if a.accuracy:
                ap.error("--accuracy needs a dataset, not --inputs")
            x = load_inputs(a.inputs)
            if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
                x = x.reshape((x.shape[0],) + tuple(input_shape))
            x = x[:a.count]
            out["predictions"] = forward(layers, x).reshape(x.shape[0], -1).tolist()
        else:
            d = a.data_dir or default_data_dir(a.dataset)
            images = read_idx(os.path.join(d, "t10k-images-idx3-ubyte"))
            labels = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte")).astype(np.int64)
            x_all = images.astype(np.float64)
            if a.preprocess == "unit":
                x_all = x_all / 255.0
            x_all = fit_images(x_all, input_shape)
            n = min(a.count, x_all.shape[0])
            if a.accuracy:
                preds = []
                for i in range(0, x_all.shape[0], a.batch):
                    y = forward(layers, x_all[i:i + a.batch])
                    preds.append(y.reshape(y.shape[0], -1))
                y_all = np.concatenate(preds)
                first = y_all[:n]
                out["accuracy"] = float(np.mean(np.argmax(y_all, axis=1) == labels))
            else:
                y = forward(layers, x_all[:n])
                first = y.reshape(n, -1)
            out["predictions"] = first.tolist()
            out["labels"] = labels[:n].tolist()
            if "accuracy" in out:  # keep the documented key order
                out["accuracy"] = out.pop("accuracy")
        out["layers"] = [l.cls for l in layers]
    except Unsupported as e:
        sys.stderr.write("unsupported: %s\n" % e)
        return 3
    except (LoadError, OSError, KeyError, ValueError) as e:
        sys.stderr.write("error: %s: %s\n" % (type(e).__name__, e))
        return 1
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
