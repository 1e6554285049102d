"""Trend indicators: moving averages, directional movement, channels of trend and trend quality."""

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


def _less(a: str, b: str):
    def check(**p: int) -> str | None:
        return f"{a} ({p[a]}) must be less than {b} ({p[b]})" if p[a] >= p[b] else None

    return check


@indicator("sma", "trend", params=(_period(20),), warmup=lambda period: period - 1, talib="SMA", fills=True)
def sma(bars: pd.DataFrame, out: np.ndarray, period: int) -> None:
    """Simple moving average of the close."""
    k.sma_into(_col(bars, "close"), period, out[0])


@indicator("ema", "trend", params=(_period(20),), warmup=lambda period: period - 1, talib="EMA", fills=True)
def ema(bars: pd.DataFrame, out: np.ndarray, period: int) -> None:
    """Exponential moving average of the close (k = 2/(period+1), seeded by the first SMA)."""
    k.ema_into(_col(bars, "close"), period, out[0])


@indicator(
    "ema_slope",
    "trend",
    params=(_period(20), _period(5, name="lookback")),
    warmup=lambda period, lookback: period - 1 + lookback,
)
def ema_slope(bars: pd.DataFrame, period: int, lookback: int) -> dict[str, np.ndarray]:
    """Slope of the EMA: its fractional change over ``lookback`` bars, per bar."""
    e = k.ema(_col(bars, "close"), period)
    out = np.full(e.shape, np.nan)
    out[lookback:] = (e[lookback:] / e[:-lookback] - 1.0) / lookback
    return {"": out}


@indicator("dist_ema", "trend", params=(_period(20),), warmup=lambda period: period - 1)
def dist_ema(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Distance of the close from its EMA as a fraction of the EMA (close / ema - 1)."""
    close = _col(bars, "close")
    return {"": close / k.ema(close, period) - 1.0}


@indicator(
    "kama",
    "trend",
    params=(_period(10, 2), Param("fast", 2, 1, 1000), Param("slow", 30, 2, 1000)),
    warmup=lambda period, fast, slow: period,
    talib="KAMA",
    check=_less("fast", "slow"),
)
def kama(bars: pd.DataFrame, period: int, fast: int, slow: int) -> dict[str, np.ndarray]:
    """Kaufman adaptive moving average: efficiency ratio over ``period`` scales between fast and slow EMAs."""
    return {"": k.kama(_col(bars, "close"), period, fast, slow)}


@indicator(
    "adx",
    "trend",
    params=(_period(14, 2),),
    outputs=("", "plus_di", "minus_di"),
    warmup=lambda period: 2 * period - 1,
    inputs=HLC,
    talib="ADX",
    fills=True,
)
def adx(bars: pd.DataFrame, out: np.ndarray, period: int) -> None:
    """Average directional index with the +DI and -DI lines (Wilder smoothing)."""
    k.adx_into(_col(bars, "high"), _col(bars, "low"), _col(bars, "close"), period, out[0], out[1], out[2])


@indicator(
    "aroon",
    "trend",
    params=(_period(25, 2),),
    outputs=("up", "down", "osc"),
    warmup=lambda period: period,
    inputs=("high", "low"),
    talib="AROON",
)
def aroon(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Aroon up/down (bars since the ``period`` high/low, scaled 0-100) and their difference."""
    up, down = k.aroon(_col(bars, "high"), _col(bars, "low"), period)
    return {"up": up, "down": down, "osc": up - down}


def _midpoint(high: np.ndarray, low: np.ndarray, period: int) -> np.ndarray:
    return (k.rolling_max(high, period) + k.rolling_min(low, period)) / 2.0


def _shift(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if n < len(x):
        out[n:] = x[: len(x) - n]
    return out


@indicator(
    "ichimoku",
    "trend",
    params=(_period(9, name="tenkan"), _period(26, name="kijun"), _period(52, name="senkou")),
    outputs=("tenkan", "kijun", "senkou_a", "senkou_b"),
    warmup=lambda tenkan, kijun, senkou: max(tenkan, kijun, senkou) - 1 + kijun,
    inputs=("high", "low"),
    check=_less("tenkan", "kijun"),
)
def ichimoku(bars: pd.DataFrame, tenkan: int, kijun: int, senkou: int) -> dict[str, np.ndarray]:
    """Ichimoku lines; the senkou spans are the cloud drawn at t (computed ``kijun`` bars earlier).

    The chikou span is omitted: it is the close drawn ``kijun`` bars in the past, which
    would put a future close on a past row.
    """
    high, low = _col(bars, "high"), _col(bars, "low")
    conv = _midpoint(high, low, tenkan)
    base = _midpoint(high, low, kijun)
    return {
        "tenkan": conv,
        "kijun": base,
        "senkou_a": _shift((conv + base) / 2.0, kijun),
        "senkou_b": _shift(_midpoint(high, low, senkou), kijun),
    }


@indicator(
    "psar",
    "trend",
    params=(Param("step", 0.02, 0.001, 1.0), Param("maximum", 0.2, 0.001, 1.0)),
    warmup=1,
    inputs=("high", "low"),
    talib="SAR",
    check=lambda step, maximum: (
        f"step ({step}) must not exceed maximum ({maximum})" if step > maximum else None
    ),
)
def psar(bars: pd.DataFrame, step: float, maximum: float) -> dict[str, np.ndarray]:
    """Wilder's parabolic stop-and-reverse."""
    return {"": k.sar(_col(bars, "high"), _col(bars, "low"), step, maximum)}


@indicator(
    "supertrend",
    "trend",
    params=(_period(10), Param("multiplier", 3.0, 0.1, 20.0)),
    outputs=("", "direction"),
    warmup=lambda period, multiplier: period,
    inputs=HLC,
)
def supertrend(bars: pd.DataFrame, period: int, multiplier: float) -> dict[str, np.ndarray]:
    """Supertrend: a trailing ATR band around the bar midpoint that flips with the trend (+1 up, -1 down)."""
    line, direction = k.supertrend(
        _col(bars, "high"), _col(bars, "low"), _col(bars, "close"), period, multiplier
    )
    return {"": line, "direction": direction}


@indicator("linreg_r2", "trend", params=(_period(20, 3),), warmup=lambda period: period - 1)
def linreg_r2(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """R² of a straight-line fit of the last ``period`` closes against time (trend quality, 0-1)."""
    return {"": k.linreg_r2(_col(bars, "close"), period)}


@indicator(
    "elder_ray",
    "trend",
    params=(_period(13),),
    outputs=("bull", "bear"),
    warmup=lambda period: period - 1,
    inputs=HLC,
)
def elder_ray(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Elder ray: bull power (high - EMA) and bear power (low - EMA)."""
    e = k.ema(_col(bars, "close"), period)
    return {"bull": _col(bars, "high") - e, "bear": _col(bars, "low") - e}


@indicator("dpo", "trend", params=(_period(20, 2),), warmup=lambda period: max(period - 1, period // 2 + 1))
def dpo(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Detrended price oscillator without look-ahead: close ``period//2 + 1`` bars ago minus today's SMA.

    The classic chart plots this value centred, ``period//2 + 1`` bars back, which uses future
    bars; here it stays on the bar where it becomes known.
    """
    close = _col(bars, "close")
    return {"": _shift(close, period // 2 + 1) - k.sma(close, period)}


@indicator(
    "qstick", "trend", params=(_period(8),), warmup=lambda period: period - 1, inputs=("open", "close")
)
def qstick(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Qstick: the moving average of close - open (candle body)."""
    return {"": k.sma(_col(bars, "close") - _col(bars, "open"), period)}
