import gzip
import json
import pathlib

import numpy as np
import pytest

SHARED = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def scipy_cases():
    path = SHARED / "scipy_cluster" / "cases.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests read ../shared/data beside the checkout")
    return json.loads(path.read_text())


def as_array(all_cases, v):
    """An input given by name (from `inputs`, or another case's expected) or inline."""
    if isinstance(v, str):
        name = v.split(" ")[0]
        if name in all_cases["inputs"]:
            return np.asarray(all_cases["inputs"][name]["data"], dtype=float)
        for c in all_cases["cases"]:
            if c["id"] == name:
                return np.asarray(c["expected"], dtype=float)
        raise KeyError(v)
    return np.asarray(v, dtype=float)


def clustbench(name):
    """A clustbench set (points, reference labels0) from ../shared/data."""
    with gzip.open(SHARED / "clustbench" / f"{name}.data.gz", "rt") as f:
        x = np.loadtxt(f)
    with gzip.open(SHARED / "clustbench" / f"{name}.labels0.gz", "rt") as f:
        y = np.loadtxt(f).astype(int)
    return x, y
