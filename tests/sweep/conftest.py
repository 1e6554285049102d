"""Fixtures for sweep tests: seeded random-walk bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def walk_bars(n: int, seed: int = 3, freq: str = "1D") -> pd.DataFrame:
    """Random-walk OHLC bars, ``n`` of them at ``freq`` from 2020-01-01 UTC."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
    idx = pd.date_range("2020-01-01", periods=n, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx)


@pytest.fixture
def bars() -> pd.DataFrame:
    return walk_bars(800)
