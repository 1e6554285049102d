"""Synthetic bars: reproducible, valid, inside US sessions, with clustering, regimes and volume."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data import load, validate_bars
from sigma_lab.data.sources.synthetic import SyntheticSource
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import ConfigError


def test_same_seed_gives_identical_bars_and_other_seed_or_symbol_differs(workspace: Path) -> None:
    a = load("TEST", "5m", source="synthetic", seed=7, n_bars=2000)
    b = SyntheticSource(seed=7, n_bars=2000).fetch("TEST", parse_timeframe("5m"))
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"], load("TEST", "5m", source="synthetic", seed=8, n_bars=2000)["close"])
    assert not np.allclose(a["close"], load("OTHER", "5m", source="synthetic", seed=7, n_bars=2000)["close"])


@pytest.mark.parametrize("timeframe", ["1m", "15m", "1h", "4h", "1d", "1w"])
def test_bars_are_valid_for_every_timeframe(timeframe: str) -> None:
    bars = SyntheticSource(seed=1, n_bars=3000).fetch("X", parse_timeframe(timeframe))
    assert len(bars) == 3000
    validate_bars(bars)


def test_intraday_bars_fall_in_regular_hours_on_weekdays_across_dst() -> None:
    start = pd.Timestamp("2024-03-01", tz="UTC")
    end = pd.Timestamp("2024-03-20", tz="UTC")
    bars = SyntheticSource(seed=2).fetch("X", parse_timeframe("30m"), start, end)
    ny = bars.index.tz_convert("America/New_York")
    assert (ny.day_of_week < 5).all()
    minutes = ny.hour * 60 + ny.minute
    assert minutes.min() == 9 * 60 + 30 and minutes.max() == 15 * 60 + 30
    before = bars.loc["2024-03-08"].index[0]
    after = bars.loc["2024-03-11"].index[0]
    assert (before.hour, after.hour) == (14, 13)
    assert len(bars.loc["2024-03-11"]) == 13


def test_daily_bars_are_weekdays_at_midnight_utc() -> None:
    bars = SyntheticSource(seed=3, n_bars=50).fetch("X", parse_timeframe("1d"))
    assert (bars.index == bars.index.normalize()).all()
    assert (bars.index.day_of_week < 5).all()


def test_start_and_end_pick_the_range_and_end_alone_counts_back() -> None:
    tf = parse_timeframe("1h")
    start, end = pd.Timestamp("2021-06-01", tz="UTC"), pd.Timestamp("2021-06-30", tz="UTC")
    ranged = SyntheticSource().fetch("X", tf, start, end)
    assert ranged.index[0] >= start and ranged.index[-1] <= end and len(ranged) == 21 * 7
    tail = SyntheticSource(n_bars=10).fetch("X", tf, end=end)
    assert len(tail) == 10 and tail.index[-1] <= end


def test_volatility_clusters_and_volume_follows_volatility() -> None:
    bars = SyntheticSource(seed=4, n_bars=50_000).generate("X", parse_timeframe("5m"))
    r = np.log(bars["close"]).diff().dropna().to_numpy()
    abs_r = np.abs(r)
    assert np.corrcoef(abs_r[1:], abs_r[:-1])[0, 1] > 0.1
    assert np.corrcoef(np.abs(r), bars["volume"].to_numpy()[1:])[0, 1] > 0.2
    assert set(np.unique(bars["regime"])) == {0, 1, 2}
    high_vol = np.abs(r[bars["regime"].to_numpy()[1:] == 2]).mean()
    calm = np.abs(r[bars["regime"].to_numpy()[1:] != 2]).mean()
    assert high_vol > 1.5 * calm


def test_a_million_bars_generate_in_seconds() -> None:
    source = SyntheticSource(seed=5, n_bars=1_000_000)
    source.fetch("X", parse_timeframe("1m"), end=pd.Timestamp("2020-01-10", tz="UTC"))
    began = time.perf_counter()
    bars = source.fetch("X", parse_timeframe("1m"))
    assert len(bars) == 1_000_000
    assert time.perf_counter() - began < 5.0


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="GARCH"):
        SyntheticSource(garch_alpha=0.5, garch_beta=0.6)
    with pytest.raises(ConfigError, match="n_bars must be positive"):
        SyntheticSource(n_bars=0).fetch("X", parse_timeframe("1d"))
