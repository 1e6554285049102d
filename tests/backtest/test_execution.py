"""Hand-made OHLC fixtures pinning every execution rule of the kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigma_lab.backtest import run

from .conftest import bars_from, flags

FLAT = (100.0, 101.0, 99.0, 100.0)


def test_next_open_fill_uses_the_following_bars_open():
    bars = bars_from([FLAT, (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106)])
    r = run(bars, flags(4, 0), flags(4, 2), init_cash=1000)
    t = r.trades.iloc[0]
    assert t.entry_price == 102 and t.exit_price == 106
    assert t.entry_time == bars.index[1] and t.exit_time == bars.index[3]
    assert t.bars_held == 2 and t.exit_reason == "signal"
    assert r.final_equity == pytest.approx(1000 * 106 / 102, rel=1e-12)


def test_close_fill_uses_the_signal_bars_close():
    bars = bars_from([FLAT, (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106)])
    r = run(bars, flags(4, 0), flags(4, 2), init_cash=1000, fill="close")
    t = r.trades.iloc[0]
    assert (t.entry_price, t.exit_price) == (100, 104)
    assert t.entry_time == bars.index[0] and t.exit_time == bars.index[2]
    assert r.final_equity == pytest.approx(1040.0, rel=1e-12)


def test_equity_is_marked_to_market_at_each_close():
    bars = bars_from([FLAT, (100, 112, 99, 110), (110, 121, 109, 120), (120, 121, 95, 99)])
    r = run(bars, flags(4, 0), None, init_cash=1000)
    np.testing.assert_allclose(r.equity.to_numpy(), [1000, 1100, 1200, 990], rtol=1e-12)
    np.testing.assert_allclose(r.positions.to_numpy(), [0, 10, 10, 10], rtol=1e-12)


def test_fees_are_charged_on_entry_and_exit_in_bps_plus_fixed():
    bars = bars_from([FLAT, (10, 10, 10, 10), (11, 11, 11, 11), (11, 11, 11, 11)])
    r = run(bars, flags(4, 0), flags(4, 1), init_cash=1000, fees_bps=100, fixed_fee=1.0)
    shares = (1000 - 1.0) / (10 * 1.01)
    fee_in = 0.01 * shares * 10 + 1.0
    fee_out = 0.01 * shares * 11 + 1.0
    t = r.trades.iloc[0]
    assert t["size"] == pytest.approx(shares, rel=1e-12)
    assert t.fees == pytest.approx(fee_in + fee_out, rel=1e-12)
    assert t.pnl == pytest.approx(shares * 1.0 - fee_in - fee_out, rel=1e-12)
    assert r.final_equity == pytest.approx(1000 + t.pnl, rel=1e-12)


def test_whole_shares_floor_the_order_and_keep_the_rest_in_cash():
    bars = bars_from([FLAT, (30, 30, 30, 30), (33, 33, 33, 33)])
    r = run(bars, flags(3, 0), None, init_cash=1000, whole_shares=True)
    assert r.trades.iloc[0]["size"] == 33
    assert r.final_equity == pytest.approx(10 + 33 * 33, rel=1e-12)


def test_whole_shares_skip_an_order_too_small_for_one_share():
    bars = bars_from([FLAT, (2000, 2000, 2000, 2000), (2000, 2000, 2000, 2000)])
    r = run(bars, flags(3, 0), None, init_cash=1000, whole_shares=True)
    assert r.trades.empty and r.final_equity == 1000


def test_slippage_moves_both_fills_against_the_trader():
    bars = bars_from([FLAT, (100, 100, 100, 100), (100, 100, 100, 100), FLAT])
    r = run(bars, flags(4, 0), flags(4, 1), init_cash=1000, slippage_bps=10)
    t = r.trades.iloc[0]
    assert t.entry_price == pytest.approx(100.1) and t.exit_price == pytest.approx(99.9)
    assert t.pnl < 0


def test_size_commits_a_fraction_of_equity():
    bars = bars_from([FLAT, (100, 100, 100, 100), (110, 110, 110, 110)])
    r = run(bars, flags(3, 0), None, init_cash=1000, size=0.5)
    assert r.trades.iloc[0]["size"] == pytest.approx(5.0)
    assert r.final_equity == pytest.approx(1050.0)


def test_stop_loss_fills_at_the_stop_inside_the_bar():
    bars = bars_from([FLAT, (100, 101, 99, 100), (99, 100, 94, 96), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, stop_loss=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(95.0)
    assert t.exit_time == bars.index[2]


def test_a_bar_opening_beyond_the_stop_fills_at_the_open():
    bars = bars_from([FLAT, (100, 101, 99, 100), (90, 92, 88, 91), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, stop_loss=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == 90.0


def test_a_bar_opening_beyond_the_target_fills_at_the_open():
    bars = bars_from([FLAT, (100, 101, 99, 100), (110, 112, 109, 111), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, take_profit=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "take_profit" and t.exit_price == 110.0


def test_take_profit_fills_at_the_target_inside_the_bar():
    bars = bars_from([FLAT, (100, 101, 99, 100), (101, 106, 100, 102), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, take_profit=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "take_profit" and t.exit_price == pytest.approx(105.0)


def test_stop_wins_when_one_bar_touches_stop_and_target():
    bars = bars_from([FLAT, (100, 101, 99, 100), (100, 106, 94, 100), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, stop_loss=0.05, take_profit=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(95.0)


def test_stop_hit_on_the_entry_bar_counts_for_fills_at_the_open():
    bars = bars_from([FLAT, (100, 101, 94, 97), FLAT, FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, stop_loss=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(95.0)
    assert t.entry_time == t.exit_time == bars.index[1] and t.bars_held == 0


def test_entry_bar_range_is_not_checked_for_fills_at_the_close():
    bars = bars_from([(100, 101, 80, 100), (100, 101, 99, 100), (100, 101, 94, 97), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, stop_loss=0.05, fill="close")
    t = r.trades.iloc[0]
    assert t.entry_time == bars.index[0] and t.exit_time == bars.index[2]
    assert t.exit_reason == "stop_loss"


def test_trailing_stop_trails_the_highest_high_of_earlier_bars():
    bars = bars_from([
        FLAT,
        (100, 110, 99, 109),   # entry at 100; high 110 trails the stop to 99 for the next bar
        (109, 120, 105, 119),  # level 99 not hit; high 120 -> level 108
        (119, 130, 109, 125),  # level 108 not hit (its own high 130 does not count yet) -> 117
        (125, 126, 116, 118),  # level 117 hit
        FLAT,
    ])
    r = run(bars, flags(6, 0), None, init_cash=1000, trailing_stop=0.1)
    t = r.trades.iloc[0]
    assert t.exit_reason == "trailing_stop" and t.exit_price == pytest.approx(117.0)
    assert t.exit_time == bars.index[4]


def test_trailing_stop_for_shorts_trails_the_lowest_low():
    bars = bars_from([FLAT, (100, 101, 90, 91), (91, 92, 80, 81), (81, 90, 80, 88), FLAT])
    r = run(bars, flags(5, 0), None, init_cash=1000, trailing_stop=0.1, direction="short")
    t = r.trades.iloc[0]
    assert t.side == -1 and t.exit_reason == "trailing_stop"
    assert t.exit_price == pytest.approx(88.0)


def test_tighter_of_stop_loss_and_trailing_stop_applies():
    bars = bars_from([FLAT, (100, 110, 99, 109), (109, 110, 100, 101), FLAT])
    r = run(bars, flags(4, 0), None, init_cash=1000, trailing_stop=0.05, stop_loss=0.1)
    t = r.trades.iloc[0]
    assert t.exit_reason == "trailing_stop" and t.exit_price == pytest.approx(104.5)


def test_time_stop_holds_exactly_n_bars_with_fills_at_the_open():
    bars = bars_from([FLAT] * 8)
    r = run(bars, flags(8, 0), None, init_cash=1000, time_stop=3)
    t = r.trades.iloc[0]
    assert t.exit_reason == "time_stop" and t.bars_held == 3
    assert t.entry_time == bars.index[1] and t.exit_time == bars.index[4]


def test_time_stop_holds_exactly_n_bars_with_fills_at_the_close():
    bars = bars_from([FLAT] * 8)
    r = run(bars, flags(8, 0), None, init_cash=1000, time_stop=3, fill="close")
    t = r.trades.iloc[0]
    assert t.exit_reason == "time_stop" and t.bars_held == 3
    assert t.entry_time == bars.index[0] and t.exit_time == bars.index[3]


def test_short_profits_when_price_falls_and_pays_fees_both_sides():
    bars = bars_from([FLAT, (100, 100, 100, 100), (90, 90, 90, 90), (90, 90, 90, 90)])
    r = run(bars, None, None, flags(4, 0), flags(4, 1), direction="short", init_cash=1000, fees_bps=10)
    t = r.trades.iloc[0]
    shares = 1000 / (100 * 1.001)
    fees = 0.001 * shares * 100 + 0.001 * shares * 90
    assert t.side == -1 and t["size"] == pytest.approx(shares)
    assert t.pnl == pytest.approx(shares * 10 - fees)
    assert r.final_equity == pytest.approx(1000 + t.pnl)


def test_short_only_reads_entries_as_short_signals_when_no_short_arrays_are_given():
    bars = bars_from([FLAT, (100, 100, 100, 100), (90, 90, 90, 90), (90, 90, 90, 90)])
    a = run(bars, flags(4, 0), flags(4, 1), direction="short")
    b = run(bars, None, None, flags(4, 0), flags(4, 1), direction="short")
    assert a.final_equity == b.final_equity > 100_000


def test_short_stop_loss_sits_above_the_entry():
    bars = bars_from([FLAT, (100, 101, 99, 100), (101, 106, 100, 104), FLAT])
    r = run(bars, flags(4, 0), None, direction="short", stop_loss=0.05)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(105.0)


def test_both_directions_reverse_on_an_opposite_entry_at_the_same_fill():
    bars = bars_from([FLAT, (100, 100, 100, 100), (110, 110, 110, 110), (100, 100, 100, 100), FLAT])
    r = run(bars, flags(5, 0), None, flags(5, 1), None, direction="both", init_cash=1000)
    long_t, short_t = r.trades.iloc[0], r.trades.iloc[1]
    assert long_t.side == 1 and long_t.exit_price == 110 and long_t.exit_time == bars.index[2]
    assert short_t.side == -1 and short_t.entry_price == 110 and short_t.entry_time == bars.index[2]
    assert short_t["size"] == pytest.approx(1100 / 110)
    assert short_t.exit_reason == "end"


def test_long_direction_rejects_short_signals():
    from sigma_lab.errors import ConfigError

    bars = bars_from([FLAT] * 3)
    with pytest.raises(ConfigError, match="direction"):
        run(bars, None, None, flags(3, 0), None)


def test_entry_and_exit_on_the_same_bar_cancel_out():
    bars = bars_from([FLAT] * 4)
    r = run(bars, flags(4, 0), flags(4, 0))
    assert r.trades.empty


def test_open_trade_at_the_end_is_reported_open_and_counted_in_equity():
    bars = bars_from([FLAT, (100, 100, 100, 100), (120, 120, 120, 120)])
    r = run(bars, flags(3, 0), None, init_cash=1000, fees_bps=10)
    t = r.trades.iloc[0]
    assert t.exit_reason == "end" and t.exit_price == 120
    assert r.metrics["trades"] == 0 and math.isnan(r.metrics["win_rate"])
    assert r.final_equity == pytest.approx(1000 + t.pnl)


def test_atr_brackets_use_the_atr_known_at_the_decision_bar():
    rows = [(100, 102, 98, 100)] * 4 + [(100, 101, 91, 95), FLAT]
    bars = bars_from(rows)
    r = run(bars, flags(6, 3), None, stop_loss=2.0, stop_mode="atr", atr_period=2)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(100 - 2 * 4.0)


def test_vol_target_sizing_caps_at_size_and_scales_down_with_volatility():
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 60)))
    bars = bars_from([(c, c, c, c) for c in close])
    r = run(bars, flags(60, 40), None, sizing="vol_target", vol_target=0.1, vol_lookback=20,
            periods_per_year=252)
    t = r.trades.iloc[0]
    vol = np.log(bars["close"]).diff().rolling(20).std().iloc[40] * np.sqrt(252)
    equity = 100_000
    assert t["size"] * t.entry_price == pytest.approx(min(0.1 / vol, 1.0) * equity, rel=1e-9)


def test_confidence_sizing_needs_scores():
    from sigma_lab.errors import ConfigError

    with pytest.raises(ConfigError, match="run_scores"):
        run(bars_from([FLAT] * 3), flags(3, 0), None, sizing="confidence")
