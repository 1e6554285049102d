"""Function jobs, background execution, cancellation, crash recovery, pipelines and Dask."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import sqlalchemy as sa
from job_helpers import wait_until

from sigma_lab import jobs
from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError
from sigma_lab.store import BacktestRun, BuildRun, TrainingRun, session_scope

MODEL = "spy_eq_intraday_hourly_momentum"
PASSING = {"fast": 5, "slow": 30}
FAILING = {"fast": 5, "slow": 15}


def _pid(job):
    return int(job["worker"].rsplit(":", 2)[1])


def test_function_job_records_its_backtest_on_sqlite_and_postgres(jobs_env, database_url):
    job_id = jobs.submit("backtest", {"strategy_params": PASSING}, kind="function")
    job = jobs.wait(job_id, timeout=120)
    assert job["status"] == "succeeded", job["error"]
    value = job["result"]["value"]
    with session_scope() as session:
        run = session.get(BacktestRun, value["backtest_run_id"])
    assert run.job_id == job_id and run.ticker == "SPY" and run.trades == value["metrics"]["trades"]


def test_submit_returns_at_once_while_the_job_runs_in_another_process(jobs_env):
    started = time.monotonic()
    job_id = jobs.submit("job_helpers:sleepy", {"seconds": 3}, kind="function")
    assert time.monotonic() - started < 2.5
    wait_until(lambda: jobs.get(job_id)["status"] == "running")
    assert _pid(jobs.get(job_id)) != os.getpid()
    job = jobs.wait(job_id, timeout=60)
    assert job["status"] == "succeeded" and job["result"]["value"] == {"slept": 3}


def test_a_failing_function_job_records_the_error(jobs_env):
    job = jobs.wait(jobs.submit("job_helpers:boom", kind="function"), timeout=60)
    assert job["status"] == "failed"
    assert job["error"] == "ValueError: boom from a job function"
    assert "boom" in job["result"]["failure"]["traceback"]


def test_cancel_stops_the_worker_process_group_and_marks_the_job_cancelled(jobs_env):
    job_id = jobs.submit("job_helpers:sleepy", {"seconds": 120}, kind="function")
    wait_until(lambda: jobs.get(job_id)["status"] == "running")
    pid = _pid(jobs.get(job_id))
    job = jobs.cancel(job_id, grace=5)
    assert job["status"] == "cancelled" and job["cancel_requested"] is True
    assert job["finished_at"] is not None
    wait_until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10)
    assert jobs.cancel(job_id)["status"] == "cancelled"


def test_recover_marks_failed_a_running_job_whose_worker_was_killed(jobs_env):
    job_id = jobs.submit("job_helpers:sleepy", {"seconds": 120}, kind="function")
    wait_until(lambda: jobs.get(job_id)["status"] == "running")
    pid = _pid(jobs.get(job_id))
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10)
    assert jobs.get(job_id)["status"] == "running"
    assert jobs.recover() == [job_id]
    job = jobs.get(job_id)
    assert job["status"] == "failed"
    assert f"worker process {pid}" in job["error"] and "crashed or killed" in job["error"]
    assert jobs.recover() == []


def test_recover_leaves_live_jobs_alone(jobs_env):
    job_id = jobs.submit("job_helpers:sleepy", {"seconds": 120}, kind="function")
    wait_until(lambda: jobs.get(job_id)["status"] == "running")
    assert jobs.recover() == []
    assert jobs.cancel(job_id)["status"] == "cancelled"


def test_pipeline_stops_at_a_failed_gate_with_the_reason_and_trains_nothing(jobs_env):
    params = {"model_id": MODEL, "strategy_params": FAILING, "risk_profile": "aggressive"}
    job = jobs.wait(jobs.submit("pipeline", params, kind="function"), timeout=120)
    assert job["status"] == "failed"
    assert job["result"]["stopped_at"] == "gate" and "poor_sharpe" in job["result"]["reason"]
    assert "stopped at the gate" in job["error"]
    done = [(s["stage"], s["status"]) for s in job["result"]["stages"] if s["status"] != "running"]
    assert done[0] == ("build", "succeeded") and done[-1] == ("gate", "failed")
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TrainingRun)) == 0
        assert session.scalar(sa.select(BuildRun.job_id)) == job["id"]


def test_pipeline_that_passes_the_gate_trains_and_ties_every_run_to_the_job(jobs_env):
    params = {"model_id": MODEL, "strategy_params": PASSING, "risk_profile": "aggressive"}
    job = jobs.wait(jobs.submit("pipeline", params, kind="function"), timeout=120)
    assert job["status"] == "succeeded", job["error"]
    stages = [s["stage"] for s in job["result"]["stages"] if s["status"] == "succeeded"]
    assert stages[0] == "build" and stages[-2:] == ["gate", "train"]
    value = job["result"]["value"]
    with session_scope() as session:
        training = session.get(TrainingRun, value["train"]["training_run_id"])
        backtest = session.get(BacktestRun, value["gate"]["backtest_run_id"])
    assert training.job_id == backtest.job_id == job["id"]
    assert training.build_run_id == value["build"]["build_run_id"]


def test_jobs_run_on_a_dask_cluster_when_a_scheduler_is_configured(jobs_env, monkeypatch):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("SIGMA_DASK_SCHEDULER", cluster.scheduler_address)
        get_settings.cache_clear()
        job_id = jobs.submit("backtest", {"strategy_params": PASSING}, kind="function")
        job = jobs.wait(job_id, timeout=120)
        assert job["status"] == "succeeded", job["error"]
        assert job["executor"] == f"dask:{cluster.scheduler_address}"

        slow = jobs.submit("job_helpers:sleepy", {"seconds": 120}, kind="function")
        wait_until(lambda: jobs.get(slow)["status"] == "running")
        assert jobs.cancel(slow)["status"] == "cancelled"


def test_list_jobs_filters_by_status_newest_first_and_refuses_unknown_statuses(jobs_env):
    first = jobs.wait(jobs.submit("job_helpers:boom", kind="function"), timeout=60)["id"]
    second = jobs.wait(jobs.submit("job_helpers:sleepy", {"seconds": 0}, kind="function"), timeout=60)["id"]
    assert [j["id"] for j in jobs.list_jobs()] == [second, first]
    assert [j["id"] for j in jobs.list_jobs(status="failed")] == [first]
    with pytest.raises(ConfigError, match="not one of"):
        jobs.list_jobs(status="exploded")
