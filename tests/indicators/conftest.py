"""Bar frames for the indicator tests: the real SPY hourly and AAPL daily samples, and random walks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data.bars import validate_bars

SAMPLE = Path(__file__).resolve().parents[2] / "sigma_lab" / "data" / "sample"


def random_walk_bars(n: int, seed: int, freq: str = "30min", session: bool = True) -> pd.DataFrame:
    """``n`` valid bars from a seeded random walk; ``session`` puts them in 09:30-16:00 New York hours."""
    rng = np.random.default_rng(seed)
    if session:
        per_day = pd.timedelta_range("09:30:00", "15:59:59", freq=freq)
        days = pd.bdate_range("2024-01-02", periods=-(-n // len(per_day)), tz="America/New_York")
        stamps = [day + offset for day in days for offset in per_day][:n]
        index = pd.DatetimeIndex(stamps).tz_convert("UTC")
    else:
        index = pd.date_range("2015-01-02", periods=n, freq=freq, tz="UTC")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.002, n - 1))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.004, n)))
    # whole-cent prices give ties and flat stretches, as real data does
    open_, high, low, close = (np.round(x, 2) for x in (open_, high, low, close))
    high = np.maximum.reduce([high, open_, close])
    low = np.minimum.reduce([low, open_, close])
    volume = np.round(rng.lognormal(10.0, 0.6, n))
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=index.rename("timestamp"),
    )
    return validate_bars(frame)


@pytest.fixture(scope="session")
def make_bars() -> Callable[..., pd.DataFrame]:
    """The random-walk bar builder (session-scoped so hypothesis tests can use it)."""
    return random_walk_bars


@pytest.fixture(scope="session")
def spy_1h() -> pd.DataFrame:
    """The real SPY hourly sample (extended hours, with a per-bar vwap)."""
    raw = pd.read_parquet(SAMPLE / "spy_1h.parquet")
    frame = raw.set_index(pd.DatetimeIndex(raw["timestamp"]).tz_convert("UTC")).drop(columns="timestamp")
    return validate_bars(frame)


@pytest.fixture(scope="session")
def aapl_1d() -> pd.DataFrame:
    """AAPL daily bars from the stock sample (unadjusted prices), stamped at the 16:00 New York close."""
    raw = pd.read_parquet(SAMPLE / "stocks_1d.parquet")
    raw = raw[raw["symbol"] == "AAPL"]
    stamps = pd.DatetimeIndex(raw["date"]).tz_localize("America/New_York") + pd.Timedelta(hours=16)
    frame = raw[["open", "high", "low", "close", "volume"]].set_index(stamps.tz_convert("UTC"))
    return validate_bars(frame)


@pytest.fixture(scope="session")
def walk_1h() -> pd.DataFrame:
    """Five thousand synthetic hourly bars around the clock."""
    return random_walk_bars(5000, seed=7, freq="1h", session=False)


@pytest.fixture(scope="session", params=["spy_1h", "aapl_1d", "walk_1h"])
def dataset(request: pytest.FixtureRequest) -> pd.DataFrame:
    """Each of the real and synthetic bar frames in turn."""
    return request.getfixturevalue(request.param)
