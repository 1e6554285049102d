"""Imports every module that registers indicators, so the registry is complete."""

from sigma_lab.indicators import (  # noqa: F401
    calendar,
    intraday,
    momentum,
    multitimeframe,
    options_flow,
    trend,
    volatility,
    volume,
)
