"""Report figures and tables: monthly returns, equity and drawdown, folds, lineage, the backtest plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab import data, reports
from sigma_lab.backtest import run_strategy
from sigma_lab.errors import ConfigError


def _equity(values: list[float], start: str = "2024-01-31", freq: str = "ME") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq=freq, tz="UTC")
    return pd.Series(values, index=index, name="equity")


def test_monthly_returns_compound_from_the_previous_month_end_and_the_initial_equity():
    index = pd.DatetimeIndex(
        ["2023-12-05", "2023-12-29", "2024-01-10", "2024-01-31", "2024-03-15"], tz="UTC"
    )
    equity = pd.Series([101.0, 110.0, 90.0, 99.0, 118.8], index=index)
    table = reports.monthly_returns(equity, initial=100.0)
    assert list(table.columns) == list(reports.MONTHS) and list(table.index) == [2023, 2024]
    assert table.loc[2023, "Dec"] == pytest.approx(0.10)
    assert table.loc[2024, "Jan"] == pytest.approx(-0.10)
    assert np.isnan(table.loc[2024, "Feb"]), "a month without bars has no return"
    assert table.loc[2024, "Mar"] == pytest.approx(0.20)
    assert table.loc[2023].drop("Dec").isna().all()


def test_monthly_returns_of_a_backtest_start_from_its_initial_cash(workspace):
    result = run_strategy(data.load("AAPL", "1d", "2012-01-01", "2012-12-31"), "sma_cross", fast=5, slow=20)
    table = reports.monthly_returns(result)
    compounded = float(np.prod(1.0 + table.loc[2012].dropna().to_numpy()))
    assert compounded * result.settings.init_cash == pytest.approx(result.final_equity)


def test_monthly_returns_heatmap_shows_percent_by_year_and_month():
    fig = reports.monthly_returns_heatmap(_equity([110.0, 99.0, 108.9]), initial=100.0)
    heat = fig.data[0]
    assert heat.type == "heatmap" and list(heat.y) == ["2024"] and list(heat.x) == list(reports.MONTHS)
    assert heat.z[0][:3] == pytest.approx([10.0, -10.0, 10.0])
    assert heat.zmid == 0.0


def test_equity_drawdown_figure_draws_the_drawdown_below_the_running_peak():
    fig = reports.equity_drawdown_figure(_equity([100.0, 120.0, 90.0, 130.0]))
    assert [t.name for t in fig.data] == ["equity", "drawdown"]
    assert list(fig.data[1].y) == pytest.approx([0.0, 0.0, -0.25, 0.0])


def test_equity_figures_refuse_what_is_not_an_equity_curve():
    with pytest.raises(ConfigError, match="equity Series"):
        reports.equity_drawdown_figure([1.0, 2.0])
    with pytest.raises(ConfigError, match="empty"):
        reports.monthly_returns(pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float))


def test_backtest_plot_is_the_report_figure(workspace):
    result = run_strategy(data.load("AAPL", "1d", "2012-01-01", "2012-12-31"), "sma_cross", fast=5, slow=20)
    assert result.plot().to_json() == reports.backtest_figure(result).to_json()


def test_fold_table_flattens_stored_fold_metrics_by_fold():
    stored = [
        {"fold": 0, "test_start": "2024-01-01", "n_test": 50, "metrics": {"sharpe": 1.2, "trades": 4}},
        {"fold": 1, "test_start": "2024-02-01", "n_test": 40, "metrics": {"sharpe": -0.3, "trades": 2}},
    ]
    table = reports.fold_table(stored)
    assert list(table.index) == [0, 1]
    assert list(table.columns) == ["test_start", "n_test", "trades", "sharpe"]
    assert table.loc[1, "sharpe"] == -0.3 and table.loc[0, "n_test"] == 50
    with pytest.raises(ConfigError, match="fold"):
        reports.fold_table([{"sharpe": 1.0}])


def test_lineage_table_lists_hashes_seed_and_version_of_a_stored_run():
    run = {"lineage": {"bars_hash": "abc", "config_hash": "def"}, "seed": 7, "package_version": "1.0"}
    table = reports.lineage_table(run)
    assert dict(zip(table["item"], table["value"], strict=True)) == {
        "bars_hash": "abc", "config_hash": "def", "package_version": "1.0", "seed": 7,
    }
