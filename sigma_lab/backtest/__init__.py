"""Backtests: a numba kernel with an explicit execution model, driven three ways.

- ``run(bars, entries, exits, short_entries, short_exits, **execution)``: boolean signals;
- ``run_strategy(bars, "sma_cross", fast=10, slow=30, **execution)``: named rule strategies;
- ``run_scores(bars, scores, long_threshold=..., **execution)``: model scores.

All return a :class:`BacktestResult`; ``gate(result.metrics, "balanced")`` judges it. The execution
rules are documented in :mod:`sigma_lab.backtest.kernels` and :mod:`sigma_lab.backtest.settings`,
the metric conventions in :mod:`sigma_lab.backtest.metrics`.
"""

from sigma_lab.backtest.engine import BacktestResult, run
from sigma_lab.backtest.gate import PROFILES, GateResult, RiskProfile, gate
from sigma_lab.backtest.metrics import METRIC_KEYS, periods_per_year
from sigma_lab.backtest.runs import (
    LineageMismatchError,
    ModelBacktest,
    StrategyBacktest,
    backtest_command,
    backtest_strategy,
    format_report,
    record_backtest,
    rerun,
    run_model,
)
from sigma_lab.backtest.scores import ScoreParams, run_scores
from sigma_lab.backtest.settings import ExecutionSettings, execution_settings
from sigma_lab.backtest.strategies import Signals, Strategy, get_strategy, run_strategy, strategies

__all__ = [
    "METRIC_KEYS",
    "PROFILES",
    "BacktestResult",
    "ExecutionSettings",
    "GateResult",
    "LineageMismatchError",
    "ModelBacktest",
    "RiskProfile",
    "ScoreParams",
    "Signals",
    "Strategy",
    "StrategyBacktest",
    "backtest_command",
    "backtest_strategy",
    "execution_settings",
    "format_report",
    "gate",
    "get_strategy",
    "periods_per_year",
    "record_backtest",
    "rerun",
    "run",
    "run_model",
    "run_scores",
    "run_strategy",
    "strategies",
]
