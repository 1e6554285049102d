"""The ``csv`` and ``parquet`` sources: bars from a file, or bars imported from files into the store.

With ``path=...`` the file is read directly (see :func:`sigma_lab.data.importing.read_bar_file`
for the column mapping and time zone options). Without it, the source serves what
:func:`sigma_lab.data.import_bars` stored under its name; a timeframe that was not imported
is resampled (regular session) from the finest stored timeframe that divides it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sigma_lab.data.importing import read_bar_file
from sigma_lab.data.resample import resample
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import NotFoundError


class FileSource(BarSource):
    """Bars from one file (``path``) or from the local store under this source's name."""

    format = "csv"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        columns: dict[str, str] | None = None,
        tz: str = "America/New_York",
        timestamp_column: str | None = None,
        timestamp_unit: str | None = None,
        session: str = "regular",
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.columns = columns
        self.tz = tz
        self.timestamp_column = timestamp_column
        self.timestamp_unit = timestamp_unit
        self.session = session

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        if self.path is not None:
            bars = read_bar_file(
                self.path,
                columns=self.columns,
                tz=self.tz,
                timestamp_column=self.timestamp_column,
                format=self.format,
                timestamp_unit=self.timestamp_unit,
            )
        else:
            bars = self._from_store(symbol, timeframe, start, end)
        if start is not None:
            bars = bars[bars.index >= start]
        if end is not None:
            bars = bars[bars.index <= end]
        return bars

    def _from_store(
        self, symbol: str, timeframe: Timeframe, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        from sigma_lab.data.store import BarStore

        store = BarStore()
        held = store.info(symbol)
        held = held[held["source"] == self.name]
        if len(held) == 0:
            raise NotFoundError(
                f"no {self.format} bars of {symbol!r} in the local store; import them first "
                f"(sigma_lab.data.import_bars or `sigma-lab data import`) or pass path=..."
            )
        stored = {tf.name: tf for tf in map(parse_timeframe, held["timeframe"])}
        if timeframe.name in stored:
            return store.read(self.name, symbol, timeframe, start, end)
        usable = [tf for tf in stored.values() if _divides(tf, timeframe)]
        if not usable:
            raise NotFoundError(
                f"{symbol!r} from {self.name} is stored at {sorted(stored)}, "
                f"none of which resamples to {timeframe}"
            )
        finest = min(usable, key=lambda tf: tf.minutes)
        bars = store.read(self.name, symbol, finest)
        return resample(bars, timeframe, session=self.session, source_timeframe=finest)


def _divides(source: Timeframe, target: Timeframe) -> bool:
    if target.intraday:
        return source.intraday and target.minutes % source.minutes == 0
    if target.count != 1:
        return False
    return source.minutes <= target.minutes


class CsvSource(FileSource):
    """Bars from CSV files."""

    name = "csv"
    description = "Bars from a CSV file, or imported from CSV into the local store."
    format = "csv"


class ParquetSource(FileSource):
    """Bars from Parquet files."""

    name = "parquet"
    description = "Bars from a Parquet file, or imported from Parquet into the local store."
    format = "parquet"
