"""Invalid settings raise one ConfigError naming the setting."""

from __future__ import annotations

import numpy as np
import pytest

from sigma_lab.backtest import execution_settings, run, run_scores, run_strategy
from sigma_lab.errors import BarValidationError, ConfigError

from .conftest import bars_from, flags

BARS = bars_from([(100.0, 101.0, 99.0, 100.0)] * 5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"fees_bps": -1}, "fees_bps"),
        ({"fixed_fee": -0.5}, "fixed_fee"),
        ({"slippage_bps": -2}, "slippage_bps"),
        ({"stop_loss": 0}, "stop_loss"),
        ({"stop_loss": -0.1}, "stop_loss"),
        ({"take_profit": 0}, "take_profit"),
        ({"trailing_stop": 0}, "trailing_stop"),
        ({"stop_loss": 1.5}, "stop_loss"),
        ({"size": 0}, "size"),
        ({"init_cash": -5}, "init_cash"),
        ({"time_stop": 0}, "time_stop"),
        ({"fill": "later"}, "fill"),
        ({"direction": "sideways"}, "direction"),
        ({"sizing": "kelly"}, "sizing"),
        ({"stop_mode": "ticks"}, "stop_mode"),
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"vol_lookback": 1}, "vol_lookback"),
        ({"feez_bps": 1}, "feez_bps"),
    ],
)
def test_invalid_execution_setting_raises_config_error_naming_it(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        run(BARS, flags(5, 0), None, **kwargs)


def test_atr_stops_may_exceed_one():
    assert execution_settings(stop_loss=2.5, stop_mode="atr").stop_loss == 2.5


def test_settings_defaults_are_the_documented_ones():
    s = execution_settings()
    assert (s.fill, s.direction, s.init_cash, s.size, s.sizing, s.whole_shares) == (
        "next_open", "long", 100_000, 1.0, "fixed", False)
    assert s.fees_bps == s.fixed_fee == s.slippage_bps == s.risk_free == 0
    assert s.stop_loss is s.take_profit is s.trailing_stop is s.time_stop is s.periods_per_year is None


def test_strategy_rejects_fast_not_below_slow():
    with pytest.raises(ConfigError, match="fast must be < slow"):
        run_strategy(BARS, "sma_cross", fast=30, slow=30)


def test_unknown_strategy_is_named():
    with pytest.raises(ConfigError, match="unknown strategy 'sma_crosss'"):
        run_strategy(BARS, "sma_crosss")


def test_strategy_rejects_unknown_keyword():
    with pytest.raises(ConfigError, match="'period'"):
        run_strategy(BARS, "sma_cross", period=3)


def test_strategy_rejects_out_of_bounds_parameter():
    with pytest.raises(ConfigError, match="fast"):
        run_strategy(BARS, "sma_cross", fast=0, slow=5)


def test_strategy_rejects_invalid_execution_setting():
    with pytest.raises(ConfigError, match="fees_bps"):
        run_strategy(BARS, "sma_cross", fast=2, slow=3, fees_bps=-1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"long_threshold": 1.5}, "long_threshold"), ({"top_pct": 0}, "top_pct"),
     ({"allowed_hours": [25]}, "allowed_hours"), ({"momentum_bars": 0}, "momentum_bars"),
     ({"min_confidence": -0.1}, "min_confidence"), ({"thresh": 0.5}, "thresh")],
)
def test_invalid_score_parameter_raises_config_error_naming_it(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        run_scores(BARS, np.full(5, 0.6), **kwargs)


def test_scores_outside_unit_interval_are_rejected():
    with pytest.raises(ConfigError, match="probabilities"):
        run_scores(BARS, np.full(5, 1.6))


def test_signal_of_wrong_length_is_rejected():
    with pytest.raises(ConfigError, match="entries"):
        run(BARS, flags(4, 0), None)


def test_bars_failing_validation_raise_bar_validation_error():
    bad = BARS.copy()
    bad.iloc[2, bad.columns.get_loc("high")] = 50.0
    with pytest.raises(BarValidationError, match="row"):
        run(bad, flags(5, 0), None)
