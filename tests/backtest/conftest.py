"""Fixtures for backtest tests: hand-made OHLC bars and the bundled sample data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "sigma_lab" / "data" / "sample"


def bars_from(rows: Sequence[tuple[float, float, float, float]], freq: str = "1D") -> pd.DataFrame:
    """A bar frame from (open, high, low, close) rows, daily from 2024-01-01 UTC."""
    arr = np.asarray(rows, dtype=float)
    idx = pd.date_range("2024-01-01", periods=len(arr), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": arr[:, 0], "high": arr[:, 1], "low": arr[:, 2], "close": arr[:, 3], "volume": 1000.0},
        index=idx,
    )


def flags(n: int, *at: int) -> np.ndarray:
    """A boolean array of length ``n``, True at the given bars."""
    out = np.zeros(n, dtype=bool)
    out[list(at)] = True
    return out


@pytest.fixture
def make_bars() -> Callable[..., pd.DataFrame]:
    return bars_from


@pytest.fixture(scope="session")
def spy_1h() -> pd.DataFrame:
    bars = pd.read_parquet(SAMPLE / "spy_1h.parquet").set_index("timestamp")
    return bars[["open", "high", "low", "close", "volume"]]


@pytest.fixture(scope="session")
def aapl_1d() -> pd.DataFrame:
    raw = pd.read_parquet(SAMPLE / "stocks_1d.parquet")
    a = raw[raw["symbol"] == "AAPL"].set_index("date")
    a.index = pd.DatetimeIndex(a.index).tz_localize("UTC").rename("timestamp")
    return a[["open", "high", "low", "close", "volume"]].astype("float64")


@pytest.fixture
def random_bars() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
    idx = pd.date_range("2024-01-02 14:30", periods=n, freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx)


def sma_cross_signals(close: pd.Series, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross-up entries and cross-down exits of two pandas rolling means (a reference)."""
    f = close.rolling(fast).mean().to_numpy()
    s = close.rolling(slow).mean().to_numpy()
    with np.errstate(invalid="ignore"):
        up = np.zeros(len(f), dtype=bool)
        down = np.zeros(len(f), dtype=bool)
        up[1:] = (f[1:] > s[1:]) & (f[:-1] <= s[:-1])
        down[1:] = (f[1:] < s[1:]) & (f[:-1] >= s[:-1])
    return up, down
