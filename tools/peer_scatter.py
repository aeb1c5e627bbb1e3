#!/usr/bin/env python3
"""Time datashader's and matplotlib's scatter plots of a 2-D .npy file
with labels, as shoal plot scatter draws them.

usage: peer_scatter.py datashader|matplotlib X.npy LABELS.npy OUT.png [WxH]
Needs numpy, pandas and datashader, or matplotlib. Prints one JSON line:
seconds of loading + drawing + saving, and the process's peak RSS.
"""
import json
import resource
import sys
import time

import numpy as np


def main():
    tool, xp, lp, out = sys.argv[1:5]
    w, h = (int(v) for v in (sys.argv[5] if len(sys.argv) > 5 else "1000x800").split("x"))
    t0 = time.perf_counter()
    x = np.load(xp)
    lab = np.load(lp).astype(np.int64)
    if tool == "datashader":
        import datashader as ds
        import datashader.transfer_functions as tf
        import pandas as pd

        df = pd.DataFrame({"x": x[:, 0], "y": x[:, 1], "c": pd.Categorical(lab)})
        canvas = ds.Canvas(plot_width=w, plot_height=h)
        agg = canvas.points(df, "x", "y", ds.count_cat("c"))
        img = tf.spread(tf.shade(agg, how="eq_hist"), px=1)
        img.to_pil().save(out)
    elif tool == "matplotlib":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
        ax.scatter(x[:, 0], x[:, 1], c=lab, cmap="tab10", s=2)
        fig.savefig(out)
    else:
        raise SystemExit(f"unknown tool {tool}")
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"tool": tool, "n": int(len(x)), "seconds": secs, "peak_rss_bytes": rss}))


main()
