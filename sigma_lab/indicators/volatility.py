"""Volatility indicators: true range, return dispersion and price channels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError
from sigma_lab.indicators import kernels as k
from sigma_lab.indicators.registry import Param, indicator

HLC = ("high", "low", "close")
TRADING_DAYS_PER_YEAR = 252.0
_NS_PER_DAY = 86_400_000_000_000


def _col(bars: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(bars[name].to_numpy(dtype="float64"))


def _period(default: int, low: int = 1, high: int = 10_000, name: str = "period") -> Param:
    return Param(name, default, low, high, description="bars in the window")


def new_york_days(index: pd.Index, what: str) -> np.ndarray:
    """The New York calendar date of each timestamp as whole days since the epoch (a session code)."""
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ConfigError(f"{what} needs bars with a tz-aware DatetimeIndex, got {type(index).__name__}")
    local = index.tz_convert("America/New_York").tz_localize(None).as_unit("ns")
    return local.asi8 // _NS_PER_DAY


@indicator(
    "atr",
    "volatility",
    params=(_period(14),),
    warmup=lambda period: period,
    inputs=HLC,
    talib="ATR",
    fills=True,
)
def atr(bars: pd.DataFrame, out: np.ndarray, period: int) -> None:
    """Wilder's average true range, in price units."""
    k.atr_into(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), period, out[0])


def _simple_returns(close: np.ndarray) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    out[1:] = close[1:] / close[:-1] - 1.0
    return out


@indicator("rolling_std", "volatility", params=(_period(20, 2),), warmup=lambda period: period)
def rolling_std(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Sample standard deviation of the last ``period`` one-bar simple returns (not annualized)."""
    return {"": k.rolling_std(_simple_returns(_col(bars, "close")), period, 1)}


@indicator("realized_vol", "volatility", params=(_period(20, 2),), warmup=lambda period: period)
def realized_vol(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Annualized realized volatility: std of the last ``period`` one-bar log returns x sqrt(bars/year).

    Bars per year come from the bars' own timestamps, up to each bar only: 252 for daily bars,
    365.25 days over the spacing for weekly or longer bars, and for intraday bars 252 times
    the median bar count of the last five completed New York sessions (so extended-hours
    data is annualized by the bars it really has).
    """
    close = _col(bars, "close")
    log_ret = np.full(close.shape, np.nan)
    log_ret[1:] = np.diff(np.log(close))
    ts = bars.index
    days = new_york_days(ts, "realized_vol")
    ppy = k.periods_per_year(ts.as_unit("ns").asi8.astype(np.int64), days, period, TRADING_DAYS_PER_YEAR)
    return {"": k.rolling_std(log_ret, period, 1) * np.sqrt(ppy)}


@indicator(
    "bbands",
    "volatility",
    params=(_period(20, 2), Param("nstd", 2.0, 0.1, 10.0, description="band width in standard deviations")),
    outputs=("upper", "middle", "lower", "width", "pctb"),
    warmup=lambda period, nstd: period - 1,
    talib="BBANDS",
    fills=True,
)
def bbands(bars: pd.DataFrame, out: np.ndarray, period: int, nstd: float) -> None:
    """Bollinger bands: SMA ± nstd population standard deviations, the width over the middle and %B.

    %B is 0.5 when the bands collapse (a flat window).
    """
    k.bbands_into(_col(bars, "close"), period, nstd, out[0], out[1], out[2], out[3], out[4])


@indicator(
    "keltner",
    "volatility",
    params=(_period(20), Param("multiplier", 2.0, 0.1, 10.0), _period(10, name="atr_period")),
    outputs=("upper", "middle", "lower"),
    warmup=lambda period, multiplier, atr_period: max(period - 1, atr_period),
    inputs=HLC,
)
def keltner(bars: pd.DataFrame, period: int, multiplier: float, atr_period: int) -> dict[str, np.ndarray]:
    """Keltner channels: EMA(close, period) ± multiplier × ATR(atr_period)."""
    high, low, close = _col(bars, "high"), _col(bars, "low"), _col(bars, "close")
    middle = k.ema(close, period)
    band = multiplier * k.atr(high, low, close, atr_period)
    return {"upper": middle + band, "middle": middle, "lower": middle - band}


@indicator(
    "donchian",
    "volatility",
    params=(_period(20),),
    outputs=("upper", "middle", "lower"),
    warmup=lambda period: period - 1,
    inputs=("high", "low"),
    talib="MAX/MIN",
)
def donchian(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Donchian channels: highest high and lowest low of the last ``period`` bars (this one included)."""
    upper = k.rolling_max(_col(bars, "high"), period)
    lower = k.rolling_min(_col(bars, "low"), period)
    return {"upper": upper, "middle": (upper + lower) / 2.0, "lower": lower}
