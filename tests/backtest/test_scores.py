"""Backtests driven by model scores: thresholds, classes, hours, momentum, top percent, sizing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.backtest import run, run_scores

from .conftest import bars_from

FLAT = (100.0, 101.0, 99.0, 100.0)


def test_probability_above_the_long_threshold_holds_a_long_until_it_drops():
    bars = bars_from([FLAT] * 6)
    scores = pd.Series([0.5, 0.6, 0.7, 0.4, 0.5, 0.5], index=bars.index)
    r = run_scores(bars, scores, long_threshold=0.55)
    t = r.trades.iloc[0]
    assert len(r.trades) == 1
    assert t.entry_time == bars.index[2] and t.exit_time == bars.index[4]


def test_scores_below_the_short_threshold_go_short_in_both_directions():
    bars = bars_from([FLAT] * 5)
    r = run_scores(bars, np.array([0.3, 0.3, 0.5, 0.5, 0.5]), direction="both", short_threshold=0.6)
    assert list(r.trades["side"]) == [-1]
    assert r.trades.iloc[0].entry_time == bars.index[1]


def test_class_probabilities_take_the_side_of_the_larger_class():
    bars = bars_from([FLAT] * 6)
    probs = pd.DataFrame(
        {
            "UP": [0.6, 0.2, 0.45, 0.2, 0.2, 0.2],
            "DOWN": [0.1, 0.7, 0.1, 0.2, 0.2, 0.2],
            "FLAT": [0.3, 0.1, 0.45, 0.6, 0.6, 0.6],
        },
        index=bars.index,
    )
    r = run_scores(bars, probs, direction="both", long_threshold=0.4, short_threshold=0.4)
    assert list(r.trades["side"]) == [1, -1]
    assert list(r.trades["entry_time"]) == [bars.index[1], bars.index[2]]
    assert r.trades.iloc[1].exit_time == bars.index[3]


def test_without_the_larger_class_rule_a_likely_enough_up_class_trades_though_not_the_likeliest():
    bars = bars_from([FLAT] * 5)
    probs = pd.DataFrame(
        {
            "TAKE_PROFIT": [0.42, 0.42, 0.30, 0.30, 0.30],
            "STOP_LOSS": [0.50, 0.50, 0.60, 0.60, 0.60],
            "TIMEOUT": [0.08, 0.08, 0.10, 0.10, 0.10],
        },
        index=bars.index,
    )
    labels = {"up_label": "TAKE_PROFIT", "down_label": "STOP_LOSS", "long_threshold": 0.4}
    assert run_scores(bars, probs, **labels).trades.empty
    r = run_scores(bars, probs, larger_class=False, **labels)
    assert list(r.trades["side"]) == [1]
    assert r.trades.iloc[0].entry_time == bars.index[1] and r.trades.iloc[0].exit_time == bars.index[3]


def test_a_side_the_direction_forbids_never_suppresses_the_other_side():
    bars = bars_from([FLAT] * 4)
    probs = pd.DataFrame({"UP": [0.45] * 4, "DOWN": [0.50] * 4, "FLAT": [0.05] * 4}, index=bars.index)
    kw = {"larger_class": False, "long_threshold": 0.4, "short_threshold": 0.4}
    assert run_scores(bars, probs, direction="both", **kw).trades["side"].tolist() == [-1]
    assert run_scores(bars, probs, direction="long", **kw).trades["side"].tolist() == [1]


def test_min_confidence_filters_weak_scores():
    bars = bars_from([FLAT] * 4)
    scores = np.array([0.6, 0.6, 0.6, 0.6])
    assert len(run_scores(bars, scores, min_confidence=0.55).trades) == 1
    assert run_scores(bars, scores, min_confidence=0.65).trades.empty


def test_allowed_hours_are_new_york_hours_of_the_bar(random_bars):
    scores = np.full(len(random_bars), 0.9)
    hours = random_bars.index.tz_convert("America/New_York").hour
    r = run_scores(random_bars, scores, allowed_hours=[10, 11], fill="close")
    held = r.positions.to_numpy() != 0
    assert held.any()
    assert set(hours[held]) <= {10, 11}


def test_momentum_gate_allows_longs_only_after_a_rising_close():
    closes = [100, 99, 98, 99, 100, 101]
    bars = bars_from([(c, c + 1, c - 1, c) for c in closes])
    r = run_scores(bars, np.full(6, 0.9), momentum_bars=2, fill="close")
    assert r.trades.iloc[0].entry_time == bars.index[4]


def test_top_pct_ranks_against_the_previous_session_only(random_bars):
    rng = np.random.default_rng(5)
    scores = pd.Series(rng.uniform(0.5, 1.0, len(random_bars)), index=random_bars.index)
    base = run_scores(random_bars, scores, long_threshold=0.5, top_pct=0.2)
    session = random_bars.index.tz_convert("America/New_York").date
    first = session == session[0]
    assert (base.positions.to_numpy()[first] == 0).all()
    t = 60
    later = scores.copy()
    later.iloc[t + 1 :] = 0.999
    other = run_scores(random_bars, later, long_threshold=0.5, top_pct=0.2)
    np.testing.assert_array_equal(other.positions.to_numpy()[: t + 1], base.positions.to_numpy()[: t + 1])
    assert len(base.trades) > 3


def test_confidence_sizing_scales_the_position():
    bars = bars_from([FLAT] * 4)
    r = run_scores(bars, np.array([0.8, 0.8, 0.8, 0.8]), sizing="confidence", size=1.0, exit_when_off=False)
    t = r.trades.iloc[0]
    assert t["size"] * t.entry_price == pytest.approx(0.8 * 100_000)


def test_exit_when_off_false_leaves_exits_to_brackets():
    bars = bars_from([FLAT] * 8)
    r = run_scores(bars, np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]), exit_when_off=False, time_stop=4)
    t = r.trades.iloc[0]
    assert t.exit_reason == "time_stop" and t.bars_held == 4


def test_scores_equal_the_same_boolean_signals_through_run(random_bars):
    rng = np.random.default_rng(9)
    p = rng.uniform(0, 1, len(random_bars))
    r = run_scores(random_bars, p, long_threshold=0.7, fees_bps=1)
    on = p >= 0.7
    ref = run(random_bars, on, ~on, fees_bps=1)
    assert r.final_equity == ref.final_equity
