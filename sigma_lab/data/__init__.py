"""Market data: one way in (:func:`load`), validated bars, a local Parquet store and a hot cache.

``load`` builds the named source, and for remote sources (Polygon) serves what the local
store already holds, fetching only the missing head and tail of the range and storing
finished bars permanently. Every result is validated against the bar contract and kept in
the hot cache (Redis when ``SIGMA_REDIS_URL`` is set, otherwise an in-process LRU).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sigma_lab.data.bars import validate_bars
from sigma_lab.data.cache import get_cache, make_key
from sigma_lab.data.importing import import_bars, read_bar_file
from sigma_lab.data.options import load_option_bars
from sigma_lab.data.resample import resample
from sigma_lab.data.sessions import to_utc
from sigma_lab.data.sources import get_source, list_sources, register_source
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.store import BarStore
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import BarValidationError, ConfigError

__all__ = [
    "BarStore",
    "BarValidationError",
    "data_info",
    "get_source",
    "import_bars",
    "list_sources",
    "load",
    "load_option_bars",
    "read_bar_file",
    "register_source",
    "resample",
    "to_utc",
    "validate_bars",
]

_ONE_NS = pd.Timedelta(1, "ns")


def load(
    symbol: str,
    timeframe: str | Timeframe = "1d",
    start: str | dt.date | pd.Timestamp | None = None,
    end: str | dt.date | pd.Timestamp | None = None,
    source: str = "sample",
    *,
    refresh: bool = False,
    **options: object,
) -> pd.DataFrame:
    """Bars of ``symbol`` at ``timeframe`` with ``start <= timestamp <= end`` from ``source``.

    ``options`` go to the source's constructor (e.g. ``seed=`` for ``synthetic``, ``path=`` for
    ``csv``). ``refresh=True`` bypasses the cache and, for remote sources, re-fetches the range.
    """
    tf = parse_timeframe(timeframe)
    symbol = str(symbol).strip().upper()
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ConfigError(f"start {start_ts} is after end {end_ts}")
    cache = get_cache()
    key = make_key(source, symbol, tf.name, start_ts, end_ts, options)
    if not refresh:
        hit = cache.get(key)
        if hit is not None:
            return hit
    src = get_source(source, **options)
    if src.remote:
        bars = _load_remote(src, source, symbol, tf, start_ts, end_ts, refresh)
    else:
        bars = validate_bars(src.fetch(symbol, tf, start_ts, end_ts), allow_empty=True)
    if not (src.remote and end_ts is None):
        cache.put(key, bars)
    return bars


def _load_remote(
    src: BarSource,
    source: str,
    symbol: str,
    tf: Timeframe,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    refresh: bool,
) -> pd.DataFrame:
    """Stored bars plus the missing head and tail fetched from ``src`` (finished bars get stored)."""
    store = BarStore()
    stored = store.read(source, symbol, tf, start, end)
    if refresh or len(stored) == 0:
        fetched = validate_bars(src.fetch(symbol, tf, start, end), allow_empty=True)
        store.write(source, symbol, tf, fetched)
        return fetched
    pieces = [stored]
    first, last = stored.index[0], stored.index[-1]
    if start is not None and start < first:
        pieces.append(validate_bars(src.fetch(symbol, tf, start, first - _ONE_NS), allow_empty=True))
    if end is None or end > last:
        pieces.append(validate_bars(src.fetch(symbol, tf, last + _ONE_NS, end), allow_empty=True))
    for piece in pieces[1:]:
        store.write(source, symbol, tf, piece)
    bars = pd.concat([p for p in pieces if len(p)])
    bars = bars[~bars.index.duplicated(keep="last")].sort_index()
    return validate_bars(bars, allow_empty=True)


def data_info(symbol: str | None = None) -> pd.DataFrame:
    """What the local store holds: one row per symbol / timeframe / source with first, last and rows."""
    return BarStore().info(None if symbol is None else str(symbol).strip().upper())
