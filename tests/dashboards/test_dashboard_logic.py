"""The dashboards' logic without a browser: glossary, query parsing, the Voila command, the apps."""

from __future__ import annotations

from typing import Any

import pytest

from sigma_lab.backtest.metrics import METRIC_KEYS
from sigma_lab.dashboards import (
    GLOSSARY,
    LeaderboardExplorer,
    explain,
    format_value,
    int_param,
    parse_query,
    sweep_dashboard,
    voila_command,
)
from sigma_lab.dashboards.data import SHOWN_METRICS, model_timeline, ranked_runs
from sigma_lab.errors import ConfigError
from sigma_lab.store import METRIC_COLUMNS


def test_every_metric_a_dashboard_shows_has_a_plain_language_explanation() -> None:
    shown = {
        *METRIC_KEYS,
        *METRIC_COLUMNS,
        *SHOWN_METRICS,
        "gate_pass",
        "auc",
        "log_loss",
        "brier",
        "accuracy",
    }
    missing = sorted(m for m in shown if len(explain(m)) < 30)
    assert missing == []
    assert all(label and text for label, text in GLOSSARY.values())


def test_format_value_shows_returns_as_percent_counts_as_integers_and_missing_as_na() -> None:
    assert format_value("total_return", 0.1234) == "12.34 %"
    assert format_value("trades", 12.0) == "12"
    assert format_value("sharpe", float("nan")) == "n/a"
    assert format_value("gate_pass", True) == "pass"


def test_query_string_parsing_keeps_the_last_value_and_rejects_non_integer_ids() -> None:
    params = parse_query("?run_id=3&tag=a&tag=b&empty=")
    assert params == {"run_id": "3", "tag": "b"}
    assert int_param(params, "run_id") == 3
    assert int_param(params, "sweep_id") is None
    with pytest.raises(ConfigError, match="run_id='x'"):
        int_param({"run_id": "x"}, "run_id")


def test_voila_command_serves_on_loopback_with_a_warm_pool_culling_and_the_offline_template() -> None:
    command = voila_command(9123, pool_size=2, cull_idle_timeout=120, cull_interval=30)
    assert "--Voila.ip=127.0.0.1" in command and "--port=9123" in command and "--no-browser" in command
    assert "--preheat_kernel=True" in command and "--pool_size=2" in command
    assert "--MappingKernelManager.cull_idle_timeout=120" in command
    assert "--MappingKernelManager.cull_interval=30" in command
    assert "--template=sigma" in command
    with pytest.raises(ConfigError, match="port"):
        voila_command(0)


def test_ranked_runs_put_the_stores_best_first_and_filter_by_tag(seeded: Any) -> None:
    rows, _ = ranked_runs("total_return")
    assert list(rows["total_return"]) == sorted(rows["total_return"], reverse=True)
    slow, _ = ranked_runs("sharpe", filters={"tag": "slow"})
    assert set(slow["id"]) == {seeded.runs["slow"], seeded.runs["slower"]}
    assert list(slow["name"]) == ["sma_cross", "sma_cross"]


def test_leaderboard_explorer_refreshes_its_table_when_the_gate_filter_changes(seeded: Any) -> None:
    app = LeaderboardExplorer({})
    everything = len(app.rows)
    app.gate.value = "pass"
    assert len(app.rows) == int(app.rows["gate_pass"].sum())
    assert len(app.rows) < everything
    app.gate.value = ""
    assert len(app.rows) == everything


def test_model_timeline_lists_build_training_and_backtest_in_order(seeded: Any) -> None:
    events = model_timeline(seeded.model_id)
    assert list(events["kind"]) == ["build", "training", "backtest"]
    assert seeded.runs["model"] in set(events["id"])


def test_sweep_dashboard_for_a_missing_sweep_says_so(seeded: Any) -> None:
    page = sweep_dashboard({"sweep_id": "424242"})
    assert "424242" in page.value
