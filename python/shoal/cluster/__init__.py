"""scipy.cluster's API on shoal's kernels: ``vq`` and ``hierarchy``."""

from . import hierarchy, vq

__all__ = ["hierarchy", "vq"]
