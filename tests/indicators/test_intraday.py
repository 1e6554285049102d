"""Intraday indicators against plain pandas references, on the SPY hourly sample and synthetic minutes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.indicators import compute

NY = "America/New_York"
SPY_1H = "sigma_lab/data/sample/spy_1h.parquet"


def spy_hourly() -> pd.DataFrame:
    return pd.read_parquet(SPY_1H).set_index("timestamp")


def minute_bars(days: int = 30, seed: int = 7, keep: float = 1.0) -> pd.DataFrame:
    """Random-walk minute bars 08:00-15:59 New York time on ``days`` weekdays across the March DST switch.

    ``keep`` < 1 drops that share of minutes at random (thin, gappy data).
    """
    rng = np.random.default_rng(seed)
    stamps = []
    for day in pd.bdate_range("2023-02-27", periods=days):
        wall = pd.date_range(
            day + pd.Timedelta(hours=8), day + pd.Timedelta(hours=15, minutes=59), freq="min"
        )
        stamps.append(wall.tz_localize(NY).tz_convert("UTC"))
    idx = stamps[0].append(stamps[1:])
    if keep < 1.0:
        kept = rng.random(len(idx)) < keep
        kept[:2] = True  # the first step fixes the bar length at one minute
        idx = idx[kept]
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, len(idx))))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = rng.uniform(0, 0.05, len(idx))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + wiggle,
            "low": np.minimum(open_, close) - wiggle,
            "close": close,
            "volume": rng.integers(100, 1000, len(idx)).astype(float),
        },
        index=pd.DatetimeIndex(idx, name="timestamp"),
    )


def ny_minutes(index: pd.DatetimeIndex) -> np.ndarray:
    ny = index.tz_convert(NY)
    return (ny.hour * 60 + ny.minute).to_numpy()


def ny_date(index: pd.DatetimeIndex) -> pd.Index:
    return pd.Index(index.tz_convert(NY).date)


def trailing_z(values: pd.Series, n: int) -> pd.Series:
    prior = values.shift(1).rolling(n)
    return (values - prior.mean()) / prior.std()


def assert_same(got: pd.Series, expected: pd.Series) -> None:
    np.testing.assert_allclose(
        got.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-9, atol=1e-12
    )


def test_day_range_pos_matches_cumulative_regular_session_range_on_spy_hourly() -> None:
    bars = spy_hourly()
    got = compute(bars, "day_range_pos").iloc[:, 0]
    rth = bars.index.tz_convert(NY).hour.isin(range(9, 16))
    part = bars[rth]
    day = ny_date(part.index)
    hi = part["high"].groupby(day).cummax()
    lo = part["low"].groupby(day).cummin()
    expected = pd.Series(np.nan, index=bars.index)
    expected[rth] = ((part["close"] - lo) / (hi - lo)).to_numpy()
    assert_same(got, expected)
    assert got[~rth].isna().all()


def test_day_range_pos_over_the_whole_date_when_session_is_all() -> None:
    bars = minute_bars(days=3)
    got = compute(bars, "day_range_pos", session="all").iloc[:, 0]
    day = ny_date(bars.index)
    hi = bars["high"].groupby(day).cummax()
    lo = bars["low"].groupby(day).cummin()
    assert_same(got, (bars["close"] - lo) / (hi - lo))


def test_first15_range_z_on_minute_bars_matches_a_pandas_reference() -> None:
    bars = minute_bars()
    got = compute(bars, "first15_range_z", lookback=5).iloc[:, 0]
    minutes = ny_minutes(bars.index)
    day = ny_date(bars.index)
    opening = bars[(minutes >= 570) & (minutes < 585)]
    oday = ny_date(opening.index)
    rng = (opening["high"].groupby(oday).max() - opening["low"].groupby(oday).min()) / opening[
        "open"
    ].groupby(oday).first()
    z = trailing_z(rng, 5)
    expected = pd.Series(z.reindex(day).to_numpy(), index=bars.index)
    expected[(minutes < 584) | (minutes >= 960)] = np.nan  # complete once the 09:44 bar has closed
    assert_same(got, expected)
    assert got.notna().sum() > 1000


def test_first15_range_z_on_hourly_bars_uses_the_first_regular_bar() -> None:
    bars = spy_hourly()
    got = compute(bars, "first15_range_z", lookback=10).iloc[:, 0]
    ny = bars.index.tz_convert(NY)
    first = bars[ny.hour == 9]
    rng = pd.Series(((first["high"] - first["low"]) / first["open"]).to_numpy(), index=ny_date(first.index))
    z = trailing_z(rng, 10)
    rth = ny.hour.isin(range(9, 16))
    expected = pd.Series(np.where(rth, z.reindex(ny_date(bars.index)).to_numpy(), np.nan), index=bars.index)
    assert_same(got, expected)


def test_gap_z_matches_open_over_previous_regular_close_on_spy_hourly() -> None:
    bars = spy_hourly()
    got = compute(bars, "gap_z", lookback=10).iloc[:, 0]
    ny = bars.index.tz_convert(NY)
    rth = ny.hour.isin(range(9, 16))
    part = bars[rth]
    day = ny_date(part.index)
    gap = part["open"].groupby(day).first() / part["close"].groupby(day).last().shift(1) - 1.0
    z = trailing_z(gap.iloc[1:], 10)
    expected = pd.Series(np.where(rth, z.reindex(ny_date(bars.index)).to_numpy(), np.nan), index=bars.index)
    assert_same(got, expected)
    assert got.notna().sum() > 400


def test_ret_last_30m_on_contiguous_minutes_is_the_30_bar_return_within_the_date() -> None:
    bars = minute_bars(days=4)
    got = compute(bars, "ret_last_30m").iloc[:, 0]
    expected = bars["close"] / bars["close"].groupby(ny_date(bars.index)).shift(30) - 1.0
    assert_same(got, expected)


def test_ret_last_30m_on_gappy_minutes_uses_the_last_close_at_least_30_minutes_back() -> None:
    bars = minute_bars(days=4, keep=0.3)
    got = compute(bars, "ret_last_30m").iloc[:, 0]
    left = pd.DataFrame(
        {"target": bars.index - pd.Timedelta(minutes=30), "date": ny_date(bars.index), "close": bars["close"]}
    )
    right = pd.DataFrame({"ts": bars.index, "date": ny_date(bars.index), "ref": bars["close"].to_numpy()})
    merged = pd.merge_asof(left, right, left_on="target", right_on="ts", by="date", direction="backward")
    assert_same(got, merged["close"] / merged["ref"] - 1.0)


def test_ret_last_30m_on_hourly_bars_is_the_bars_own_return() -> None:
    bars = spy_hourly()
    got = compute(bars, "ret_last_30m").iloc[:, 0]
    assert_same(got.iloc[1:], (bars["close"] / bars["open"] - 1.0).iloc[1:])
    assert np.isnan(got.iloc[0])  # the first bar of a frame has no known length yet


def test_intraday_indicators_on_daily_bars_treat_each_bar_as_a_session() -> None:
    idx = pd.date_range("2023-01-02", periods=40, freq="B", tz="UTC", name="timestamp")
    rng = np.random.default_rng(3)
    close = 50 + np.cumsum(rng.normal(0, 1, len(idx)))
    open_ = close + rng.normal(0, 0.5, len(idx))
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 1,
            "low": np.minimum(open_, close) - 1,
            "close": close,
            "volume": 1.0,
        },
        index=idx,
    )
    assert_same(compute(bars, "day_range_pos").iloc[:, 0], (bars.close - bars.low) / (bars.high - bars.low))
    assert_same(compute(bars, "ret_last_30m").iloc[:, 0], bars.close / bars.open - 1)
    gap = bars.open / bars.close.shift(1) - 1
    assert_same(compute(bars, "gap_z", lookback=5).iloc[:, 0], trailing_z(gap, 5))


def test_first15_range_z_is_nan_until_the_first_15_minutes_are_complete() -> None:
    bars = minute_bars(days=12)
    got = compute(bars, "first15_range_z", lookback=5).iloc[:, 0]
    minutes = ny_minutes(bars.index)
    last_day = ny_date(bars.index) == ny_date(bars.index)[-1]
    assert got[last_day & (minutes < 584)].isna().all()
    assert got[last_day & (minutes >= 584) & (minutes < 960)].notna().all()
    assert got[last_day & (minutes >= 584) & (minutes < 960)].nunique() == 1


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("day_range_pos", {}),
        ("day_range_pos", {"session": "all"}),
        ("first15_range_z", {"lookback": 3}),
        ("first15_range_z", {"lookback": 3, "session": "all"}),
        ("gap_z", {"lookback": 3}),
        ("ret_last_30m", {}),
    ],
)
@pytest.mark.parametrize("frame", ["minutes", "gappy", "hourly"])
def test_intraday_indicators_never_look_ahead(name: str, params: dict, frame: str) -> None:
    bars = {
        "minutes": lambda: minute_bars(days=8),
        "gappy": lambda: minute_bars(days=8, keep=0.2),
        "hourly": lambda: spy_hourly().iloc[:300],
    }[frame]()
    full = compute(bars, name, **params).iloc[:, 0]
    rng = np.random.default_rng(11)
    for cut in rng.integers(len(bars) // 3, len(bars) - 1, 5):
        changed = bars.copy()
        scale = rng.uniform(0.8, 1.25, len(bars) - cut - 1)
        for col in ("open", "high", "low", "close"):
            changed.iloc[cut + 1 :, changed.columns.get_loc(col)] *= scale
        after = compute(changed, name, **params).iloc[:, 0]
        assert_same(after.iloc[: cut + 1], full.iloc[: cut + 1])
        truncated = compute(bars.iloc[: cut + 1], name, **params).iloc[:, 0]
        assert_same(truncated, full.iloc[: cut + 1])
