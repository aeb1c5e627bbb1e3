#!/usr/bin/env python3
"""Freeze scikit-learn's MiniBatchKMeans inertias on imbalanced data with
background noise, for shoal's mini-batch quality test.

usage: make_minibatch_golden.py SHOAL OUT.json
Needs numpy and scikit-learn.

Data, made by shoal's seeded generator (the test makes the same points in
memory and checks them against the sums recorded here):
  * spatial: `shoal gen spatial --rows 200k --k 12 --seed 7` (lat/lon around
    12 cities of Zipf-distributed sizes, 5% uniform noise);
  * blobs32: `shoal gen blobs --rows 100k --dim 32 --k 12 --zipf 1.1
    --noise 0.05 --seed 7` (the same imbalance and noise in 32-D).
For seeds 0..19: MiniBatchKMeans(12, batch_size=1024, n_init=3,
random_state=seed).fit(X) on the float32 points; its inertia_ (over every
row). The test divides these and shoal's by the best of 10 Lloyd runs.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import sklearn
from sklearn.cluster import MiniBatchKMeans

SETS = {
    "spatial": ["gen", "spatial", "--rows", "200k", "--k", "12", "--seed", "7"],
    "blobs32": ["gen", "blobs", "--rows", "100k", "--dim", "32", "--k", "12", "--zipf", "1.1", "--noise", "0.05", "--seed", "7"],
}


def main():
    shoal, out = sys.argv[1], sys.argv[2]
    result = {"sklearn": sklearn.__version__, "k": 12, "batch_size": 1024, "n_init": 3, "sets": {}}
    with tempfile.TemporaryDirectory() as d:
        for name, gen in SETS.items():
            path = os.path.join(d, name + ".npy")
            subprocess.run([shoal] + gen + ["--out", path, "-q"], check=True, stdout=subprocess.DEVNULL)
            x = np.load(path)
            inertias = []
            for s in range(20):
                m = MiniBatchKMeans(12, batch_size=1024, n_init=3, random_state=s).fit(x)
                inertias.append(float(m.inertia_))
            result["sets"][name] = {
                "command": "shoal " + " ".join(gen),
                "rows": int(x.shape[0]),
                "dim": int(x.shape[1]),
                "sum": float(x.astype(np.float64).sum()),
                "sklearn_inertia": inertias,
            }
            print(name, np.median(inertias), file=sys.stderr)
    json.dump(result, open(out, "w"), indent=1)


main()
