#!/usr/bin/python3
"""Prints the optimizer variables of a Keras 3 file as JSON, read with h5py alone:
[{"index": i, "shape": [...], "sum": s, "first": v}, ...] in index order (0 the step count,
1 the learning rate, then the slots). Usage: optimizer_vars.py FILE.keras|FILE.weights.h5"""
import io
import json
import sys
import zipfile

import h5py


def main(path):
    if zipfile.is_zipfile(path):
        source = io.BytesIO(zipfile.ZipFile(path).read("model.weights.h5"))
    else:
        source = path
    with h5py.File(source, "r") as f:
        group = f["optimizer/vars"]
        out = []
        for name in sorted(group.keys(), key=int):  # "10" sorts after "9", not after "1"
            value = group[name][()]
            flat = value.reshape(-1) if value.ndim else value.reshape(1)
            out.append({"index": int(name), "shape": list(value.shape),
                        "sum": float(flat.astype("float64").sum()), "first": float(flat[0])})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
