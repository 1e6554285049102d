"""Indicator library: numba kernels behind a registry with metadata.

``catalog()`` lists every indicator; ``compute(bars, name, **params)`` computes one.
"""

from sigma_lab.indicators.registry import (
    Indicator,
    Param,
    catalog,
    compute,
    compute_into,
    get,
    indicator,
    registry,
)

__all__ = ["Indicator", "Param", "catalog", "compute", "compute_into", "get", "indicator", "registry"]
