"""Metric keys and trade statistics, the gate's profiles and reasons, and the plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigma_lab.backtest import METRIC_KEYS, gate, run
from sigma_lab.backtest.metrics import periods_per_year, trade_metrics
from sigma_lab.errors import ConfigError

from .conftest import sma_cross_signals


def test_metrics_have_exactly_the_documented_keys(spy_1h):
    entries, exits = sma_cross_signals(spy_1h["close"], 5, 20)
    m = run(spy_1h, entries, exits).metrics
    assert tuple(m) == METRIC_KEYS == (
        "total_return", "cagr", "ann_volatility", "sharpe", "sortino", "calmar", "max_drawdown",
        "max_drawdown_duration", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
        "payoff_ratio", "sqn", "trades", "exposure", "turnover", "best_trade", "worst_trade")


def test_trade_statistics_from_the_ledger(aapl_1d):
    entries, exits = sma_cross_signals(aapl_1d["close"], 10, 30)
    r = run(aapl_1d, entries, exits, fees_bps=5)
    closed = r.trades[r.trades["exit_reason"] != "end"]
    pnl = closed["pnl"].to_numpy()
    m = r.metrics
    assert m["trades"] == len(closed)
    assert m["win_rate"] == pytest.approx(np.mean(pnl > 0))
    assert m["profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl <= 0].sum())
    assert m["expectancy"] == pytest.approx(pnl.mean())
    assert m["avg_win"] == pytest.approx(pnl[pnl > 0].mean())
    assert m["avg_loss"] == pytest.approx(pnl[pnl <= 0].mean())
    assert m["payoff_ratio"] == pytest.approx(m["avg_win"] / abs(m["avg_loss"]))
    assert m["sqn"] == pytest.approx(math.sqrt(len(pnl)) * pnl.mean() / pnl.std(ddof=1))
    assert m["best_trade"] == closed["return"].max() and m["worst_trade"] == closed["return"].min()
    assert m["exposure"] == pytest.approx(np.mean(r.positions.to_numpy() != 0))
    traded = (r.trades["size"] * r.trades["entry_price"]).sum()
    traded += (closed["size"] * closed["exit_price"]).sum()
    years = len(aapl_1d) / 252
    assert m["turnover"] == pytest.approx(traded / r.equity.mean() / years)


def test_drawdown_duration_counts_bars_below_the_peak():
    from sigma_lab.backtest.metrics import return_metrics

    equity = np.array([100.0, 110, 100, 105, 111, 90, 95])
    returns = equity / np.concatenate(([100.0], equity[:-1])) - 1
    m = return_metrics(returns, equity, 100.0, 252)
    assert m["max_drawdown"] == pytest.approx(90 / 111 - 1)
    assert m["max_drawdown_duration"] == 2


def test_no_trades_give_nan_statistics_not_errors():
    m = trade_metrics(np.array([]), np.array([]))
    assert m["trades"] == 0 and math.isnan(m["win_rate"]) and math.isnan(m["sqn"])


def test_periods_per_year_for_weekly_bars():
    import pandas as pd

    idx = pd.date_range("2020-01-03", periods=20, freq="7D", tz="UTC")
    assert periods_per_year(idx) == 52


GOOD = {"sharpe": 1.2, "max_drawdown": -0.04, "trades": 40, "total_return": 0.3}


@pytest.mark.parametrize("profile", ["conservative", "balanced", "aggressive"])
def test_gate_passes_metrics_inside_every_profile(profile):
    result = gate(GOOD, profile)
    assert result.passed and result.reasons == []


@pytest.mark.parametrize(
    ("change", "profile", "reason"),
    [
        ({"trades": 29}, "conservative", "min_trades_not_met"),
        ({"trades": 19}, "balanced", "min_trades_not_met"),
        ({"trades": 9}, "aggressive", "min_trades_not_met"),
        ({"sharpe": 0.99}, "conservative", "poor_sharpe"),
        ({"sharpe": 0.69}, "balanced", "poor_sharpe"),
        ({"sharpe": 0.49}, "aggressive", "poor_sharpe"),
        ({"max_drawdown": -0.051}, "conservative", "excessive_drawdown"),
        ({"max_drawdown": -0.151}, "balanced", "excessive_drawdown"),
        ({"max_drawdown": -0.251}, "aggressive", "excessive_drawdown"),
        ({"total_return": -0.01}, "balanced", "negative_return"),
        ({"sharpe": float("nan")}, "balanced", "insufficient_data"),
    ],
)
def test_gate_reports_the_failed_check(change, profile, reason):
    result = gate(GOOD | change, profile)
    assert not result.passed and result.reasons == [reason]


def test_gate_on_a_real_backtest_lists_every_failure(spy_1h):
    r = run(spy_1h, None, None)
    result = gate(r.metrics, "conservative")
    assert not result.passed
    assert set(result.reasons) >= {"min_trades_not_met", "negative_return", "insufficient_data"}


def test_gate_rejects_an_unknown_profile():
    with pytest.raises(ConfigError, match="reckless"):
        gate(GOOD, "reckless")


def test_plot_has_price_markers_equity_and_drawdown(spy_1h):
    entries, exits = sma_cross_signals(spy_1h["close"], 5, 20)
    fig = run(spy_1h, entries, exits).plot()
    names = [t.name for t in fig.data]
    assert names[:2] == ["close", "long entry"] and "exit" in names
    assert names[-2:] == ["equity", "drawdown"]
    assert len(fig.data[1].x) == len(run(spy_1h, entries, exits).trades)
