"""Momentum indicators: oscillators, rates of change and a composite momentum score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.indicators import kernels as k
from sigma_lab.indicators.registry import Param, indicator

HLC = ("high", "low", "close")


def _col(bars: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(bars[name].to_numpy(dtype="float64"))


def _period(default: int, low: int = 1, high: int = 10_000, name: str = "period") -> Param:
    return Param(name, default, low, high, description="bars in the window")


def _lag_ratio(x: np.ndarray, period: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    out[period:] = x[period:] / x[:-period]
    return out


def _fast_slow_check(fast: int, slow: int, **_: int) -> str | None:
    return f"fast ({fast}) must be less than slow ({slow})" if fast >= slow else None


@indicator("rsi", "momentum", params=(_period(14, 2),), warmup=lambda period: period, talib="RSI", fills=True)
def rsi(bars: pd.DataFrame, out: np.ndarray, period: int) -> None:
    """Wilder's relative strength index of the close (0-100)."""
    k.rsi_into(_col(bars, "close"), period, out[0])


@indicator(
    "stochrsi",
    "momentum",
    params=(_period(14, 2), _period(14, name="k_period"), _period(3, name="d_period")),
    outputs=("k", "d"),
    warmup=lambda period, k_period, d_period: period + k_period - 1 + d_period - 1,
    talib="STOCHRSI",
)
def stochrsi(bars: pd.DataFrame, period: int, k_period: int, d_period: int) -> dict[str, np.ndarray]:
    """Stochastic RSI: the RSI's position in its ``k_period`` range (0-100) and its ``d_period`` SMA."""
    r = k.rsi(_col(bars, "close"), period)
    fast_k = k.stoch_k(r, r, r, k_period)
    return {"k": fast_k, "d": k.sma(fast_k, d_period)}


@indicator(
    "stoch",
    "momentum",
    params=(_period(14, name="k_period"), _period(3, name="d_period"), _period(3, name="smooth")),
    outputs=("k", "d"),
    warmup=lambda k_period, d_period, smooth: k_period - 1 + smooth - 1 + d_period - 1,
    inputs=HLC,
    talib="STOCH",
)
def stoch(bars: pd.DataFrame, k_period: int, d_period: int, smooth: int) -> dict[str, np.ndarray]:
    """Slow stochastic: %K (raw %K smoothed by a ``smooth`` SMA) and %D (its ``d_period`` SMA)."""
    raw = k.stoch_k(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), k_period)
    slow_k = k.sma(raw, smooth)
    return {"k": slow_k, "d": k.sma(slow_k, d_period)}


@indicator(
    "willr", "momentum", params=(_period(14),), warmup=lambda period: period - 1, inputs=HLC, talib="WILLR"
)
def willr(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Williams %R: the close's distance below the ``period`` high, as a share of the range (-100-0)."""
    return {"": k.willr(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), period)}


