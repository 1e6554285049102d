"""Sigma Lab: from raw bars to a trustworthy, reproducible leaderboard and live signals.

The pipeline's entry points are importable from here: ``sigma_lab.build_matrix(model_id)``,
``sigma_lab.train(model_id)``, ``sigma_lab.sweep(bars, "sma_cross", grid=...)`` and
``sigma_lab.leaderboard(...)``. Heavy modules load on first use.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("sigma-lab")
except PackageNotFoundError:
    __version__ = "0.0.0+local"

_EXPORTS = {
    "build_matrix": ("sigma_lab.matrix", "build_matrix"),
    "load_matrix": ("sigma_lab.matrix", "load_matrix"),
    "leaderboard": ("sigma_lab.sweep", "leaderboard"),
}

#: Subpackages that are also callable: ``sigma_lab.train(model_id)``, ``sigma_lab.sweep(bars, ...)``.
_CALLABLE_PACKAGES = ("train", "sweep")

__all__ = ["__version__", *_CALLABLE_PACKAGES, *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_PACKAGES:
        return import_module(f"sigma_lab.{name}")
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sigma_lab' has no attribute {name!r}") from None
    return getattr(import_module(module), attr)
