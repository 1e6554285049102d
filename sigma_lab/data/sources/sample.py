"""The ``sample`` source: real bars bundled with the install (see ``sigma_lab/data/sample/README.md``).

* AAPL, MSFT, IBM, GOOG daily bars (Quandl WIKI, 2000-2013). A daily bar is stamped with its
  session date at 00:00 UTC. By default prices are split- and dividend-adjusted: open, high,
  low and close are multiplied by ``adj_close / close`` and volume divided by it, so returns
  are continuous across splits; ``adjust=False`` gives the raw prints. Weekly bars are
  resampled from the daily ones.
* SPY hourly bars (Polygon.io, 2023 and mid-2024) including pre- and post-market hours, each
  stamped with the start of its hour. SPY daily and weekly bars are resampled from them over
  the regular session (09:30-16:00 New York); multi-hour bars over all hours on the hour grid.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from sigma_lab.data.bars import validate_bars
from sigma_lab.data.resample import resample
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.timeframes import Timeframe
from sigma_lab.errors import DataSourceError, NotFoundError

STOCK_SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")
HOURLY_SYMBOLS = ("SPY",)


def sample_path(name: str) -> str:
    """Path of a bundled sample file."""
    return str(resources.files("sigma_lab.data").joinpath("sample", name))


@lru_cache(maxsize=1)
def _stocks() -> pd.DataFrame:
    return pd.read_parquet(sample_path("stocks_1d.parquet"))


@lru_cache(maxsize=1)
def _spy_hourly() -> pd.DataFrame:
    frame = pd.read_parquet(sample_path("spy_1h.parquet")).set_index("timestamp")
    return validate_bars(frame)


def daily_stock_bars(symbol: str, adjust: bool = True) -> pd.DataFrame:
    """The bundled daily bars of ``symbol`` (adjusted unless ``adjust=False``)."""
    rows = _stocks()[_stocks()["symbol"] == symbol]
    index = pd.DatetimeIndex(rows["date"]).tz_localize("UTC").rename("timestamp")
    ratio = (rows["adj_close"] / rows["close"]).to_numpy() if adjust else 1.0
    frame = pd.DataFrame(
        {
            "open": rows["open"].to_numpy() * ratio,
            "high": rows["high"].to_numpy() * ratio,
            "low": rows["low"].to_numpy() * ratio,
            "close": rows["close"].to_numpy() * ratio,
            "volume": rows["volume"].to_numpy(dtype="float64") / ratio,
        },
        index=index,
    )
    return validate_bars(frame)


class SampleSource(BarSource):
    """Bundled real bars; no network."""

    name = "sample"
    description = "Real bars bundled with the install."

    def __init__(self, adjust: bool = True) -> None:
        self.adjust = adjust

    def symbols(self) -> list[str]:
        return [*STOCK_SYMBOLS, *HOURLY_SYMBOLS]

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        symbol = symbol.upper()
        if symbol in STOCK_SYMBOLS:
            bars = self._daily(symbol, timeframe)
        elif symbol in HOURLY_SYMBOLS:
            bars = self._hourly(symbol, timeframe)
        else:
            raise NotFoundError(
                f"symbol {symbol!r} is not in the sample data; available: {', '.join(self.symbols())}"
            )
        if start is not None:
            bars = bars[bars.index >= start]
        if end is not None:
            bars = bars[bars.index <= end]
        return bars

    def _daily(self, symbol: str, timeframe: Timeframe) -> pd.DataFrame:
        bars = daily_stock_bars(symbol, adjust=self.adjust)
        if timeframe.name == "1d":
            return bars
        if timeframe.name == "1w":
            return resample(bars, timeframe, source_timeframe="1d")
        raise DataSourceError(f"sample {symbol} has daily bars; ask for 1d or 1w, not {timeframe}")

    def _hourly(self, symbol: str, timeframe: Timeframe) -> pd.DataFrame:
        bars = _spy_hourly().copy()
        if timeframe.name == "1h":
            return bars
        if not timeframe.intraday:
            return resample(bars, timeframe, session="regular", source_timeframe="1h")
        if timeframe.unit == "h":
            return resample(bars, timeframe, session="all", source_timeframe="1h")
        raise DataSourceError(f"sample {symbol} has hourly bars; ask for 1h, Nh, 1d or 1w, not {timeframe}")
