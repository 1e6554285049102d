"""Resampling bars to a coarser timeframe (minute -> hour -> day -> week) that respects sessions.

Conventions:

* ``session`` picks the bars that take part: ``regular`` (09:30-16:00 New York, weekdays),
  ``extended`` (04:00-20:00, weekdays) or ``all``. A source bar takes part when its interval
  overlaps the session, so an hourly bar stamped 09:00 counts towards the regular session.
* Intraday bins are anchored to the session open: regular-session hour bars start at 09:30,
  10:30, ... 15:30 (the last one is the 30-minute stub to 16:00). When the source bars are on
  a grid the open does not fall on (hourly bars at the top of the hour), the anchor moves back
  to the grid (09:00), so bars are never split.
* Daily bars: one per session date, stamped with that date at 00:00 UTC (not one per UTC day).
  Weekly bars: one per week of session dates, stamped with the week's Monday at 00:00 UTC.
* OHLC are first / max / min / last, volume is summed and ``vwap`` is volume-weighted over the
  source bars that carry one. Empty intervals never produce a bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.data.bars import BAR_COLUMNS, validate_bars
from sigma_lab.data.sessions import NEW_YORK, local_minutes, session_dates, session_mask, session_window
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import ConfigError

_NS_PER_MINUTE = 60_000_000_000
_DAY = pd.Timedelta(days=1)


def infer_timeframe(index: pd.DatetimeIndex) -> Timeframe:
    """Guess the bar length of ``index`` from its smallest step (daily when stamped at 00:00 UTC)."""
    idx = index.tz_convert("UTC").as_unit("ns")
    at_midnight = bool((idx == idx.normalize()).all())
    steps = np.diff(idx.asi8)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return Timeframe(1, "d") if at_midnight else Timeframe(1, "m")
    step = pd.Timedelta(int(steps.min()), "ns")
    if at_midnight and step >= _DAY:
        return Timeframe(1, "w") if step >= 7 * _DAY else Timeframe(1, "d")
    minutes = max(1, int(step / pd.Timedelta(minutes=1)))
    if minutes % 60 == 0:
        return Timeframe(minutes // 60, "h")
    return Timeframe(minutes, "m")


def resample(
    bars: pd.DataFrame,
    timeframe: str | Timeframe,
    *,
    session: str = "regular",
    tz: str = NEW_YORK,
    source_timeframe: str | Timeframe | None = None,
) -> pd.DataFrame:
    """Aggregate ``bars`` to ``timeframe`` inside ``session`` (see the module docstring)."""
    bars = validate_bars(bars, allow_empty=True)
    target = parse_timeframe(timeframe)
    session_window(session)
    if len(bars) == 0:
        return bars
    source = parse_timeframe(source_timeframe) if source_timeframe else infer_timeframe(bars.index)
    _check_direction(source, target)
    if source.intraday:
        bars = bars[session_mask(bars.index, source.minutes, session, tz)]
        if len(bars) == 0:
            return bars
    if target.intraday:
        labels = _intraday_labels(bars.index, source, target, session, tz)
    else:
        dates = session_dates(bars.index, source, tz)
        if target.unit == "w":
            dates = dates - pd.to_timedelta(dates.day_of_week, unit="D")
        labels = dates.as_unit("ns").asi8
    return _aggregate(bars, labels)


def _check_direction(source: Timeframe, target: Timeframe) -> None:
    if target.unit in ("d", "w") and target.count != 1:
        raise ConfigError(f"cannot resample to {target}: daily and weekly targets are 1d and 1w")
    if target.minutes < source.minutes or (target.intraday and not source.intraday):
        raise ConfigError(f"cannot resample {source} bars to the finer timeframe {target}")
    if target.intraday and target.minutes % source.minutes:
        raise ConfigError(
            f"cannot resample {source} bars to {target}: {target} is not a multiple of {source}"
        )


def _intraday_labels(
    index: pd.DatetimeIndex, source: Timeframe, target: Timeframe, session: str, tz: str
) -> np.ndarray:
    anchor = session_window(session)[0]
    anchor -= anchor % int(source.minutes)
    minutes = local_minutes(index, tz)
    bins = np.maximum(np.floor((minutes - anchor) / target.minutes), 0.0)
    into_bin = np.rint((minutes - anchor - bins * target.minutes) * _NS_PER_MINUTE).astype("int64")
    return index.tz_convert("UTC").as_unit("ns").asi8 - into_bin


def _aggregate(bars: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)] - 1
    o, h, lo, c, v = (bars[k].to_numpy() for k in BAR_COLUMNS)
    out = {
        "open": o[starts],
        "high": np.maximum.reduceat(h, starts),
        "low": np.minimum.reduceat(lo, starts),
        "close": c[ends],
        "volume": np.add.reduceat(v, starts),
    }
    if "vwap" in bars.columns:
        vw = bars["vwap"].to_numpy()
        has = ~np.isnan(vw)
        num = np.add.reduceat(np.where(has, vw * v, 0.0), starts)
        den = np.add.reduceat(np.where(has, v, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["vwap"] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    index = pd.DatetimeIndex(pd.to_datetime(labels[starts], unit="ns", utc=True), name="timestamp")
    index = index.as_unit(bars.index.unit)
    return validate_bars(pd.DataFrame(out, index=index))
