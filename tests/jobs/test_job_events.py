"""Webhook events of finished jobs: queued once, in the transaction that finishes the job."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sigma_lab import events, jobs
from sigma_lab.config import get_settings
from sigma_lab.store import Job, WebhookDelivery, repo, session_scope

PASSING = {"fast": 5, "slow": 30}


@pytest.fixture
def subscribe(monkeypatch: pytest.MonkeyPatch):
    """Subscribe a loopback URL (nothing listens: only the queued deliveries matter here)."""
    monkeypatch.setenv("SIGMA_ALLOW_PRIVATE_WEBHOOKS", "1")
    get_settings.cache_clear()

    def make(*names: str) -> int:
        with session_scope() as session:
            sub, _ = events.create_subscription(session, "http://127.0.0.1:9/hook", list(names))
        return sub["id"]

    return make


def _deliveries(subscription_id: int) -> list[WebhookDelivery]:
    with session_scope() as session:
        query = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        return list(session.scalars(query.order_by(WebhookDelivery.id)))


def test_a_finished_backtest_job_queues_backtest_completed_with_its_run_and_metrics(
    jobs_env, database_url, subscribe
):
    completed, failed = subscribe("backtest.completed"), subscribe("job.failed")
    job_id = jobs.submit("backtest", {"strategy_params": PASSING}, kind="function", wait=True)
    job = jobs.get(job_id)
    assert job["status"] == "succeeded", job["error"]
    (delivery,) = _deliveries(completed)
    assert delivery.event == "backtest.completed" and delivery.status == "pending"
    data = delivery.payload["data"]
    value = job["result"]["value"]
    assert data["job_id"] == job_id and data["target"] == "backtest"
    assert data["run_ids"] == [value["backtest_run_id"]]
    (run,) = data["runs"]
    assert run["trades"] == value["metrics"]["trades"] and run["gate_pass"] == value["gate_pass"]
    assert delivery.payload["id"] == delivery.event_id
    assert _deliveries(failed) == []


def test_a_failed_job_queues_job_failed_with_the_reason_once(jobs_env, subscribe):
    failed, completed = subscribe("job.failed"), subscribe("backtest.completed", "build.completed")
    job_id = jobs.submit("job_helpers:boom", kind="function", wait=True)
    assert jobs.recover() == [] and jobs.cancel(job_id)["status"] == "failed"
    (delivery,) = _deliveries(failed)
    data = delivery.payload["data"]
    assert delivery.event == "job.failed" and data["job_id"] == job_id
    assert data["error"] == "ValueError: boom from a job function" and data["failure_kind"] == "exception"
    assert _deliveries(completed) == []


def test_a_job_publishes_the_completed_event_of_every_kind_of_run_it_recorded(workspace):
    with session_scope() as session:
        job_id = repo.create_job(session, "function", "pipeline")
        other = repo.create_job(session, "function", "pipeline")
        backtest = repo.record_backtest_run(session, {"job_id": job_id, "metrics": {"sharpe": 1.5}})
        repo.record_backtest_run(session, {"job_id": other, "metrics": {"sharpe": 0.1}})
        training = repo.record_training_run(session, {"job_id": job_id, "model_id": "m", "auc": 0.61})
        repo.update_job_status(session, job_id, "running")
        repo.update_job_status(session, job_id, "succeeded")
        found = jobs.job_events(session, session.get(Job, job_id))
    assert [event for event, _ in found] == ["backtest.completed", "train.completed"]
    by_event = dict(found)
    assert by_event["backtest.completed"]["run_ids"] == [backtest]
    assert by_event["backtest.completed"]["runs"][0]["sharpe"] == 1.5
    assert by_event["train.completed"]["runs"][0] == {
        "id": training, "model_id": "m", "status": "succeeded", "estimator": None, "build_run_id": None,
        "auc": 0.61, "log_loss": None, "brier": None, "accuracy": None,
    }


def test_a_stage_job_publishes_its_event_even_without_runs_and_a_cancelled_job_nothing(workspace):
    with session_scope() as session:
        sweep = repo.create_job(session, "notebook", "/somewhere/notebooks/sweep.ipynb")
        cancelled = repo.create_job(session, "function", "backtest")
        repo.update_job_status(session, sweep, "running")
        repo.update_job_status(session, sweep, "succeeded")
        repo.update_job_status(session, cancelled, "cancelled")
        assert [e for e, _ in jobs.job_events(session, session.get(Job, sweep))] == ["sweep.completed"]
        assert jobs.job_events(session, session.get(Job, cancelled)) == []
