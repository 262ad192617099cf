#!/usr/bin/python3
"""Prints the optimizer variables of a Keras file as JSON, read with h5py alone:
[{"index": i, "name": n, "shape": [...], "sum": s, "first": v}, ...]. For a Keras 3 file in
index order (0 the step count, 1 the learning rate, then the slots; "name" is the index); for a
legacy .h5 file in the order of /optimizer_weights' weight_names, "name" the listed name.
Usage: optimizer_vars.py FILE.keras|FILE.weights.h5|FILE.h5"""
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
    def describe(index, name, value):
        flat = value.reshape(-1) if value.ndim else value.reshape(1)
        return {"index": index, "name": name, "shape": list(value.shape),
                "sum": float(flat.astype("float64").sum()), "first": float(flat[0])}

    with h5py.File(source, "r") as f:
        out = []
        if "optimizer_weights" in f:  # legacy: the order of weight_names, not of the listing
            group = f["optimizer_weights"]
            for i, name in enumerate(group.attrs["weight_names"]):
                name = name.decode() if isinstance(name, bytes) else str(name)
                out.append(describe(i, name, group[name][()]))
        else:
            group = f["optimizer/vars"]
            for name in sorted(group.keys(), key=int):  # "10" sorts after "9", not after "1"
                out.append(describe(int(name), name, group[name][()]))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
