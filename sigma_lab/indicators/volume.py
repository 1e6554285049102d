"""Volume indicators: cumulative and windowed money flow, volume anomalies and session VWAP."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.indicators import kernels as k
from sigma_lab.indicators.registry import Param, indicator
from sigma_lab.indicators.volatility import new_york_days

HLCV = ("high", "low", "close", "volume")


def _col(bars: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(bars[name].to_numpy(dtype="float64"))


def _period(default: int, low: int = 1, high: int = 10_000) -> Param:
    return Param("period", default, low, high, description="bars in the window")


@indicator("obv", "volume", inputs=("close", "volume"), talib="OBV", fills=True)
def obv(bars: pd.DataFrame, out: np.ndarray) -> None:
    """On-balance volume: volume added on up closes, subtracted on down closes, from bar one's volume."""
    k.obv_into(_col(bars, "close"), _col(bars, "volume"), out[0])


@indicator("mfi", "volume", params=(_period(14),), warmup=lambda period: period, inputs=HLCV, talib="MFI")
def mfi(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Money flow index: the share of typical-price money flow on up bars over ``period`` bars (0-100)."""
    cols = [_col(bars, c) for c in HLCV]
    return {"": k.mfi(*cols, period)}


@indicator("cmf", "volume", params=(_period(20),), warmup=lambda period: period - 1, inputs=HLCV)
def cmf(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Chaikin money flow: close-location-weighted volume over total volume, ``period`` bars (-1 to 1)."""
    cols = [_col(bars, c) for c in HLCV]
    return {"": k.cmf(*cols, period)}


@indicator(
    "volume_zscore", "volume", params=(_period(20, 2),), warmup=lambda period: period - 1, inputs=("volume",)
)
def volume_zscore(bars: pd.DataFrame, period: int) -> dict[str, np.ndarray]:
    """Z-score of the bar's volume against the last ``period`` bars (this one included; 0 when constant)."""
    vol = _col(bars, "volume")
    mean = k.sma(vol, period)
    std = k.rolling_std(vol, period, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0.0, (vol - mean) / std, 0.0)
    z[np.isnan(std)] = np.nan
    return {"": z}


def _session_vwap(bars: pd.DataFrame, what: str) -> np.ndarray:
    if "vwap" in bars.columns:
        price = _col(bars, "vwap")
    else:
        price = (_col(bars, "high") + _col(bars, "low") + _col(bars, "close")) / 3.0
    return k.session_vwap(price, _col(bars, "volume"), new_york_days(bars.index, what))


@indicator("vwap_session", "volume", inputs=HLCV)
def vwap_session(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """VWAP anchored at each New York trading date, accumulated bar by bar.

    Each bar contributes its own ``vwap`` when the bars carry one, else its typical price.
    """
    return {"": _session_vwap(bars, "vwap_session")}


@indicator("close_vs_vwap", "volume", inputs=HLCV)
def close_vs_vwap(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Close relative to the session VWAP, as a fraction (close / vwap - 1)."""
    return {"": _col(bars, "close") / _session_vwap(bars, "close_vs_vwap") - 1.0}
