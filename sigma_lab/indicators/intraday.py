"""Intraday indicators: where the bar sits in its session, the opening range, the gap, the last 30 minutes.

Sessions are New York trading dates (see :mod:`sigma_lab.indicators.calendar`). The
``session`` parameter chooses which bars of a date form the session:

- ``regular`` (default): bars overlapping regular hours 09:30-16:00 New York time; bars
  outside them (pre-market, after-hours) get NaN. On hourly bars the first regular bar is
  the one stamped 09:00 New York time, so its open is a pre-market price.
- ``all``: every bar of the New York date.

The session names follow :mod:`sigma_lab.data.sessions`. On daily bars every bar is a
session of its own. Session-based z-scores count their warm-up in sessions
(``warmup_unit="sessions"`` in the registry; as a bar count it is a lower bound). Every
value at bar t uses bars <= t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from sigma_lab.indicators.calendar import (
    bar_lengths,
    epoch_ns,
    regular_open_ns,
    regular_session_mask,
    session_dates,
)
from sigma_lab.indicators.registry import Param, indicator

OPENING_MINUTES = 15
LAST_MINUTES = 30

_SESSION = Param(
    "session",
    "regular",
    choices=("regular", "all"),
    description="regular: 09:30-16:00 New York; all: whole date",
)
_LOOKBACK = Param("lookback", 20, low=2, high=1000, description="trailing sessions for the z-score")


@njit(cache=True)
def _day_range_pos_kernel(
    session: np.ndarray, mask: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> np.ndarray:
    n = close.shape[0]
    out = np.full(n, np.nan)
    current = -1
    hi = 0.0
    lo = 0.0
    for i in range(n):
        if not mask[i]:
            continue
        if session[i] != current:
            current = session[i]
            hi = high[i]
            lo = low[i]
        else:
            hi = max(hi, high[i])
            lo = min(lo, low[i])
        width = hi - lo
        out[i] = (close[i] - lo) / width if width > 0.0 else 0.5
    return out


@njit(cache=True)
def _opening_range_kernel(
    session: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    cutoff: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
) -> np.ndarray:
    """Per bar: the session's opening range / first open once complete, NaN before."""
    n = open_.shape[0]
    out = np.full(n, np.nan)
    current = -1
    hi = 0.0
    lo = 0.0
    first_open = 0.0
    done = False
    value = np.nan
    for i in range(n):
        if not mask[i]:
            continue
        if session[i] != current:
            current = session[i]
            hi = high[i]
            lo = low[i]
            first_open = open_[i]
            done = False
        elif not done:
            if start[i] >= cutoff[i]:
                done = True
                value = (hi - lo) / first_open
            else:
                hi = max(hi, high[i])
                lo = min(lo, low[i])
        if not done and end[i] >= cutoff[i]:
            done = True
            value = (hi - lo) / first_open
        if done:
            out[i] = value
    return out


@njit(cache=True)
def _trailing_z_kernel(values: np.ndarray, lookback: int) -> np.ndarray:
    """z of values[k] against values[k-lookback:k] (mean, sample std); NaN when short or flat."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    for k in range(lookback, n):
        total = 0.0
        for j in range(k - lookback, k):
            total += values[j]
        mean = total / lookback
        ss = 0.0
        for j in range(k - lookback, k):
            ss += (values[j] - mean) ** 2
        std = np.sqrt(ss / (lookback - 1))
        if std > 0.0:
            out[k] = (values[k] - mean) / std
    return out


@njit(cache=True)
def _window_return_kernel(
    session: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    window: np.int64,
) -> np.ndarray:
    """Own return of bars >= ``window`` long, else close / the same-session close ``window`` back - 1."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        if length[i] >= window:
            out[i] = close[i] / open_[i] - 1.0
            continue
        target = start[i] + length[i] - window
        k = i - 1
        while k >= 0 and session[k] == session[i]:
            if start[k] + length[k] <= target:
                out[i] = close[i] / close[k] - 1.0
                break
            k -= 1
    return out


class _Sessions:
    """Per-bar session arrays: session code, session mask, start/end nanoseconds, session date."""

    def __init__(self, bars: pd.DataFrame, session: str = "all") -> None:
        index = bars.index
        self.length = bar_lengths(index)
        self.dates = session_dates(index)
        self.code = self.dates.astype("int64")
        if session == "regular":
            self.mask = regular_session_mask(index)
        else:
            self.mask = np.ones(len(index), dtype=bool)
        self.start = epoch_ns(index)
        self.end = self.start + self.length
        self.daily = self.length >= pd.Timedelta(days=1).value


def _column(bars: pd.DataFrame, name: str) -> np.ndarray:
    return bars[name].to_numpy(dtype="float64")