@indicator(
    "cci", "momentum", params=(_period(20, 2),), warmup=lambda period: period - 1, inputs=HLC, talib="CCI"
)
def cci(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Commodity channel index of the typical price (mean absolute deviation, 0.015 constant)."""
    return {"": k.cci(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), period)}


_MACD_PARAMS = (_period(12, name="fast"), _period(26, 2, name="slow"), _period(9, name="signal"))


@indicator(
    "macd",
    "momentum",
    params=_MACD_PARAMS,
    outputs=("", "signal", "hist"),
    warmup=lambda fast, slow, signal: slow - 1 + signal - 1,
    talib="MACD",
    check=_fast_slow_check,
    fills=True,
)
def macd(bars: pd.DataFrame, out: np.ndarray, fast: int, slow: int, signal: int) -> None:
    """MACD: fast EMA minus slow EMA, its signal EMA and the histogram (line - signal)."""
    k.macd_into(_col(bars, "close"), fast, slow, signal, out[0], out[1], out[2])


@indicator(
    "ppo",
    "momentum",
    params=_MACD_PARAMS,
    outputs=("", "signal", "hist"),
    warmup=lambda fast, slow, signal: slow - 1 + signal - 1,
    talib="PPO",
    check=_fast_slow_check,
)
def ppo(bars: pd.DataFrame, fast: int, slow: int, signal: int) -> dict[str, np.ndarray]:
    """Percentage price oscillator: fast minus slow EMA in percent of the slow EMA, with signal and histogram.

    Unlike :func:`macd`, each EMA is seeded on its own first full window, as TA-Lib's PPO does.
    """
    close = _col(bars, "close")
    f, s = k.ema(close, fast), k.ema(close, slow)
    line = 100.0 * (f - s) / s
    sig = k.ema(line, signal)
    return {"": line, "signal": sig, "hist": line - sig}


@indicator("roc", "momentum", params=(_period(10),), warmup=lambda period: period, talib="ROC")
def roc(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Rate of change over ``period`` bars, in percent (TA-Lib's ROC)."""
    return {"": 100.0 * (_lag_ratio(_col(bars, "close"), period) - 1.0)}


@indicator("momentum", "momentum", params=(_period(10),), warmup=lambda period: period, talib="MOM")
def momentum(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Momentum: close minus the close ``period`` bars ago, in price units."""
    close = _col(bars, "close")
    out = np.full(close.shape, np.nan)
    out[period:] = close[period:] - close[:-period]
    return {"": out}


@indicator("returns", "momentum", params=(_period(1),), warmup=lambda period: period)
def returns(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Simple return of the close over the last ``period`` bars (a fraction, not percent)."""
    return {"": _lag_ratio(_col(bars, "close"), period) - 1.0}


@indicator(
    "trix", "momentum", params=(_period(15, 2),), warmup=lambda period: 3 * (period - 1) + 1, talib="TRIX"
)
def trix(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """TRIX: one-bar rate of change (percent) of a triple-smoothed EMA."""
    e3 = k.ema(k.ema(k.ema(_col(bars, "close"), period), period), period)
    return {"": 100.0 * (_lag_ratio(e3, 1) - 1.0)}


@indicator(
    "tsi",
    "momentum",
    params=(_period(25, name="long"), _period(13, name="short")),
    warmup=lambda long, short: long + short - 1,
)
def tsi(bars: pd.DataFrame, long: int, short: int) -> dict[str, np.ndarray]:
    """True strength index: double-smoothed price change over double-smoothed absolute change (percent)."""
    close = _col(bars, "close")
    change = np.full(close.shape, np.nan)
    change[1:] = np.diff(close)
    num = k.ema(k.ema(change, long), short)
    den = k.ema(k.ema(np.abs(change), long), short)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0.0, 100.0 * num / den, 0.0)
    out[np.isnan(den)] = np.nan
    return {"": out}


@indicator(
    "ultosc",
    "momentum",
    params=(_period(7, name="fast"), _period(14, name="mid"), _period(28, name="slow")),
    warmup=lambda fast, mid, slow: slow,
    inputs=HLC,
    talib="ULTOSC",
    check=lambda fast, mid, slow: (
        None if fast < mid < slow else f"periods must increase: fast ({fast}) < mid ({mid}) < slow ({slow})"
    ),
)
def ultosc(bars: pd.DataFrame, fast: int, mid: int, slow: int) -> dict[str, np.ndarray]:
    """Ultimate oscillator: buying pressure over true range on three windows, weighted 4:2:1 (0-100)."""
    return {"": k.ultosc(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), fast, mid, slow)}


@indicator(
    "fisher",
    "momentum",
    params=(_period(10),),
    outputs=("", "signal"),
    warmup=lambda period: period - 1,
    inputs=("high", "low"),
)
def fisher(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Ehlers' Fisher transform of the bar midpoint in its ``period`` range; signal = its previous value."""
    f, trigger = k.fisher(_col(bars, "high"), _col(bars, "low"), period)
    return {"": f, "signal": trigger}


@indicator("momentum_score", "momentum", params=(_period(20, 2),), warmup=lambda period: period, inputs=HLC)
def momentum_score(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Composite momentum in [-1, 1]: the mean of three views of the last ``period`` bars.

    (RSI - 50) / 50; tanh of the log return over ``period`` bars divided by its volatility
    (one-bar log-return std times sqrt(period)), 0 when flat; and the stochastic %K mapped to [-1, 1].
    """
    high, low, close = _col(bars, "high"), _col(bars, "low"), _col(bars, "close")
    r = (k.rsi(close, period) - 50.0) / 50.0
    log_ret = np.full(close.shape, np.nan)
    log_ret[1:] = np.diff(np.log(close))
    vol = k.rolling_std(log_ret, period, 1) * np.sqrt(period)
    drift = np.full(close.shape, np.nan)
    drift[period:] = np.log(close[period:] / close[:-period])
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = np.where(vol > 0.0, np.tanh(drift / vol), 0.0)
    trend[np.isnan(vol)] = np.nan
    st = k.stoch_k(high, low, close, period) / 50.0 - 1.0
    return {"": (r + trend + st) / 3.0}
