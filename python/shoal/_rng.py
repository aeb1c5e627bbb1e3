"""scipy's random-state conventions (``check_random_state`` and the
``seed`` -> ``rng`` transition of SPEC 7), without importing scipy."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def check_random_state(seed: Any) -> np.random.RandomState | np.random.Generator:
    """None (or ``np.random``): the global RandomState; an int: a new one;
    a RandomState or Generator: itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral | np.integer):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState | np.random.Generator):
        return seed
    raise ValueError(f"'{seed}' cannot be used to seed a numpy.random.RandomState instance")


def transition_to_rng(old_name: str) -> Callable[[F], F]:
    """``old_name=`` keeps its legacy meaning (``check_random_state``);
    ``rng=`` is validated by ``np.random.default_rng``; not both."""

    def deco(fun: F) -> F:
        @functools.wraps(fun)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old_name in kwargs:
                if "rng" in kwargs:
                    raise TypeError(
                        f"{fun.__name__}() got an unexpected keyword argument "
                        f"'{old_name}' with 'rng'; use only 'rng'"
                    )
                kwargs["rng"] = kwargs.pop(old_name)
            elif kwargs.get("rng") is not None:
                kwargs["rng"] = np.random.default_rng(kwargs["rng"])
            return fun(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco
