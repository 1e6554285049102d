"""The fast paths of the indicator library keep its answers: plan cache, fused kernels, resums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.errors import ConfigError
from sigma_lab.indicators import compute, compute_into
from sigma_lab.indicators.kernels import RESUM_EVERY


def _bars(close: np.ndarray) -> pd.DataFrame:
    idx = pd.date_range("2020-01-01", periods=len(close), freq="min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": close, "high": close * 1.001, "low": close * 0.999, "close": close, "volume": 1.0}, index=idx
    )


def test_a_cached_plan_still_rejects_a_bool_where_a_whole_number_was_accepted():
    bars = _bars(np.linspace(100, 110, 50))
    compute(bars, "sma", period=1)
    with pytest.raises(ConfigError, match="period"):
        compute(bars, "sma", period=True)


def test_running_sums_do_not_drift_across_resums_after_a_jump_in_price_level():
    rng = np.random.default_rng(7)
    n = RESUM_EVERY * 6 + 17
    close = np.concatenate([np.full(n // 2, 1e6), np.full(n - n // 2, 1.0)]) + rng.random(n)
    bars = _bars(close)
    period = 20
    got = compute(bars, "bbands", period=period, nstd=2.0)
    windows = np.lib.stride_tricks.sliding_window_view(close, period)
    mean = np.concatenate([np.full(period - 1, np.nan), windows.mean(axis=1)])
    std = np.concatenate([np.full(period - 1, np.nan), windows.std(axis=1)])
    tail = slice(n // 2 + period, None)
    np.testing.assert_allclose(got[f"bbands_{period}_2_middle"].to_numpy()[tail], mean[tail], rtol=1e-9)
    np.testing.assert_allclose(
        got[f"bbands_{period}_2_upper"].to_numpy()[tail], (mean + 2 * std)[tail], rtol=1e-9
    )
    sma = compute(bars, "sma", period=period)[f"sma_{period}"].to_numpy()
    np.testing.assert_allclose(sma[tail], mean[tail], rtol=1e-9)


def test_a_prefix_of_the_bars_gives_the_same_values_across_a_resum_boundary():
    close = 100 + np.cumsum(np.random.default_rng(3).normal(size=RESUM_EVERY * 2 + 5))
    full = compute(_bars(close), "bbands", period=30, nstd=2.0)
    cut = RESUM_EVERY + 11
    part = compute(_bars(close[:cut]), "bbands", period=30, nstd=2.0)
    pd.testing.assert_frame_equal(full.iloc[:cut], part)


def test_compute_into_writes_what_compute_returns_and_checks_the_shape():
    bars = _bars(100 + np.cumsum(np.random.default_rng(5).normal(size=300)))
    expected = compute(bars, "macd", fast=5, slow=13, signal=4)
    out = np.full((3, len(bars)), 7.0)
    compute_into(bars, "macd", out, fast=5, slow=13, signal=4)
    np.testing.assert_array_equal(out, expected.to_numpy().T)
    with pytest.raises(ValueError, match="needs"):
        compute_into(bars, "macd", np.empty((2, len(bars))))
