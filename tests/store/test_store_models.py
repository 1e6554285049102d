"""Models round-trip on SQLite and PostgreSQL: timestamps, JSON, unique constraints, cascades."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from sigma_lab.store import (
    ApiKey,
    AuditLog,
    BacktestFold,
    BacktestRun,
    BuildRun,
    Job,
    OptionSignal,
    Pack,
    Policy,
    Signal,
    Sweep,
    SweepResult,
    Trade,
    TrainingRun,
    Universe,
    WebhookDelivery,
    WebhookSubscription,
    repo,
    session_scope,
)

T0 = dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.UTC)


def _count(url: str, model: type) -> int:
    with session_scope(url) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_timestamps_come_back_tz_aware_utc(database_url: str) -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    with session_scope(database_url) as session:
        run = BuildRun(model_id="spy_eq_0dte_hourly", range_start=T0.astimezone(new_york), range_end=T0)
        session.add(run)
        session.flush()
        run_id = run.id
    with session_scope(database_url) as session:
        row = session.get(BuildRun, run_id)
        assert row.range_start == T0 and row.range_start.utcoffset() == dt.timedelta(0)
        assert row.created_at.tzinfo is not None
        assert abs(row.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_naive_timestamps_are_refused(database_url: str) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope(database_url) as session:
        session.add(BuildRun(model_id="m", range_start=dt.datetime(2024, 1, 1)))
        session.flush()


def test_json_columns_round_trip_nested_documents_and_numpy_values(database_url: str) -> None:
    params = {"fast": np.int64(10), "slow": 30, "hours": [10, 11], "nested": {"fee": np.float64(0.5)}}
    metrics = {"sharpe": 1.25, "profit_factor": math.inf, "sortino": float("nan"), "note": "ok"}
    with session_scope(database_url) as session:
        run = BacktestRun(model_id="m", params=params, metrics=metrics, lineage={"matrix": "ab" * 32})
        session.add(run)
        session.flush()
        run_id = run.id
    with session_scope(database_url) as session:
        row = session.get(BacktestRun, run_id)
        assert row.params == {"fast": 10, "slow": 30, "hours": [10, 11], "nested": {"fee": 0.5}}
        assert row.metrics == {"sharpe": 1.25, "profit_factor": None, "sortino": None, "note": "ok"}
        assert row.lineage["matrix"] == "ab" * 32


def test_json_none_is_sql_null(database_url: str) -> None:
    with session_scope(database_url) as session:
        job = Job(kind="notebook", target="sweep.ipynb", result=None)
        session.add(job)
        session.flush()
        job_id = job.id
    with session_scope(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).where(Job.id == job_id, Job.result.is_(None))) == 1


def test_reference_rows_round_trip(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(Pack(name="swingsigma", asset_types=["eq"], spec={"horizon": "swing"}))
        session.add(Universe(name="sample10", kind="universe", tickers=["AAPL", "MSFT"]))
        session.add(ApiKey(name="ci", prefix="sk_abc", key_hash="h" * 64, role="admin", sweeps_per_day=5))
    with session_scope(database_url) as session:
        assert session.scalars(sa.select(Pack.asset_types)).one() == ["eq"]
        assert session.scalars(sa.select(Universe.tickers)).one() == ["AAPL", "MSFT"]
        assert session.scalars(sa.select(ApiKey.role)).one() == "admin"


def test_a_signal_is_stored_once_per_date_model_and_ticker(database_url: str) -> None:
    signal = {
        "asof": T0,
        "model_id": "spy_eq_swing_daily",
        "ticker": "SPY",
        "side": "long",
        "confidence": 0.7,
    }
    with session_scope(database_url) as session:
        first = repo.insert_signal(session, signal)
    with session_scope(database_url) as session:
        second = repo.insert_signal(session, {**signal, "asof": T0 + dt.timedelta(hours=1)})
        other_ticker = repo.insert_signal(session, {**signal, "ticker": "QQQ"})
    assert first is not None and second is None and other_ticker not in (None, first)
    with session_scope(database_url) as session:
        stored = session.scalars(sa.select(Signal).where(Signal.ticker == "SPY")).one()
        assert stored.date == T0.date() and stored.asof == T0 and stored.accepted is True
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(Signal(date=T0.date(), asof=T0, model_id="spy_eq_swing_daily", ticker="SPY", side="long"))


def test_policy_versions_are_unique_per_model(database_url: str) -> None:
    with session_scope(database_url) as session:
        v1 = repo.add_policy_version(session, "spy_eq_swing_daily", {"risk": {"max_drawdown": 0.15}})
        v2 = repo.add_policy_version(session, "spy_eq_swing_daily", {"risk": {"max_drawdown": 0.05}})
        other = repo.add_policy_version(session, "aapl_eq_swing_daily", {})
    assert (v1["version"], v2["version"], other["version"]) == (1, 2, 1)
    with session_scope(database_url) as session:
        assert repo.get_policy(session, "spy_eq_swing_daily")["spec"] == {"risk": {"max_drawdown": 0.05}}
        assert repo.get_policy(session, "spy_eq_swing_daily", 1)["spec"]["risk"]["max_drawdown"] == 0.15
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(Policy(model_id="spy_eq_swing_daily", version=2, spec={}))


def test_status_columns_refuse_unknown_values(database_url: str) -> None:
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(Job(kind="notebook", target="x.ipynb", status="exploded"))


def test_deleting_a_backtest_run_deletes_its_folds_and_trades(database_url: str) -> None:
    with session_scope(database_url) as session:
        run = BacktestRun(model_id="m")
        run.folds = [BacktestFold(fold=0), BacktestFold(fold=1)]
        session.add(run)
        session.flush()
        session.add(Trade(run_id=run.id, side="long", entry_time=T0, entry_price=1.0, size=1.0))
        keep = BacktestRun(model_id="keep")
        session.add(keep)
        session.flush()
        session.add(Trade(run_id=keep.id, side="short", entry_time=T0, entry_price=2.0, size=1.0))
        run_id = run.id
    with session_scope(database_url) as session:
        session.delete(session.get(BacktestRun, run_id))
    assert _count(database_url, BacktestFold) == 0
    assert _count(database_url, Trade) == 1
    assert _count(database_url, BacktestRun) == 1


def test_deleting_a_sweep_deletes_its_results_but_keeps_linked_runs(database_url: str) -> None:
    with session_scope(database_url) as session:
        sweep_id = repo.create_sweep(session, {"strategy": "sma_cross"})
        run = BacktestRun(model_id="m", sweep_id=sweep_id)
        session.add(run)
        session.flush()
        repo.bulk_insert_sweep_results(
            session,
            sweep_id,
            [{"params": {"fast": 5}, "metrics": {"sharpe": 1.0}, "backtest_run_id": run.id}],
        )
        run_id = run.id
    with session_scope(database_url) as session:
        session.delete(session.get(Sweep, sweep_id))
    assert _count(database_url, SweepResult) == 0
    with session_scope(database_url) as session:
        assert session.get(BacktestRun, run_id).sweep_id is None


def test_deleting_parents_cascades_to_option_signals_and_webhook_deliveries(database_url: str) -> None:
    with session_scope(database_url) as session:
        signal = Signal(date=T0.date(), asof=T0, model_id="m", ticker="SPY", side="long")
        signal.option_signals = [
            OptionSignal(underlying="SPY", structure="single", occ_symbol="SPY240301C00510000")
        ]
        sub = WebhookSubscription(url="http://127.0.0.1:9/hook", events=["signal.created"], secret="s")
        sub.deliveries = [WebhookDelivery(event="signal.created", event_id="e1", payload={"id": 1})]
        session.add_all([signal, sub])
    with session_scope(database_url) as session:
        session.delete(session.scalars(sa.select(Signal)).one())
        session.delete(session.scalars(sa.select(WebhookSubscription)).one())
    assert _count(database_url, OptionSignal) == 0
    assert _count(database_url, WebhookDelivery) == 0


def test_deleting_a_job_or_key_keeps_the_rows_that_point_to_it(database_url: str) -> None:
    with session_scope(database_url) as session:
        key = ApiKey(name="k", prefix="sk_1", key_hash="x" * 64, role="researcher")
        session.add(key)
        session.flush()
        job_id = repo.create_job(session, "function", "sigma_lab.train", api_key_id=key.id)
        training_id = repo.record_training_run(session, {"model_id": "m", "job_id": job_id})
        audit_id = repo.add_audit(session, "train", api_key_id=key.id, target_ids=[training_id])
        key_id = key.id
    with session_scope(database_url) as session:
        session.delete(session.get(Job, job_id))
        session.delete(session.get(ApiKey, key_id))
    with session_scope(database_url) as session:
        assert session.get(TrainingRun, training_id).job_id is None
        assert session.get(AuditLog, audit_id).api_key_id is None
