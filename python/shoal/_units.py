"""Sizes as the command line writes them: 256MiB, 2GiB, 500MB or bytes."""

from __future__ import annotations

import numbers
from typing import Any

_UNITS = {
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "b": 1,
}


def parse_memory(memory: Any) -> int:
    """Bytes of a size given as an int or a string such as ``"256MiB"``."""
    if isinstance(memory, numbers.Integral):
        if memory <= 0:
            raise ValueError(f"memory must be > 0 bytes, got {memory}")
        return int(memory)
    s = str(memory).strip().lower()
    unit = next((u for u in _UNITS if s.endswith(u)), "b")
    num, size = s.removesuffix(unit).strip(), _UNITS[unit]
    try:
        v = float(num) * size
    except ValueError:
        raise ValueError(f"memory {memory!r}: expected a size such as '256MiB' or '2GiB'") from None
    if not v > 0:
        raise ValueError(f"memory must be > 0, got {memory!r}")
    return int(v)
