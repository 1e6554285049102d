"""The US equity session calendar used by resampling, the synthetic source and the store.

Sessions are weekdays in ``America/New_York``: regular hours 09:30-16:00, extended hours
04:00-20:00. Exchange holidays and early closes are not modelled: a weekday without data
simply has no bars, and resampling never creates bars from empty intervals.

Daily bars are stamped with their session date at 00:00 UTC (the convention of every
source here), so the session date of a daily bar is its UTC date, while the session date
of an intraday bar is its New York calendar date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sigma_lab.data.timeframes import Timeframe
from sigma_lab.errors import ConfigError

_ONE_NS = pd.Timedelta(1, "ns")

NEW_YORK = "America/New_York"

#: Session windows as (open, close) minutes after local midnight.
SESSION_WINDOWS: dict[str, tuple[int, int]] = {
    "regular": (9 * 60 + 30, 16 * 60),
    "extended": (4 * 60, 20 * 60),
    "all": (0, 24 * 60),
}


def session_window(session: str) -> tuple[int, int]:
    """(open, close) in minutes after local midnight for ``regular``, ``extended`` or ``all``."""
    try:
        return SESSION_WINDOWS[session]
    except KeyError:
        raise ConfigError(f"unknown session {session!r}; use one of {sorted(SESSION_WINDOWS)}") from None


def local_minutes(index: pd.DatetimeIndex, tz: str = NEW_YORK) -> np.ndarray:
    """Minutes after local midnight of each timestamp (DST-correct)."""
    local = index.tz_convert(tz)
    return (local.hour * 60 + local.minute).to_numpy(dtype="int64") + local.second.to_numpy() / 60.0


def session_mask(
    index: pd.DatetimeIndex, bar_minutes: float, session: str = "regular", tz: str = NEW_YORK
) -> np.ndarray:
    """True for bars on a weekday whose interval ``[t, t + bar_minutes)`` overlaps the session."""
    open_, close = session_window(session)
    if session == "all":
        return np.ones(len(index), dtype=bool)
    minutes = local_minutes(index, tz)
    weekday = index.tz_convert(tz).day_of_week.to_numpy() < 5
    return weekday & (minutes < close) & (minutes + bar_minutes > open_)


def session_dates(index: pd.DatetimeIndex, timeframe: Timeframe, tz: str = NEW_YORK) -> pd.DatetimeIndex:
    """The session date (naive midnight) of each bar: UTC date for daily/weekly bars, else local date."""
    if timeframe.intraday:
        return index.tz_convert(tz).tz_localize(None).normalize()
    return index.tz_convert("UTC").tz_localize(None).normalize()


def unfinished_mask(
    index: pd.DatetimeIndex, timeframe: Timeframe, now: pd.Timestamp | None = None, tz: str = NEW_YORK
) -> np.ndarray:
    """True for bars that are not final yet at ``now``: the bar has not ended, or it belongs to
    today's session (New York date) and the regular session has not closed (16:00 New York),
    or it is dated after today."""
    now = pd.Timestamp.now(tz="UTC") if now is None else _utc(now)
    now_local = now.tz_convert(tz)
    today = now_local.tz_localize(None).normalize()
    closed = now_local.hour * 60 + now_local.minute >= SESSION_WINDOWS["regular"][1]
    dates = session_dates(index, timeframe, tz).to_numpy()
    today64 = np.datetime64(today.to_datetime64(), "ns")
    pending = dates > today64
    if not closed:
        pending |= dates == today64
    if timeframe.intraday:
        ends = index.tz_convert("UTC").as_unit("ns").asi8 + int(timeframe.offset.value)
        pending |= ends > now.value
    return pending


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def to_utc(value: str | dt.date | pd.Timestamp | None, name: str = "time") -> pd.Timestamp | None:
    """``value`` as a UTC timestamp. Naive values are UTC; a date-only ``end`` covers that whole day."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r} is not a date or timestamp") from None
    if ts is pd.NaT:
        raise ConfigError(f"{name} {value!r} is not a date or timestamp")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    date_only = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
        isinstance(value, str) and len(value.strip()) <= 10
    )
    if name == "end" and date_only:
        ts = ts + pd.Timedelta(days=1) - _ONE_NS
    return ts
