"""scikit-learn's estimator base classes when it is installed, else a
minimal stand-in with the same parameter handling (scikit-learn is an
optional dependency)."""

from __future__ import annotations

import inspect
from typing import Any

try:  # pragma: no cover - depends on the environment
    from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover
    HAVE_SKLEARN = False

    class BaseEstimator:  # type: ignore[no-redef]
        """get_params/set_params from the ``__init__`` signature."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(
                p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD
            )

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params: Any) -> BaseEstimator:
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"Invalid parameter {k!r} for estimator {self}.")
                setattr(self, k, v)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class ClusterMixin:  # type: ignore[no-redef]
        _estimator_type = "clusterer"

        def fit_predict(self, X: Any, y: Any = None, **kw: Any) -> Any:
            self.fit(X, **kw)  # type: ignore[attr-defined]
            return self.labels_  # type: ignore[attr-defined]

    class TransformerMixin:  # type: ignore[no-redef]
        def fit_transform(self, X: Any, y: Any = None, **kw: Any) -> Any:
            return self.fit(X, **kw).transform(X)  # type: ignore[attr-defined]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit`` (scikit-learn's type
    when it is installed)."""


try:  # pragma: no cover
    from sklearn.exceptions import NotFittedError as _SkNotFitted

    NotFittedError = _SkNotFitted  # type: ignore[misc]
except ImportError:  # pragma: no cover
    pass
