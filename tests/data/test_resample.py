"""Session-aware resampling against a hand-made case and against pandas on a regular-session day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data import resample
from sigma_lab.data.sources.synthetic import SyntheticSource
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import ConfigError


def minute_bars(day: str, start: str, end: str, seed: int = 0) -> pd.DataFrame:
    index = pd.date_range(
        f"{day} {start}", f"{day} {end}", freq="1min", tz="America/New_York", inclusive="left"
    )
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.1, len(index)))
    open_ = np.r_[100.0, close[:-1]]
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.05,
            "low": np.minimum(open_, close) - 0.05,
            "close": close,
            "volume": rng.integers(1, 1000, len(index)).astype(float),
            "vwap": (open_ + close) / 2,
        },
        index=index.tz_convert("UTC").rename("timestamp"),
    )
    return bars


def test_hand_made_minutes_to_hour_bar() -> None:
    index = pd.DatetimeIndex(
        ["2024-01-03 09:29", "2024-01-03 09:30", "2024-01-03 09:31", "2024-01-03 10:45"],
        tz="America/New_York",
    ).tz_convert("UTC")
    bars = pd.DataFrame(
        {
            "open": [9.0, 10.0, 11.0, 12.0],
            "high": [9.5, 11.0, 13.0, 12.5],
            "low": [8.5, 9.0, 10.5, 11.5],
            "close": [9.2, 11.0, 12.0, 12.2],
            "volume": [50.0, 100.0, 300.0, 10.0],
            "vwap": [9.1, 10.5, 12.0, 12.1],
        },
        index=index,
    )
    out = resample(bars, "1h")
    assert list(out.index.tz_convert("America/New_York").strftime("%H:%M")) == ["09:30", "10:30"]
    first = out.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        10.0,
        13.0,
        9.0,
        12.0,
        400.0,
    )
    assert first["vwap"] == pytest.approx((10.5 * 100 + 12.0 * 300) / 400)
    assert out.iloc[1]["volume"] == 10.0


def test_regular_session_hours_match_pandas_anchored_at_the_open() -> None:
    bars = minute_bars("2024-07-10", "04:00", "20:00")
    ours = resample(bars, "1h", session="regular")
    local = bars.tz_convert("America/New_York")
    regular = local.between_time("09:30", "15:59")
    grouped = regular.resample("1h", origin=pd.Timestamp("2024-07-10 09:30", tz="America/New_York"))
    theirs = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )
    theirs.index = theirs.index.tz_convert("UTC")
    assert len(ours) == 7
    pd.testing.assert_frame_equal(ours[theirs.columns], theirs, check_names=False, check_freq=False)


def test_daily_bar_is_one_per_session_date_not_per_utc_day() -> None:
    bars = minute_bars("2024-07-10", "04:00", "20:00")
    daily = resample(bars, "1d", session="extended")
    assert list(daily.index) == [pd.Timestamp("2024-07-10", tz="UTC")]
    assert daily["volume"].iloc[0] == bars["volume"].sum()
    regular = resample(bars, "1d")
    local = bars.tz_convert("America/New_York").between_time("09:30", "15:59")
    assert regular["open"].iloc[0] == local["open"].iloc[0]
    assert regular["close"].iloc[0] == local["close"].iloc[-1]


def test_empty_intervals_never_make_bars() -> None:
    bars = minute_bars("2024-07-10", "09:30", "16:00")
    gappy = bars[(bars.index.minute < 10) | (bars.index.hour >= 18)]
    out = resample(gappy, "15m")
    expected = [
        "10:00",
        "11:00",
        "12:00",
        "13:00",
        "14:00",
        "14:15",
        "14:30",
        "14:45",
        "15:00",
        "15:15",
        "15:30",
        "15:45",
    ]
    assert list(out.index.tz_convert("America/New_York").strftime("%H:%M")) == expected
    assert out["volume"].sum() == gappy["volume"].sum()


def test_hourly_source_keeps_its_hour_grid_for_daily_and_multi_hour() -> None:
    hourly = SyntheticSource(seed=1).fetch(
        "X", parse_timeframe("1h"), pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-31", tz="UTC")
    )
    two = resample(hourly, "2h", source_timeframe="1h")
    assert two["volume"].sum() == pytest.approx(hourly["volume"].sum())
    weekly = resample(resample(hourly, "1d"), "1w")
    assert (weekly.index.day_of_week == 0).all()
    assert weekly["volume"].sum() == pytest.approx(hourly["volume"].sum())


def test_finer_or_misaligned_targets_are_refused() -> None:
    bars = minute_bars("2024-07-10", "09:30", "16:00")
    hourly = resample(bars, "1h")
    with pytest.raises(ConfigError, match="finer"):
        resample(hourly, "5m")
    with pytest.raises(ConfigError, match="not a multiple"):
        resample(resample(bars, "2m"), "5m")
    with pytest.raises(ConfigError, match="unknown session"):
        resample(bars, "1h", session="night")
