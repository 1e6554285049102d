"""The rule-strategy registry on top of the indicator library."""

from __future__ import annotations

import numpy as np
import pytest

from sigma_lab.backtest import get_strategy, run, run_strategy, strategies
from sigma_lab.indicators import compute


def _sma(bars, period):
    return compute(bars, "sma", period=period).iloc[:, 0].to_numpy()


def _crossings(fast, slow):
    up = np.zeros(len(fast), dtype=bool)
    down = np.zeros(len(fast), dtype=bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (fast[1:] > slow[1:]) & (fast[:-1] <= slow[:-1])
        down[1:] = (fast[1:] < slow[1:]) & (fast[:-1] >= slow[:-1])
    return up, down

REQUIRED = {
    "sma_cross", "ema_cross", "rsi_reversion", "donchian_breakout", "bollinger_reversion", "macd_cross",
}


def test_registry_holds_the_required_strategies_with_declared_parameters():
    assert REQUIRED <= set(strategies())
    assert [p.name for p in get_strategy("sma_cross").params] == ["fast", "slow"]
    assert [p.name for p in get_strategy("macd_cross").params] == ["fast", "slow", "signal"]


def test_sma_cross_equals_run_on_reference_crossings(aapl_1d):
    entries, exits = _crossings(_sma(aapl_1d, 10), _sma(aapl_1d, 30))
    ref = run(aapl_1d, entries, exits, fees_bps=2)
    ours = run_strategy(aapl_1d, "sma_cross", fast=10, slow=30, fees_bps=2)
    assert ours.final_equity == pytest.approx(ref.final_equity, rel=1e-12)
    assert len(ours.trades) == len(ref.trades)
    assert ours.params == {"strategy": "sma_cross", "fast": 10, "slow": 30}


def test_sma_cross_is_long_exactly_while_fast_is_above_slow(aapl_1d):
    r = run_strategy(aapl_1d, "sma_cross", fast=5, slow=20, fill="close")
    fast, slow = _sma(aapl_1d, 5), _sma(aapl_1d, 20)
    first = int(np.flatnonzero(r.positions.to_numpy() != 0)[0])
    long = r.positions.to_numpy()[first:] > 0
    np.testing.assert_array_equal(long, (fast > slow)[first:])


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("direction", ["long", "both"])
def test_every_strategy_trades_the_sample_data(spy_1h, name, direction):
    r = run_strategy(spy_1h, name, direction=direction)
    assert len(r.trades) > 0
    assert set(r.trades["side"]) <= ({1} if direction == "long" else {1, -1})
