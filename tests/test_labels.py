"""Labels: hand-computed values, declared horizons, and no look-ahead beyond the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab import labels
from sigma_lab.errors import ConfigError


def _bars(close, open_=None, high=None, low=None, start="2024-01-02", freq="1D") -> pd.DataFrame:
    close = np.asarray(close, dtype="float64")
    open_ = close if open_ is None else np.asarray(open_, dtype="float64")
    high = np.maximum(open_, close) if high is None else np.asarray(high, dtype="float64")
    low = np.minimum(open_, close) if low is None else np.asarray(low, dtype="float64")
    idx = pd.date_range(start, periods=len(close), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": np.full(len(close), 1000.0)},
        index=idx,
    )


def _random_bars(n: int = 200, seed: int = 0, freq: str = "1D", start: str = "2024-01-02") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return _bars(close, open_, high, low, start=start, freq=freq)


def _eq(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), equal_nan=True)


def test_next_bar_direction_with_fixed_band_matches_hand_computation():
    bars = _bars([100, 101, 101.05, 100, 100])
    out = labels.compute_label(bars, "next_bar_direction", band=0.001)
    # returns: +1%, +0.0495%, -1.04%, 0%, unknown
    _eq(out["label"], [1, 0, -1, 0, np.nan])
    _eq(out["label_return"][:4], [0.01, 101.05 / 101 - 1, 100 / 101.05 - 1, 0.0])


def test_next_bar_direction_sigma_band_uses_trailing_volatility_only():
    bars = _bars([100, 102, 100, 102, 100, 100.5, 99])
    out = labels.compute_label(bars, "next_bar_direction", band_kind="sigma", k=0.5, vol_window=3)
    r1 = bars["close"].pct_change().to_numpy()
    band = 0.5 * pd.Series(r1).rolling(3).std().to_numpy()
    fwd = np.r_[bars["close"].to_numpy()[1:] / bars["close"].to_numpy()[:-1] - 1, np.nan]
    expected = np.where(fwd > band, 1.0, np.where(fwd < -band, -1.0, 0.0))
    expected[np.isnan(band) | np.isnan(fwd)] = np.nan
    _eq(out["label"], expected)
    assert np.isnan(out["label"].iloc[:3]).all()  # band warm-up: unknown, not guessed
    assert out["label"].iloc[5] == -1.0  # 100.5 -> 99 is beyond 0.5 sigma


def test_next_bar_direction_same_session_leaves_overnight_rows_unknown():
    idx = pd.DatetimeIndex(
        ["2024-07-01 18:00", "2024-07-01 19:00", "2024-07-02 14:00", "2024-07-02 15:00"], tz="UTC"
    )
    bars = _bars([100, 101, 99, 100]).set_axis(idx)
    out = labels.compute_label(bars, "next_bar_direction", same_session=True)
    _eq(out["label"], [1, np.nan, 1, np.nan])


def test_forward_return_regression_and_classes_match_hand_computation():
    bars = _bars([100, 110, 90, 100, 121])
    reg = labels.compute_label(bars, "forward_return", horizon=2)
    _eq(reg["label"], [-0.1, 100 / 110 - 1, 121 / 90 - 1, np.nan, np.nan])
    cls = labels.compute_label(bars, "forward_return", horizon=2, mode="classes", band=0.095)
    _eq(cls["label"], [-1, 0, 1, np.nan, np.nan])
    assert labels.get("forward_return").task_kind(mode="classes") == "classification"
    assert labels.get("forward_return").task_kind() == "regression"


def test_close_to_open_is_the_overnight_gap():
    bars = _bars([100, 102, 99], open_=[100, 101, 101.8])
    out = labels.compute_label(bars, "close_to_open", band=0.005)
    _eq(out["label_return"], [0.01, 101.8 / 102 - 1, np.nan])
    _eq(out["label"], [1, 0, np.nan])


def test_triple_barrier_percent_take_profit_stop_and_timeout():
    close = [100, 100.5, 102.5, 100, 100, 100, 100]
    high = [100, 101, 103, 100, 100, 100, 100]
    low = [100, 99.5, 100, 100, 99.5, 99.5, 99.5]
    bars = _bars(close, open_=close, high=high, low=low)
    out = labels.compute_label(bars, "triple_barrier", take_profit=2.0, stop_loss=1.0, max_hold=3)
    # t=0: bar 2 opens at 102.5, through the tp 102 -> +1, exit at that open
    # t=1: entry 100.5, tp 102.51 hit at bar 2 (103) -> +1
    # t=2: entry 102.5, sl 101.475 hit at bar 3 (low 100; open 100 gaps through) -> -1 at open 100
    # t=3: entry 100, neither 102 nor 99 within 3 bars -> timeout at close[6]
    _eq(out["label"], [1, 1, -1, 0, np.nan, np.nan, np.nan])
    _eq(out["label_return"][:4], [0.025, 102.51 / 100.5 - 1, 100 / 102.5 - 1, 0.0])
    _eq(out["label_hold_bars"][:4], [2, 1, 1, 3])


def test_triple_barrier_stop_wins_when_one_bar_touches_both():
    bars = _bars([100, 100, 100], open_=[100, 100, 100], high=[100, 105, 100], low=[100, 95, 100])
    out = labels.compute_label(bars, "triple_barrier", take_profit=2.0, stop_loss=2.0, max_hold=1)
    assert out["label"].iloc[0] == -1.0
    assert out["label_return"].iloc[0] == pytest.approx(-0.02)


def test_triple_barrier_short_side_mirrors_long():
    bars = _bars([100, 97, 97], open_=[100, 99.5, 97], high=[100, 100, 97], low=[100, 97, 97])
    out = labels.compute_label(
        bars, "triple_barrier", take_profit=2.0, stop_loss=5.0, max_hold=1, side="short"
    )
    assert out["label"].iloc[0] == 1.0
    assert out["label_return"].iloc[0] == pytest.approx(0.02)


def test_triple_barrier_atr_units_scale_barriers_by_wilder_atr():
    bars = _random_bars(80, seed=3)
    out = labels.compute_label(
        bars, "triple_barrier", units="atr", take_profit=1.0, stop_loss=1.0, max_hold=5
    )
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    tr = np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))
    atr = np.full(len(c), np.nan)
    atr[14] = tr[:14].mean()
    for t in range(15, len(c)):
        atr[t] = (atr[t - 1] * 13 + tr[t - 1]) / 14
    assert np.isnan(out["label"].iloc[:14]).all()
    t = 30
    up, dn = c[t] + atr[t], c[t] - atr[t]
    expected = 0.0
    for j in range(t + 1, t + 6):
        if lo[j] <= dn or bars["open"].iloc[j] <= dn:
            expected = -1.0
            break
        if h[j] >= up or bars["open"].iloc[j] >= up:
            expected = 1.0
            break
    assert out["label"].iloc[t] == expected


def test_head_fake_flags_breakouts_that_close_back_inside_the_range():
    close = [10, 11, 10.5, 12, 10.8, 11, 9, 9.5, 10.5, 10]
    bars = _bars(close, high=close, low=close)
    out = labels.compute_label(bars, "head_fake", lookback=3, horizon=2)
    # t=3: 12 > max(10, 11, 10.5) -> up breakout at 11; close 10.8 < 11 next -> head-fake
    # t=6: 9 < min(12, 10.8, 11) -> down breakout at 10.8; 9.5, 10.5 stay below -> follow-through
    _eq(out["label_breakout"], [np.nan] * 3 + [1, 0, 0, -1, 0, np.nan, np.nan])
    _eq(out["label"], [np.nan] * 3 + [1, np.nan, np.nan, 0, np.nan, np.nan, np.nan])
    _eq(out["label_level"].to_numpy()[[3, 6]], [11, 10.8])


def _options(rows) -> pd.DataFrame:
    ts, strike, volume = zip(*rows, strict=True)
    return pd.DataFrame(
        {"timestamp": pd.DatetimeIndex(ts, tz="UTC"), "strike": strike, "volume": volume, "right": "C"}
    )


def test_pin_drift_uses_volume_known_by_the_bar_end_and_stays_in_session():
    idx = pd.DatetimeIndex(
        ["2024-07-01 14:00", "2024-07-01 15:00", "2024-07-01 16:00", "2024-07-02 14:00", "2024-07-02 15:00"],
        tz="UTC",
    )
    bars = _bars([100, 101, 100.5, 100, 100]).set_axis(idx)
    options = _options(
        [
            ("2024-07-01 14:10", 101.0, 50),  # known at bar 14:00's end (15:00)
            ("2024-07-01 15:30", 99.0, 500),  # known only from bar 15:00 on
        ]
    )
    out = labels.compute_label(bars, "pin_drift", options=options)
    _eq(out["label_strike"], [101, 99, 99, np.nan, np.nan])
    # t=0: |100-101|=1 -> |101-101|=0: toward. t=1: |101-99|=2 -> 1.5: toward.
    # t=2: next bar is another session -> unknown. Day 2 has no options -> unknown.
    _eq(out["label"], [1, 1, np.nan, np.nan, np.nan])


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("next_bar_direction", {}),
        ("next_bar_direction", {"band_kind": "sigma", "k": 1.0, "vol_window": 10}),
        ("forward_return", {"horizon": 7}),
        ("forward_return", {"horizon": 4, "mode": "classes", "band_kind": "sigma"}),
        ("close_to_open", {}),
        ("triple_barrier", {"max_hold": 6}),
        ("triple_barrier", {"max_hold": 4, "units": "atr", "take_profit": 1.5}),
        ("head_fake", {"lookback": 10, "horizon": 4}),
        ("pin_drift", {"horizon": 2}),
    ],
)
def test_label_never_looks_beyond_its_horizon(name, params):
    bars = _random_bars(120, seed=7, freq="1h", start="2024-07-01 13:00")
    options = _options(
        [(str(t + pd.Timedelta(minutes=5)), 100.0 + i % 3, 10 + i) for i, t in enumerate(bars.index)]
    )
    lab = labels.get(name)
    h = lab.horizon_bars(**params)
    base = labels.compute_label(bars, name, options=options, **params)
    assert base.iloc[-h:].isna().all().all(), "the last horizon rows must be unknown"
    rng = np.random.default_rng(1)
    for t in (20, 55, 90):
        changed = bars.copy()
        tail = changed.index[t + h + 1 :]
        factor = np.exp(rng.normal(0, 0.05, len(tail)))
        for col in ("open", "high", "low", "close"):
            changed.loc[tail, col] = changed.loc[tail, col] * factor
        opts = options[options["timestamp"] < changed.index[t + h + 1]]
        moved = labels.compute_label(changed, name, options=opts, **params)
        pd.testing.assert_frame_equal(moved.iloc[: t + 1], base.iloc[: t + 1])


def test_every_label_declares_a_horizon_and_its_columns():
    table = labels.catalog()
    assert set(table["name"]) >= {
        "next_bar_direction",
        "forward_return",
        "close_to_open",
        "triple_barrier",
        "head_fake",
        "pin_drift",
    }
    assert (table["horizon"] >= 1).all()
    assert all(cols[0] == "label" for cols in table["columns"])


def test_unknown_label_or_parameter_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown label 'forward_returns'.*forward_return"):
        labels.get("forward_returns")
    with pytest.raises(ConfigError, match="has no parameter 'horizn'"):
        labels.get("forward_return").resolve({"horizn": 3})
    with pytest.raises(ConfigError, match="max_hold=0 is below its minimum"):
        labels.get("triple_barrier").resolve({"max_hold": 0})
    with pytest.raises(ConfigError, match="same_session must be true or false"):
        labels.get("next_bar_direction").resolve({"same_session": "yes"})
