"""Daily indicators on intraday bars, aligned so a bar only sees completed days.

Daily bars are built from the intraday bars by New York session date, from the bars that
overlap regular hours (09:30-16:00 New York; see :mod:`sigma_lab.indicators.calendar`):
open of the first, highest high, lowest low, close of the last, summed volume. The daily
indicator is computed on those daily bars, and day D's value is given to every bar whose
session date is after D: it becomes available on the first bar of the next session
(pre-market included) and stays until the first bar of the session after that. A bar
never sees its own day, even after that day's close.

On daily input each bar is its own day, so every value equals the daily indicator
shifted by one bar. Warm-up is counted in sessions (``warmup_unit="sessions"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.indicators import kernels
from sigma_lab.indicators.calendar import regular_session_mask, session_dates
from sigma_lab.indicators.registry import Param, indicator


def daily_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Daily bars (index: session date at midnight UTC) from the regular-hours bars of each New York date."""
    mask = regular_session_mask(bars.index)
    dates = session_dates(bars.index)[mask]
    part = bars.loc[mask, ["open", "high", "low", "close", "volume"]]
    part = part.set_axis(pd.DatetimeIndex(dates.astype("datetime64[ns]"), tz="UTC", name="timestamp"))
    grouped = part.groupby(level=0, sort=True)
    return pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )


def align_completed_days(bars: pd.DataFrame, days: pd.DatetimeIndex, values: np.ndarray) -> np.ndarray:
    """For each bar, the value of the last day strictly before its session date (NaN before the first)."""
    day_dates = days.tz_localize(None).to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(day_dates, session_dates(bars.index), side="left") - 1
    out = np.full(len(bars), np.nan)
    ok = pos >= 0
    out[ok] = np.asarray(values, dtype="float64")[pos[ok]]
    return out


def _daily_close(bars: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    days = daily_bars(bars)
    return days.index, days["close"].to_numpy(dtype="float64")


def _daily_return(close: np.ndarray, period: int) -> np.ndarray:
    out = np.full(close.shape[0], np.nan)
    out[period:] = close[period:] / close[:-period] - 1.0
    return out


_PERIOD_RSI = Param("period", 14, low=2, high=500, description="days")
_PERIOD_EMA = Param("period", 20, low=1, high=500, description="days")
_PERIOD_RET = Param("period", 1, low=1, high=500, description="days")


@indicator(
    "daily_rsi",
    "multitimeframe",
    params=(_PERIOD_RSI,),
    warmup=lambda period: period + 1,
    warmup_unit="sessions",
)
def daily_rsi(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Wilder RSI of daily closes, as of the last completed day."""
    days, close = _daily_close(bars)
    return {"": align_completed_days(bars, days, kernels.rsi(close, period))}


@indicator(
    "daily_ema", "multitimeframe", params=(_PERIOD_EMA,), warmup=lambda period: period, warmup_unit="sessions"
)
def daily_ema(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """EMA of daily closes (seeded by their SMA), as of the last completed day."""
    days, close = _daily_close(bars)
    return {"": align_completed_days(bars, days, kernels.ema(close, period))}


@indicator(
    "daily_return",
    "multitimeframe",
    params=(_PERIOD_RET,),
    warmup=lambda period: period + 1,
    warmup_unit="sessions",
)
def daily_return(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Return of daily closes over ``period`` days, as of the last completed day."""
    days, close = _daily_close(bars)
    return {"": align_completed_days(bars, days, _daily_return(close, period))}


@indicator(
    "dist_daily_ema",
    "multitimeframe",
    params=(_PERIOD_EMA,),
    warmup=lambda period: period,
    warmup_unit="sessions",
)
def dist_daily_ema(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Daily close / daily EMA - 1, as of the last completed day."""
    days, close = _daily_close(bars)
    return {"": align_completed_days(bars, days, close / kernels.ema(close, period) - 1.0)}
