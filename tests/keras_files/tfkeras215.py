#!/usr/bin/python3
"""Writes the model of a Keras 3 Sequential `.keras` file again as tf.keras 2.15 writes it, with
h5py, zipfile and json alone: the same weights and optimizer state in 2.15's layouts.

No tf.keras 2.15 file is in tests/keras_files (LAYOUT.md describes two kept back: k2_07, a
`.keras` written on Windows, and h5_08, a legacy `.h5`), and TensorFlow is not installed here.
This script follows tf.keras 2.15's writers (keras-team/keras at v2.15.0:
keras/saving/saving_lib.py, keras/saving/legacy/hdf5_format.py and saving_utils.py, the layers'
get_config, optimizers/optimizer.py and adam.py) and LAYOUT.md's description of those files:

  --layout windows  `.keras` as written on Windows: saving_lib joins the paths of the weights
                    groups with os.path's separator, so each layer's group is one top-level
                    group named `layers\\<key>` (holding `vars`); no @name attributes; the
                    metrics' state under `metrics\\mean` and `metrics\\mean_metric_wrapper`;
                    `optimizer/vars` holds the step count then m, v of each weight (no
                    learning rate); config.json in 2.15's form (`batch_input_shape`, dtype
                    "float32", the compile arguments as the user gave them: optimizer "adam").
  --layout linux    the same `.keras` with `/` as the separator (nested groups).
  --layout h5       legacy full model (`model.save("m.h5")`): @model_config in the legacy form,
                    @training_config with the loss object, the metrics wrapped as
                    [[MeanMetricWrapper]] and the optimizer as "Custom>Adam";
                    /model_weights with `layer/kernel:0` names and `top_level_model_weights`;
                    /optimizer_weights `iteration:0`, `Adam/m/<layer>/kernel:0`, `Adam/v/...`;
                    name lists as variable-length strings (as LAYOUT.md reads h5_08).

  --sgd             the model compiled with SGD (no momentum) instead of Adam: 2.15's SGD keeps a
                    momentum slot per weight even so (zeros), after the step count.

Supported source layers: InputLayer, Conv2D, MaxPooling2D, Flatten, Dense, Dropout; Adam.
Usage: tfkeras215.py SOURCE.keras OUT --layout windows|linux|h5 [--sgd]
"""
import argparse
import io
import json
import sys
import zipfile

import h5py
import numpy as np


def initializer(cfg):
    """A Keras 3 initializer config as 2.15 serializes it (the module is kept even in the
    legacy form: 2.15's layers serialize their initializers with serialization_lib)."""
    return {"module": "keras.initializers", "class_name": cfg["class_name"],
            "config": cfg.get("config", {}), "registered_name": None}


def kernel_options(c):
    """The initializers, regularizers and constraints of a Conv2D or Dense config in 2.15's
    form (none of the latter set)."""
    out = {"kernel_initializer": initializer(c["kernel_initializer"]),
           "bias_initializer": initializer(c["bias_initializer"])}
    for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint"):
        out[k] = None
    return out


def layer_config(cls, c):
    """tf.keras 2.15's get_config of a layer, from the Keras 3 config `c`."""
    out = {"name": c["name"], "trainable": c.get("trainable", True), "dtype": "float32"}
    if cls == "Conv2D":
        for k in ("filters", "kernel_size", "strides", "padding", "data_format",
                  "dilation_rate", "groups", "activation", "use_bias"):
            out[k] = c[k]
        out.update(kernel_options(c))
    elif cls == "MaxPooling2D":
        for k in ("pool_size", "padding", "strides", "data_format"):
            out[k] = c[k]
    elif cls == "Flatten":
        out["data_format"] = c.get("data_format", "channels_last")
    elif cls == "Dense":
        for k in ("units", "activation", "use_bias"):
            out[k] = c[k]
        out.update(kernel_options(c))
    elif cls == "Dropout":
        out.update(rate=c["rate"], noise_shape=c.get("noise_shape"), seed=c.get("seed"))
    else:
        sys.exit(f"tfkeras215.py: layer {cls} is not supported")
    return out


