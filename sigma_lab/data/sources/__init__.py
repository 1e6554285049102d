"""The registry of bar sources by name.

A source is registered with a factory given as ``"module:attribute"`` text, imported only
when the source is first asked for, so optional sources (``polygon``) cost nothing until
used and the registry lists them even before their module is importable.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from sigma_lab.data.sources.base import BarSource
from sigma_lab.errors import ConfigError, NotFoundError


@dataclass(frozen=True)
class SourceEntry:
    """A registered source: its name, a one-line description and where its class lives."""

    name: str
    description: str
    factory: str


_REGISTRY: dict[str, SourceEntry] = {}


def register_source(name: str, factory: str, description: str) -> None:
    """Register (or replace) the source ``name`` built by ``factory`` (``"package.module:Class"``)."""
    if ":" not in factory:
        raise ConfigError(f"source factory {factory!r} must look like 'package.module:Class'")
    _REGISTRY[name] = SourceEntry(name, description, factory)


def list_sources() -> dict[str, str]:
    """Names of the registered sources and their descriptions."""
    return {name: entry.description for name, entry in sorted(_REGISTRY.items())}


def get_source(name: str, **options: object) -> BarSource:
    """Build the source ``name`` with ``options`` (passed to its constructor)."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise NotFoundError(f"unknown data source {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    module_name, attribute = entry.factory.split(":", 1)
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"data source {name!r} is not available ({entry.factory}: {exc})") from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for data source {name!r}: {exc}") from None


register_source(
    "sample",
    "sigma_lab.data.sources.sample:SampleSource",
    "Real bars bundled with the install: AAPL, MSFT, IBM, GOOG daily (2000-2013) and SPY hourly (2023-2024).",
)
register_source(
    "synthetic",
    "sigma_lab.data.sources.synthetic:SyntheticSource",
    "Seeded synthetic bars at any timeframe with US sessions, volatility clustering and regimes.",
)
register_source(
    "csv",
    "sigma_lab.data.sources.files:CsvSource",
    "Bars from a CSV file (path=...), or those imported from CSV into the local store.",
)
register_source(
    "parquet",
    "sigma_lab.data.sources.files:ParquetSource",
    "Bars from a Parquet file (path=...), or those imported from Parquet into the local store.",
)
register_source(
    "polygon",
    "sigma_lab.data.sources.polygon:PolygonSource",
    "Polygon.io REST aggregates for stocks and options (needs SIGMA_POLYGON_API_KEY).",
)
