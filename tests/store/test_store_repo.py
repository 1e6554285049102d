"""Repository functions: runs with folds and trades in one transaction, bulk sweep results, jobs."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from sigma_lab.errors import ConfigError, NotFoundError, StoreError
from sigma_lab.store import BacktestRun, SweepResult, Trade, repo, session_scope

T0 = pd.Timestamp("2024-03-01 14:30", tz="UTC")


def _trades(n: int) -> pd.DataFrame:
    entry = pd.date_range(T0, periods=n, freq="h")
    return pd.DataFrame(
        {
            "entry_time": entry,
            "exit_time": entry + pd.Timedelta(minutes=30),
            "side": ["long", "short"] * (n // 2) + ["long"] * (n % 2),
            "entry_price": np.linspace(100, 101, n),
            "exit_price": np.linspace(100.5, 101.5, n),
            "size": np.full(n, 10.0),
            "pnl": np.full(n, 5.0),
            "return": np.full(n, 0.005),
            "fees": np.full(n, 0.1),
            "exit_reason": ["signal"] * n,
            "bars_held": np.arange(n, dtype="int64"),
        }
    )


RUN = {
    "model_id": "spy_eq_intraday_hourly",
    "pack": "momentumsigma",
    "strategy": "sma_cross",
    "tag": "demo",
    "risk_profile": "balanced",
    "params": {"fast": 10, "slow": 30, "fees_bps": 1.0},
    "metrics": {"sharpe": 1.4, "total_return": 0.12, "max_drawdown": -0.08, "trades": 3, "sortino": np.nan},
    "lineage": {"data_hash": "d" * 64, "package_version": "0.1.0"},
    "gate_pass": False,
    "gate_reasons": ["min_trades_not_met"],
    "seed": 7,
}


def test_a_backtest_run_round_trips_with_folds_and_trades(database_url: str) -> None:
    trades = _trades(3)
    folds = [{"test_start": T0, "metrics": {"sharpe": 0.5, "trades": 1}}, {"metrics": {"sharpe": 2.0}}]
    with session_scope(database_url) as session:
        run_id = repo.record_backtest_run(session, RUN, folds, trades)
    with session_scope(database_url) as session:
        run = repo.get_backtest_run(session, run_id)
    assert run["sharpe"] == 1.4 and run["trades"] == 3 and run["max_drawdown"] == -0.08
    assert run["sortino"] is None and run["metrics"]["sortino"] is None
    assert run["gate_reasons"] == ["min_trades_not_met"] and run["gate_pass"] is False
    assert [f["fold"] for f in run["folds"]] == [0, 1]
    assert run["folds"][0]["sharpe"] == 0.5 and run["folds"][0]["test_start"] == T0
    stored = run["ledger"]
    pd.testing.assert_series_equal(stored["entry_time"], trades["entry_time"], check_dtype=False)
    pd.testing.assert_series_equal(stored["return"], trades["return"])
    assert stored["side"].tolist() == ["long", "short", "long"]
    assert stored["bars_held"].tolist() == [0, 1, 2]


def test_explicit_metric_columns_win_over_the_metrics_dict(database_url: str) -> None:
    with session_scope(database_url) as session:
        run_id = repo.record_backtest_run(session, {**RUN, "sharpe": 9.0})
    with session_scope(database_url) as session:
        assert session.get(BacktestRun, run_id).sharpe == 9.0


def test_a_failed_trade_insert_leaves_no_run_behind(database_url: str) -> None:
    trades = _trades(25).astype({"entry_time": object})
    trades.loc[21, "entry_time"] = dt.datetime(2024, 1, 1)
    with pytest.raises(sa.exc.StatementError, match="naive"), session_scope(database_url) as session:
        repo.record_backtest_run(session, RUN, [{}], trades, batch_size=10)
    with session_scope(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BacktestRun)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Trade)) == 0


def test_unknown_fields_are_refused_by_name(database_url: str) -> None:
    with pytest.raises(ConfigError, match="sharp_ratio"), session_scope(database_url) as session:
        repo.record_backtest_run(session, {**RUN, "sharp_ratio": 1.0})
    with pytest.raises(ConfigError, match="slippage"), session_scope(database_url) as session:
        repo.record_backtest_run(session, RUN, [], _trades(2).assign(slippage=0.0))
    with session_scope(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BacktestRun)) == 0


def test_a_missing_run_is_not_found(database_url: str) -> None:
    with pytest.raises(NotFoundError, match="backtest run 404"), session_scope(database_url) as session:
        repo.get_backtest_run(session, 404)


def test_build_and_training_runs_link_up(database_url: str) -> None:
    with session_scope(database_url) as session:
        build_id = repo.record_build_run(
            session, {"model_id": "m", "matrix_hash": "a" * 64, "n_rows": 100, "qa": {"nan_share": 0.01}}
        )
        train_id = repo.record_training_run(
            session, {"model_id": "m", "build_run_id": build_id, "auc": 0.61, "metrics": {"auc": 0.61}}
        )
    with session_scope(database_url) as session:
        assert repo.get_build_run(session, build_id)["qa"] == {"nan_share": 0.01}
        training = repo.get_training_run(session, train_id)
        assert training["build_run_id"] == build_id and training["auc"] == 0.61


def _result_rows(n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    sharpe = rng.normal(size=n)
    return [
        {
            "params": {"fast": i % 50 + 1, "slow": i // 50 + 60},
            "metrics": {"sharpe": float(sharpe[i]), "total_return": float(sharpe[i]) / 10, "trades": i % 7},
        }
        for i in range(n)
    ]


def test_bulk_sweep_results_are_stored_and_sorted_by_a_metric(database_url: str) -> None:
    rows = _result_rows(30_000)
    rows[5]["metrics"]["sharpe"] = float("nan")
    with session_scope(database_url) as session:
        sweep_id = repo.create_sweep(session, {"strategy": "sma_cross", "n_configs": len(rows)})
        assert repo.bulk_insert_sweep_results(session, sweep_id, rows) == len(rows)
    with session_scope(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).where(SweepResult.sweep_id == sweep_id)) == len(rows)
        top = repo.get_sweep_results(session, sweep_id, order_by="sharpe", limit=3)
        last = repo.get_sweep_results(session, sweep_id, order_by="sharpe", offset=len(rows) - 1)
    expected = sorted(
        (r for r in rows if r["metrics"]["sharpe"] == r["metrics"]["sharpe"]),
        key=lambda r: -r["metrics"]["sharpe"],
    )[:3]
    assert top["sharpe"].tolist() == [r["metrics"]["sharpe"] for r in expected]
    assert top["params"].tolist() == [r["params"] for r in expected]
    assert top["trades"].tolist() == [r["metrics"]["trades"] for r in expected]
    assert last["config_index"].tolist() == [5] and last["sharpe"].isna().all()
    assert last["metrics"].iloc[0]["sharpe"] is None


def test_bulk_sweep_results_accept_a_dataframe_split_by_parameter_columns(database_url: str) -> None:
    table = pd.DataFrame({"fast": [5, 10], "slow": [20, 40], "sharpe": [0.5, 1.5], "trades": [4, 8]})
    with session_scope(database_url) as session:
        sweep_id = repo.create_sweep(session, {"strategy": "sma_cross"})
        repo.bulk_insert_sweep_results(session, sweep_id, table, param_columns=["fast", "slow"])
        stored = repo.get_sweep_results(session, sweep_id)
    assert stored["params"].tolist() == [{"fast": 10, "slow": 40}, {"fast": 5, "slow": 20}]
    assert stored["metrics"].tolist() == [{"sharpe": 1.5, "trades": 8}, {"sharpe": 0.5, "trades": 4}]
    assert stored["config_index"].tolist() == [1, 0]


def test_sweep_results_are_unique_per_configuration(database_url: str) -> None:
    with pytest.raises(StoreError, match="sweep"), session_scope(database_url) as session:
        sweep_id = repo.create_sweep(session, {"strategy": "sma_cross"})
        repo.bulk_insert_sweep_results(session, sweep_id, [{"config_index": 1}, {"config_index": 1}])


def test_job_status_moves_forward_and_records_timings(database_url: str) -> None:
    with session_scope(database_url) as session:
        job_id = repo.create_job(session, "notebook", "notebooks/sweep.ipynb", {"fast": 10})
    with session_scope(database_url) as session:
        running = repo.update_job_status(session, job_id, "running", worker="pid 1")
    with session_scope(database_url) as session:
        failed = repo.update_job_status(session, job_id, "failed", error="boom", failing_cell=3)
    assert running["started_at"] is not None and running["finished_at"] is None
    assert failed["finished_at"] >= failed["started_at"] and failed["failing_cell"] == 3
    with (
        pytest.raises(StoreError, match="cannot go from 'failed' to 'running'"),
        session_scope(database_url) as session,
    ):
        repo.update_job_status(session, job_id, "running")
    with pytest.raises(ConfigError, match="paused"), session_scope(database_url) as session:
        repo.update_job_status(session, job_id, "paused")
    with session_scope(database_url) as session:
        assert repo.get_job(session, job_id)["params"] == {"fast": 10}


def test_artifacts_record_the_files_hash_and_size(database_url: str, tmp_path: Path) -> None:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(b"\x00model" * 1000)
    with session_scope(database_url) as session:
        row = repo.record_artifact(session, model_file, "model", meta={"estimator": "hgb"})
    assert row["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert row["size"] == 6000 and row["uri"].startswith("file://")
    with pytest.raises(NotFoundError), session_scope(database_url) as session:
        repo.record_artifact(session, tmp_path / "missing.pkl", "model")


def test_audit_entries_keep_the_ids_they_touched(database_url: str) -> None:
    with session_scope(database_url) as session:
        audit_id = repo.add_audit(
            session, "sweep.create", method="POST", route="/sweeps", status_code=202, target_ids=[7]
        )
    with session_scope(database_url) as session:
        from sigma_lab.store import AuditLog

        entry = session.get(AuditLog, audit_id)
        assert (entry.action, entry.status_code, entry.target_ids) == ("sweep.create", 202, [7])
