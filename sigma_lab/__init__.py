"""Sigma Lab: from raw bars to a trustworthy, reproducible leaderboard and live signals.

The pipeline's entry points are importable from here: ``sigma_lab.build_matrix(model_id)``,
``sigma_lab.train(model_id)``. Heavy modules load on first use.
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
}

__all__ = ["__version__", "train", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name == "train":
        return import_module("sigma_lab.train")
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sigma_lab' has no attribute {name!r}") from None
    return getattr(import_module(module), attr)
