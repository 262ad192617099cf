#!/usr/bin/python3
"""Prints the layout of a Keras 3 file as JSON, read with zipfile and h5py alone: the zip
entries (name, compression), metadata.json's and config.json's top-level keys, and every HDF5
group and dataset of the weights: path, attributes (value and whether a variable-length UTF-8
string), dataset shape and dtype, chunking and compression.
Usage: layout.py FILE.keras|FILE.weights.h5"""
import io
import json
import sys
import zipfile

import h5py


def weights_layout(source):
    out = {}
    with h5py.File(source, "r") as f:
        def visit(name, obj):
            attrs = {}
            for key in obj.attrs:
                value = obj.attrs[key]
                info = h5py.check_string_dtype(obj.attrs.get_id(key).dtype)
                attrs[key] = {"value": value.decode() if isinstance(value, bytes) else str(value),
                              "string": None if info is None else
                              {"encoding": info.encoding, "variable": info.length is None}}
            entry = {"attrs": attrs}
            if isinstance(obj, h5py.Dataset):
                entry.update(kind="dataset", shape=list(obj.shape), dtype=str(obj.dtype),
                             chunks=obj.chunks, compression=obj.compression)
            else:
                entry["kind"] = "group"
            out[name] = entry
        visit("/", f)
        f.visititems(visit)
    return out


def main(path):
    layout = {}
    if zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        layout["entries"] = [{"name": i.filename, "compress_type": i.compress_type}
                             for i in z.infolist()]
        layout["metadata_keys"] = sorted(json.loads(z.read("metadata.json")))
        layout["config_keys"] = sorted(json.loads(z.read("config.json")))
        layout["weights"] = weights_layout(io.BytesIO(z.read("model.weights.h5")))
    else:
        layout["weights"] = weights_layout(path)
    json.dump(layout, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