def _per_session(code: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Session codes (ascending) with the first finite value of each, for sessions that have one."""
    finite = np.isfinite(values)
    codes, first = np.unique(code[finite], return_index=True)
    return codes, values[finite][first]


def _session_z_to_bars(
    code: np.ndarray,
    session_codes: np.ndarray,
    session_values: np.ndarray,
    lookback: int,
    available: np.ndarray,
) -> np.ndarray:
    z = _trailing_z_kernel(session_values, lookback)
    out = np.full(code.shape[0], np.nan)
    if len(session_codes) == 0:
        return out
    pos = np.clip(np.searchsorted(session_codes, code), 0, len(session_codes) - 1)
    hit = available & (session_codes[pos] == code)
    out[hit] = z[pos[hit]]
    return out


@indicator("day_range_pos", "intraday", params=(_SESSION,), inputs=("high", "low", "close"))
def day_range_pos(bars: pd.DataFrame, session: str) -> dict[str, np.ndarray]:
    """Close's position in the session's range so far (0 at the low, 1 at the high; 0.5 when flat)."""
    s = _Sessions(bars, session)
    out = _day_range_pos_kernel(
        s.code, s.mask, _column(bars, "high"), _column(bars, "low"), _column(bars, "close")
    )
    return {"": out}


@indicator(
    "first15_range_z",
    "intraday",
    params=(_LOOKBACK, _SESSION),
    inputs=("open", "high", "low"),
    warmup=lambda lookback, **_: lookback,
    warmup_unit="sessions",
)
def first15_range_z(bars: pd.DataFrame, lookback: int, session: str) -> dict[str, np.ndarray]:
    """Z-score of the session's first-15-minutes range against the trailing sessions' ranges.

    The range is (max high - min low) / first open over the session bars that start within
    15 minutes of the open (09:30 New York for ``regular``, the first bar for ``all``), always
    including the first bar: on bars of 15 minutes or longer that is the first bar alone.
    It is NaN until those 15 minutes are complete (a bar ends at or after the cut-off), then
    the same value for the rest of the session.
    """
    s = _Sessions(bars, session)
    anchor = np.zeros(len(bars), dtype="int64")
    first = np.unique(s.code[s.mask], return_index=True)
    if len(first[0]):
        pos = np.clip(np.searchsorted(first[0], s.code), 0, len(first[0]) - 1)
        anchor = s.start[s.mask][first[1]][pos]
    if session == "regular":
        anchor = np.where(s.daily, anchor, regular_open_ns(s.dates))
    cutoff = anchor + np.int64(OPENING_MINUTES * 60 * 10**9)
    raw = _opening_range_kernel(
        s.code,
        s.mask,
        s.start,
        s.end,
        cutoff,
        _column(bars, "open"),
        _column(bars, "high"),
        _column(bars, "low"),
    )
    codes, values = _per_session(s.code, raw)
    return {"": _session_z_to_bars(s.code, codes, values, lookback, np.isfinite(raw))}


@indicator(
    "gap_z",
    "intraday",
    params=(_LOOKBACK, _SESSION),
    inputs=("open", "close"),
    warmup=lambda lookback, **_: lookback + 1,
    warmup_unit="sessions",
)
def gap_z(bars: pd.DataFrame, lookback: int, session: str) -> dict[str, np.ndarray]:
    """Z-score of the opening gap (open / previous session close - 1) against trailing sessions' gaps.

    The value is set on every bar of the session, from its first bar on.
    """
    s = _Sessions(bars, session)
    code = s.code[s.mask]
    if len(code) == 0:
        return {"": np.full(len(bars), np.nan)}
    opens = _column(bars, "open")[s.mask]
    closes = _column(bars, "close")[s.mask]
    codes, first = np.unique(code, return_index=True)
    last = np.append(first[1:], len(code)) - 1
    gaps = np.full(len(codes), np.nan)
    gaps[1:] = opens[first[1:]] / closes[last[:-1]] - 1.0
    return {"": _session_z_to_bars(s.code, codes[1:], gaps[1:], lookback, s.mask)}


@indicator("ret_last_30m", "intraday", inputs=("open", "close"))
def ret_last_30m(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return over the last 30 minutes: close / the close 30 minutes earlier in the same New York date - 1.

    The earlier close is the last bar ending at or before 30 minutes before this bar's end;
    NaN when the date has no such bar yet. On bars of 30 minutes or longer it is the bar's
    own return, close / open - 1.
    """
    s = _Sessions(bars, "all")
    window = np.int64(LAST_MINUTES * 60 * 10**9)
    out = _window_return_kernel(
        s.code, s.start, s.length, _column(bars, "open"), _column(bars, "close"), window
    )
    return {"": out}