def output_shape(cls, c, shape):
    """The output shape of a layer for its build_config (batch dimension None)."""
    if cls == "Conv2D" or cls == "MaxPooling2D":
        k = c["kernel_size"] if cls == "Conv2D" else c["pool_size"]
        s = c["strides"] if c.get("strides") else k
        dims = []
        for i in range(2):
            n = shape[1 + i]
            dims.append(-(-n // s[i]) if c["padding"] == "same" else (n - k[i]) // s[i] + 1)
        return [None, dims[0], dims[1], c["filters"] if cls == "Conv2D" else shape[3]]
    if cls == "Flatten":
        return [None, int(np.prod(shape[1:]))]
    if cls == "Dense":
        return shape[:-1] + [c["units"]]
    return shape


def read_source(path):
    """The Keras 3 file's layers (class, config), input shape, weights per layer and optimizer
    variables."""
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        h5 = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    layers = [(l["class_name"], l["config"]) for l in config["config"]["layers"]]
    assert layers[0][0] == "InputLayer"
    batch_shape = layers[0][1]["batch_shape"]
    layers = layers[1:]
    keys, used = [], {}
    for cls, _ in layers:  # Keras's group keys: snake-cased class, counted in layer order
        snake = {"Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d", "Flatten": "flatten",
                 "Dense": "dense", "Dropout": "dropout"}[cls]
        keys.append(snake if snake not in used else f"{snake}_{used[snake]}")
        used[snake] = used.get(snake, 0) + 1
    weights = []
    for key in keys:
        g = h5["layers"][key]["vars"]
        weights.append([g[str(i)][()] for i in range(len(g))])
    opt = h5["optimizer"]["vars"]
    optimizer = [opt[str(i)][()] for i in range(len(opt))]
    return config, layers, batch_shape, keys, weights, optimizer


WEIGHT_NAMES = {"Conv2D": ["kernel", "bias"], "Dense": ["kernel", "bias"]}
ADAM_215 = {"name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
            "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
            "ema_overwrite_frequency": None, "jit_compile": False, "is_legacy_optimizer": False}


def adam_config(k3):
    c = dict(ADAM_215)
    for k in ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"):
        c[k] = k3[k]
    return c


def layer_entries(layers, batch_shape, legacy):
    first = layers[0][1]["name"]
    entries = [{"class_name": "InputLayer",
                "config": {"batch_input_shape": batch_shape, "dtype": "float32",
                           "sparse": False, "ragged": False, "name": f"{first}_input"}}]
    shape = list(batch_shape)
    for i, (cls, c) in enumerate(layers):
        cfg = layer_config(cls, c)
        if i == 0:  # built from input_shape=: the first layer keeps it
            cfg = {**{k: cfg[k] for k in ("name", "trainable", "dtype")},
                   "batch_input_shape": batch_shape,
                   **{k: v for k, v in cfg.items() if k not in ("name", "trainable", "dtype")}}
        entry = {"class_name": cls, "config": cfg}
        if not legacy:
            entry = {"module": "keras.layers", **entry, "registered_name": None,
                     "build_config": {"input_shape": shape}}
        entries.append(entry)
        shape = output_shape(cls, c, shape)
    if not legacy:
        entries[0] = {"module": "keras.layers", **entries[0], "registered_name": None}
    return entries


def optimizer_values(optimizer, n, sgd):
    """Keras 3's variables (step, rate, m0, v0, m1, v1, ...) as 2.15 keeps them: the step
    count, then m0, v0, m1, v1, ... (2.15's learning rate is not an optimizer variable). With
    `sgd`, the step count and a zero momentum of each weight (m0's shape)."""
    assert len(optimizer) == 2 + 2 * n
    if sgd:
        return [np.int64(optimizer[0])] + [np.zeros_like(m) for m in optimizer[2::2]]
    return [np.int64(optimizer[0])] + optimizer[2:]


def write_dot_keras(out, config, layers, batch_shape, keys, weights, optimizer, sep, sgd):
    name = config["config"]["name"]
    model_config = {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": name, "layers": layer_entries(layers, batch_shape, False)},
        "registered_name": None, "build_config": {"input_shape": batch_shape},
        # 2.15 records compile()'s arguments as given: here the string "adam"
        "compile_config": {"optimizer": "sgd" if sgd else "adam", "loss": config["compile_config"]["loss"],
                           "metrics": ["accuracy"], "loss_weights": None,
                           "weighted_metrics": None, "run_eagerly": None,
                           "steps_per_execution": None, "jit_compile": None}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars")
        for key, values in zip(keys, weights):
            g = f.create_group(f"layers{sep}{key}").create_group("vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v)
        for metric in ("mean", "mean_metric_wrapper"):  # total and count, float32
            g = f.create_group(f"metrics{sep}{metric}").create_group("vars")
            g.create_dataset("0", data=np.float32(123.5))
            g.create_dataset("1", data=np.float32(1000.0))
        g = f.create_group("optimizer").create_group("vars")
        for i, v in enumerate(optimizer_values(optimizer, sum(len(w) for w in weights), sgd)):
            g.create_dataset(str(i), data=v)
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("metadata.json",
                   json.dumps({"keras_version": "2.15.0", "date_saved": "2024-01-15@10:20:30"}))
        z.writestr("config.json", json.dumps(model_config))
        z.writestr("model.weights.h5", buffer.getvalue())


def write_h5(out, config, layers, batch_shape, weights, optimizer, sgd):
    vlen = h5py.string_dtype("utf-8")
    names = [c["name"] for _, c in layers]
    model_config = {"class_name": "Sequential",
                    "config": {"name": config["config"]["name"],
                               "layers": layer_entries(layers, batch_shape, True)}}
    k3_loss = config["compile_config"]["loss"]
    assert k3_loss == "sparse_categorical_crossentropy"
    training_config = {
        "loss": {"class_name": "SparseCategoricalCrossentropy",
                 "config": {"reduction": "auto", "name": "sparse_categorical_crossentropy",
                            "from_logits": False, "ignore_class": None}},
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "dtype": "float32",
                                 "fn": "sparse_categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Custom>Adam",
                             "config": adam_config(
                                 config["compile_config"]["optimizer"]["config"])}}
    if sgd:
        training_config["optimizer_config"] = {
            "class_name": "Custom>SGD",
            "config": {**ADAM_215, "name": "SGD", "learning_rate": 0.009999999776482582,
                       "momentum": 0.0, "nesterov": False}}
    with h5py.File(out, "w") as f:
        f.attrs["backend"] = "tensorflow".encode()
        f.attrs["keras_version"] = "2.15.0".encode()
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["training_config"] = json.dumps(training_config).encode()
        mw = f.create_group("model_weights")
        mw.attrs.create("layer_names", names, dtype=vlen)
        mw.attrs["backend"] = "tensorflow".encode()
        mw.attrs["keras_version"] = "2.15.0".encode()
        by_name = dict(zip(names, zip(layers, weights)))
        for n in sorted(names):
            (cls, _), values = by_name[n]
            g = mw.create_group(n)
            wn = [f"{n}/{w}:0" for w in WEIGHT_NAMES.get(cls, [])]
            if wn:
                g.attrs.create("weight_names", wn, dtype=vlen)
            else:
                g.attrs["weight_names"] = np.asarray([])
            for w, v in zip(wn, values):
                g.create_dataset(w, data=v)
        mw.create_group("top_level_model_weights").attrs["weight_names"] = np.asarray([])
        og = f.create_group("optimizer_weights")
        slot_names = ["iteration:0"]
        for (cls, c), values in zip(layers, weights):
            for w in WEIGHT_NAMES.get(cls, []):
                slot_names += ([f"SGD/m/{c['name']}/{w}:0"] if sgd else
                               [f"Adam/m/{c['name']}/{w}:0", f"Adam/v/{c['name']}/{w}:0"])
        og.attrs.create("weight_names", slot_names, dtype=vlen)
        values = optimizer_values(optimizer, sum(len(w) for w in weights), sgd)
        for n, v in zip(slot_names, values):
            og.create_dataset(n, data=v)


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--layout", choices=["windows", "linux", "h5"], required=True)
    parser.add_argument("--sgd", action="store_true")
    a = parser.parse_args()
    config, layers, batch_shape, keys, weights, optimizer = read_source(a.source)
    if a.layout == "h5":
        write_h5(a.out, config, layers, batch_shape, weights, optimizer, a.sgd)
    else:
        write_dot_keras(a.out, config, layers, batch_shape, keys, weights, optimizer,
                        "\\" if a.layout == "windows" else "/", a.sgd)


if __name__ == "__main__":
    main()
