"""A pytest plugin that runs scipy's own cluster tests against shoal: before
collection, ``scipy.cluster.hierarchy`` and ``scipy.cluster.vq`` are
replaced by modules holding shoal's public functions. Private names the
tests reach into (``_hierarchy``, ``_LINKAGE_METHODS``, ``_krandinit``...)
stay scipy's: those tests exercise scipy's internals, not the API.

    python -m pytest -p swap_scipy_cluster --pyargs scipy.cluster.tests
"""

from __future__ import annotations

import sys
import types


def pytest_configure(config):  # noqa: ARG001 - pytest's hook signature
    import scipy.cluster
    import scipy.cluster.hierarchy as theirs_h
    import scipy.cluster.vq as theirs_v
    from scipy._lib._array_api import xp_capabilities_table

    import shoal.cluster.hierarchy as ours_h
    import shoal.cluster.vq as ours_v

    for name, theirs, ours in (("hierarchy", theirs_h, ours_h), ("vq", theirs_v, ours_v)):
        m = types.ModuleType(f"scipy.cluster.{name}")
        for k in dir(theirs):
            if k.startswith("_") and not k.startswith("__"):
                setattr(m, k, getattr(theirs, k))
        for k in ours.__all__:
            f = getattr(ours, k)
            setattr(m, k, f)
            # the tests' array-API marks are looked up by function
            theirs_f = getattr(theirs, k, None)
            if theirs_f in xp_capabilities_table:
                xp_capabilities_table[f] = xp_capabilities_table[theirs_f]
        missing = sorted(k for k in theirs.__all__ if k not in ours.__all__)
        if missing:
            print(f"shoal.cluster.{name} lacks {missing}", file=sys.stderr)
        m.__shoal__ = True
        sys.modules[f"scipy.cluster.{name}"] = m
        setattr(scipy.cluster, name, m)


def pytest_collection_finish(session):
    """Every collected scipy test module must hold shoal's functions."""
    import shoal.cluster.hierarchy as ours_h
    import shoal.cluster.vq as ours_v

    for name, ours, probe in (("test_hierarchy", ours_h, "linkage"), ("test_vq", ours_v, "kmeans2")):
        mod = sys.modules.get(f"scipy.cluster.tests.{name}")
        if mod is not None and getattr(mod, probe) is not getattr(ours, probe):
            raise RuntimeError(f"scipy.cluster.tests.{name}.{probe} is not shoal's: the swap did not take")
    print(f"\nscipy's cluster tests, run against shoal: {len(session.items)} collected", file=sys.stderr)
