"""scipy's own cluster test suite (scipy/cluster/tests/test_hierarchy.py and
test_vq.py, as installed with scipy) run against shoal: the modules under
test are swapped for shoal's (see scipy_suite/swap_scipy_cluster.py)."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("scipy")

HERE = pathlib.Path(__file__).parent / "scipy_suite"

# Tests of scipy's suite that fail against shoal, with the reason. Empty:
# every test passes (scipy 1.17).
KNOWN_FAILURES: dict[str, str] = {}


def test_scipys_cluster_tests_pass_against_shoal():
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "swap_scipy_cluster",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rf",
            "--pyargs",
            "scipy.cluster.tests.test_hierarchy",
            "scipy.cluster.tests.test_vq",
        ],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = r.stdout + r.stderr
    assert "run against shoal" in out, out[-3000:]
    failed = set(re.findall(r"^FAILED \S+::(\S+)", out, re.M))
    assert failed == set(KNOWN_FAILURES), out[-3000:]
    passed = int(re.search(r"(\d+) passed", out).group(1))
    assert passed >= 150, out[-3000:]
