#!/usr/bin/env python3
"""Predictions of a Keras LSTM model by PyTorch: an independent reference for xkeras's LSTM.

Reads a weights-only legacy .h5 file (Keras 2's save_weights) and the model's JSON with h5py
and json, builds each layer in PyTorch (torch.nn.LSTM with Keras's kernels converted: PyTorch's
weight_ih is Keras's kernel transposed, both in the gate order i, f, c/g, o; Keras has one bias,
so bias_hh is zero), and prints {"predictions": [...]} for the inputs of --inputs (a nested JSON
array (N, steps, features)), computed in float64. Keras's load_weights matches the file's layers
with weights to the model's in order, as here.

Knows InputLayer, LSTM (tanh / sigmoid, return_sequences), Dropout (the identity at inference),
Dense and Activation (linear, relu, tanh, sigmoid, softmax); anything else is refused by name.

  lstm_reference.py WEIGHTS.h5 --config MODEL.json --inputs INPUTS.json
"""
import argparse
import json
import sys

import h5py
import numpy as np
import torch


def activation(name, h):
    if name in (None, "linear"):
        return h
    if name == "relu":
        return torch.relu(h)
    if name == "tanh":
        return torch.tanh(h)
    if name == "sigmoid":
        return torch.sigmoid(h)
    if name == "softmax":
        return torch.softmax(h, dim=-1)
    sys.exit(f"lstm_reference.py: activation {name!r} is not known here")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--config", required=True)
    parser.add_argument("--inputs", required=True)
    args = parser.parse_args()

    with open(args.config) as f:
        layers = [l for l in json.load(f)["config"]["layers"] if l["class_name"] != "InputLayer"]
    with open(args.inputs) as f:
        h = torch.tensor(np.array(json.load(f), dtype=np.float64))

    weights = h5py.File(args.weights, "r")
    names = [n.decode() for n in weights.attrs["layer_names"]]
    with_weights = iter([n for n in names if len(weights[n].attrs["weight_names"]) > 0])

    def next_weights():
        group = weights[next(with_weights)]
        return [np.array(group[n.decode()], dtype=np.float64) for n in group.attrs["weight_names"]]

    with torch.no_grad():
        for layer in layers:
            kind, config = layer["class_name"], layer["config"]
            if kind == "LSTM":
                if config.get("activation") != "tanh" or config.get("recurrent_activation") != "sigmoid":
                    sys.exit("lstm_reference.py: only tanh / sigmoid LSTMs (PyTorch's)")
                kernel, recurrent, bias = next_weights()
                lstm = torch.nn.LSTM(kernel.shape[0], recurrent.shape[0], batch_first=True).double()
                lstm.weight_ih_l0.copy_(torch.tensor(kernel.T))
                lstm.weight_hh_l0.copy_(torch.tensor(recurrent.T))
                lstm.bias_ih_l0.copy_(torch.tensor(bias))
                lstm.bias_hh_l0.zero_()
                out, _ = lstm(h)
                h = out if config.get("return_sequences") else out[:, -1, :]
            elif kind == "Dropout":
                pass
            elif kind == "Dense":
                kernel, bias = next_weights()
                h = activation(config.get("activation"), h @ torch.tensor(kernel) + torch.tensor(bias))
            elif kind == "Activation":
                h = activation(config.get("activation"), h)
            else:
                sys.exit(f"lstm_reference.py: layer class {kind!r} is not known here")
    print(json.dumps({"predictions": h.tolist()}))


if __name__ == "__main__":
    main()
