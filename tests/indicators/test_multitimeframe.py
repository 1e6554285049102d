"""Daily indicators on intraday bars: daily bars by New York date, values only from completed days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from sigma_lab.indicators import compute
from sigma_lab.indicators.multitimeframe import daily_bars

NY = "America/New_York"
NAMES = ("daily_rsi", "daily_ema", "daily_return", "dist_daily_ema")


def spy_hourly() -> pd.DataFrame:
    return pd.read_parquet("sigma_lab/data/sample/spy_1h.parquet").set_index("timestamp")


def reference_daily(bars: pd.DataFrame) -> pd.DataFrame:
    """Daily bars from the 09:00-15:00 New York hourly bars (those overlapping 09:30-16:00)."""
    part = bars[bars.index.tz_convert(NY).hour.isin(range(9, 16))]
    day = pd.Index(part.index.tz_convert(NY).date)
    g = part.groupby(day)
    return pd.DataFrame(
        {
            "open": g["open"].first(),
            "high": g["high"].max(),
            "low": g["low"].min(),
            "close": g["close"].last(),
            "volume": g["volume"].sum(),
        }
    )


def reference_values(daily: pd.DataFrame, name: str, period: int) -> pd.Series:
    close = daily["close"].to_numpy()
    if name == "daily_rsi":
        values = talib.RSI(close, period)
    elif name == "daily_ema":
        values = talib.EMA(close, period)
    elif name == "daily_return":
        values = daily["close"].pct_change(period).to_numpy()
    else:
        values = close / talib.EMA(close, period) - 1.0
    return pd.Series(values, index=daily.index)


def on_completed_days(bars: pd.DataFrame, per_day: pd.Series) -> np.ndarray:
    """Each bar gets the value of the last day strictly before its New York date."""
    dates = pd.Index(bars.index.tz_convert(NY).date)
    days = list(per_day.index)
    pos = np.searchsorted(np.array(days, dtype="datetime64[D]"), np.array(dates, dtype="datetime64[D]")) - 1
    return np.where(pos >= 0, per_day.to_numpy()[np.clip(pos, 0, None)], np.nan)


def test_daily_bars_are_built_from_regular_hours_by_new_york_date() -> None:
    bars = spy_hourly()
    got = daily_bars(bars)
    expected = reference_daily(bars)
    assert [d.date() for d in got.index] == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())


@pytest.mark.parametrize(
    ("name", "period"), [("daily_rsi", 14), ("daily_ema", 10), ("daily_return", 3), ("dist_daily_ema", 10)]
)
def test_daily_indicator_on_hourly_bars_is_the_previous_days_value(name: str, period: int) -> None:
    bars = spy_hourly()
    got = compute(bars, name, period=period).iloc[:, 0].to_numpy()
    expected = on_completed_days(bars, reference_values(reference_daily(bars), name, period))
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert np.isfinite(got).sum() > 700


@pytest.mark.parametrize("name", NAMES)
def test_daily_indicator_on_daily_bars_is_shifted_by_one(name: str) -> None:
    raw = pd.read_parquet("sigma_lab/data/sample/stocks_1d.parquet")
    raw = raw[raw["symbol"] == raw["symbol"].iloc[0]].iloc[:400]
    bars = raw.set_index(pd.DatetimeIndex(raw["date"], tz="UTC", name="timestamp"))[
        ["open", "high", "low", "close", "volume"]
    ].astype(float)
    got = compute(bars, name, period=5).iloc[:, 0].to_numpy()
    expected = reference_values(bars, name, 5).shift(1).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_changing_a_days_later_bars_never_changes_its_earlier_bars(name: str) -> None:
    bars = spy_hourly()
    full = compute(bars, name, period=5).iloc[:, 0].to_numpy()
    dates = pd.Index(bars.index.tz_convert(NY).date)
    for day in sorted(set(dates))[30:120:15]:
        rows = np.flatnonzero(dates == day)
        cut = rows[len(rows) // 2]
        changed = bars.copy()
        for col in ("open", "high", "low", "close"):
            changed.iloc[cut + 1 :, changed.columns.get_loc(col)] *= 1.1
        after = compute(changed, name, period=5).iloc[:, 0].to_numpy()
        np.testing.assert_array_equal(after[: cut + 1], full[: cut + 1])
        truncated = compute(bars.iloc[: cut + 1], name, period=5).iloc[:, 0].to_numpy()
        np.testing.assert_array_equal(truncated, full[: cut + 1])


def test_whole_session_shares_one_value_and_the_next_session_sees_it() -> None:
    bars = spy_hourly()
    got = compute(bars, "daily_return", period=1).iloc[:, 0]
    dates = pd.Index(bars.index.tz_convert(NY).date)
    per_session = got.groupby(dates).nunique(dropna=False)
    assert (per_session == 1).all()
    daily = reference_daily(bars)
    sessions = sorted(set(dates))
    for prev, day in zip(sessions[40:50], sessions[41:51], strict=True):
        first_bar = got[dates == day].iloc[0]
        assert first_bar == pytest.approx(daily["close"][prev] / daily["close"].shift(1)[prev] - 1.0)


def test_first_bar_of_a_session_changes_when_only_the_previous_day_changes() -> None:
    bars = spy_hourly()
    dates = pd.Index(bars.index.tz_convert(NY).date)
    sessions = sorted(set(dates))
    prev, day = sessions[60], sessions[61]
    changed = bars.copy()
    last_regular = np.flatnonzero((dates == prev) & (bars.index.tz_convert(NY).hour == 15))[0]
    changed.iloc[last_regular, changed.columns.get_loc("close")] = changed["low"].iloc[last_regular]
    before = compute(bars, "daily_return").iloc[:, 0]
    after = compute(changed, "daily_return").iloc[:, 0]
    assert (before[dates == prev] == after[dates == prev]).all()
    assert after[dates == day].iloc[0] != before[dates == day].iloc[0]
