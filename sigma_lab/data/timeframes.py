"""Timeframes: ``1m 5m 15m 30m 1h 4h 1d 1w`` and how long each bar is."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from sigma_lab.errors import ConfigError

_UNITS = {"m": "min", "h": "h", "d": "D", "w": "W"}
_PATTERN = re.compile(r"^(\d+)([mhdw])$")


@dataclass(frozen=True)
class Timeframe:
    """A bar length such as ``1h``: ``count`` units of ``unit`` (m, h, d, w)."""

    count: int
    unit: str

    @property
    def name(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def intraday(self) -> bool:
        return self.unit in ("m", "h")

    @property
    def offset(self) -> pd.Timedelta:
        return pd.Timedelta(self.count, _UNITS[self.unit] if self.unit != "w" else "W")

    @property
    def pandas_freq(self) -> str:
        return f"{self.count}{_UNITS[self.unit]}"

    @property
    def minutes(self) -> float:
        return self.offset / pd.Timedelta(minutes=1)

    def __str__(self) -> str:
        return self.name


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Parse ``"1h"``-style text; a clear error lists the accepted forms."""
    if isinstance(value, Timeframe):
        return value
    text = str(value).strip().lower()
    aliases = {"hour": "1h", "day": "1d", "daily": "1d", "hourly": "1h", "minute": "1m", "week": "1w"}
    text = aliases.get(text, text)
    match = _PATTERN.match(text)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(
            f"unknown timeframe {value!r}; use a count and a unit such as 1m, 5m, 15m, 1h, 4h, 1d or 1w"
        )
    return Timeframe(int(match.group(1)), match.group(2))
