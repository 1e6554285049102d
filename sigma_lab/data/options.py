"""Option minute bars: one long frame of many contracts.

Columns: ``contract`` (OCC-style ``O:SPY240701C00537000``), ``underlying``, ``expiry``
(date at midnight, naive), ``right`` (``C``/``P``), ``strike``, ``timestamp`` (UTC),
``open high low close volume vwap``; sorted by contract then timestamp. Each contract's bars
satisfy the bar contract; minutes without trades are simply absent (real prints are thin).
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from sigma_lab.data.bars import BAR_COLUMNS, validate_bars
from sigma_lab.data.sessions import to_utc
from sigma_lab.data.sources.sample import sample_path
from sigma_lab.errors import BarValidationError, ConfigError, NotFoundError

OPTION_COLUMNS = ["contract", "underlying", "expiry", "right", "strike", "timestamp", *BAR_COLUMNS, "vwap"]
OPTION_SOURCES = ("sample",)


@lru_cache(maxsize=1)
def _sample_options() -> pd.DataFrame:
    frame = pd.read_parquet(sample_path("spy_0dte_options_1m.parquet"))
    frame["expiry"] = pd.to_datetime(frame["expiry"].astype(str))
    frame["volume"] = frame["volume"].astype("float64")
    return validate_option_bars(frame)


def validate_option_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Check every contract's bars against the bar contract and return the frame sorted."""
    missing = [c for c in OPTION_COLUMNS if c not in frame.columns and c != "vwap"]
    if missing:
        raise BarValidationError(f"option bars lack columns {missing}")
    frame = frame.sort_values(["contract", "timestamp"], kind="stable").reset_index(drop=True)
    bad_right = ~frame["right"].isin(["C", "P"])
    if bad_right.any():
        i = int(bad_right.to_numpy().nonzero()[0][0])
        raise BarValidationError(f"right must be C or P, got {frame['right'].iloc[i]!r}", row=i)
    for contract, rows in frame.groupby("contract", sort=False):
        try:
            validate_bars(rows.set_index(pd.DatetimeIndex(rows["timestamp"])))
        except BarValidationError as exc:
            raise BarValidationError(f"contract {contract}: {exc.problem}", row=exc.row) from None
    return frame[[c for c in OPTION_COLUMNS if c in frame.columns]]


def load_option_bars(
    underlying: str = "SPY",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    source: str = "sample",
) -> pd.DataFrame:
    """Minute bars of the option contracts on ``underlying`` with ``start <= timestamp <= end``.

    Naive ``start``/``end`` are UTC; a date-only ``end`` includes that whole day.
    """
    if source not in OPTION_SOURCES:
        raise ConfigError(f"option bars come from {list(OPTION_SOURCES)}, not {source!r}")
    frame = _sample_options()
    underlying = underlying.upper()
    available = sorted(frame["underlying"].unique())
    if underlying not in available:
        raise NotFoundError(f"no {source} option bars for {underlying!r}; available: {', '.join(available)}")
    keep = frame["underlying"] == underlying
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    if start_ts is not None:
        keep &= frame["timestamp"] >= start_ts
    if end_ts is not None:
        keep &= frame["timestamp"] <= end_ts
    return frame[keep].reset_index(drop=True)
