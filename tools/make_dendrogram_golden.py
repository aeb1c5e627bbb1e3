#!/usr/bin/env python3
"""Freeze scipy's dendrogram layout (icoord, dcoord, color_list, ivl,
leaves) for a tree with truncation and an explicit colour threshold.

usage: make_dendrogram_golden.py OUT_DIR
Needs numpy and scipy.

Z: ward linkage of 60 seeded 2-D points in 4 groups (Z_dendro.npy).
Cases: dendrogram(Z, color_threshold=T) with T = 0.4 x the top height;
dendrogram(Z, truncate_mode="lastp", p=12, color_threshold=T);
dendrogram(Z, truncate_mode="level", p=3) (default threshold).
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.cluster.hierarchy import dendrogram, linkage


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(21)
    centres = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0], [9.0, 8.0]])
    x = centres[rng.integers(0, 4, size=60)] + rng.normal(0.0, 1.0, size=(60, 2))
    z = linkage(x, "ward")
    np.save(os.path.join(out, "Z_dendro.npy"), z)
    t = 0.4 * z[-1, 2]
    cases = {}
    for name, kw in [
        ("full_threshold", {"color_threshold": t}),
        ("lastp12_threshold", {"truncate_mode": "lastp", "p": 12, "color_threshold": t}),
        ("level3", {"truncate_mode": "level", "p": 3}),
    ]:
        d = dendrogram(z, no_plot=True, **kw)
        cases[name] = {
            "params": {k: v for k, v in kw.items()},
            "icoord": d["icoord"],
            "dcoord": d["dcoord"],
            "color_list": d["color_list"],
            "ivl": d["ivl"],
            "leaves": d["leaves"],
        }
    json.dump({"scipy": scipy.__version__, "cases": cases}, open(os.path.join(out, "dendrogram.json"), "w"))


main()
