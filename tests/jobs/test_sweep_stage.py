"""The "sweep" job function and the pipeline's sweep stage: build -> sweep -> gate -> train."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from job_helpers import REMOTE_SCRIPT, html_outputs

from sigma_lab import jobs
from sigma_lab.errors import ConfigError
from sigma_lab.jobs.stages import FUNCTIONS, sweep
from sigma_lab.store import BacktestRun, Job, Sweep, SweepResult, TrainingRun, session_scope

MODEL = "spy_eq_intraday_hourly_momentum"
GRID = {"fast": [5, 10], "slow": [15, 30]}


def _count(model: type, *where: sa.ColumnElement[bool]) -> int:
    with session_scope() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_sweep_is_the_registered_job_function():
    assert FUNCTIONS["sweep"] is sweep


def test_sweep_job_records_its_sweep_and_top_runs_tied_to_the_job(jobs_env, database_url):
    params = {"grid": GRID, "keep": 2, "tag": "stage", "execution": {"fees_bps": 1}}
    job = jobs.wait(jobs.submit("sweep", params, kind="function"), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    value = job["result"]["value"]
    assert value["n_configs"] == 4 and len(value["top"]) == 2
    assert value["best_params"] == value["top"][0]["params"] and set(value["best_params"]) == {"fast", "slow"}
    assert value["top"][0]["sharpe"] >= value["top"][1]["sharpe"]
    with session_scope() as session:
        row = session.get(Sweep, value["sweep_id"])
        assert (row.job_id, row.status, row.tag, row.timeframe) == (job["id"], "succeeded", "stage", "1h")
        kept = session.scalars(sa.select(BacktestRun).where(BacktestRun.sweep_id == row.id)).all()
    assert sorted(r.id for r in kept) == sorted(t["backtest_run_id"] for t in value["top"])
    assert _count(SweepResult, SweepResult.sweep_id == value["sweep_id"]) == 4
    assert job["progress"] == 1.0


def test_a_finished_sweep_job_publishes_sweep_completed_with_its_sweep(jobs_env):
    job = jobs.wait(jobs.submit("sweep", {"grid": GRID, "keep": 1}, kind="function"), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    with session_scope() as session:
        found = dict(jobs.job_events(session, session.get(Job, job["id"])))
    assert list(found) == ["sweep.completed"]
    assert found["sweep.completed"]["run_ids"] == [job["result"]["value"]["sweep_id"]]
    assert found["sweep.completed"]["runs"][0]["n_configs"] == 4


def test_pipeline_sweeps_then_gates_and_trains_the_best_configuration(jobs_env):
    params = {"model_id": MODEL, "grid": GRID, "risk_profile": "aggressive", "keep": 1}
    job = jobs.wait(jobs.submit("pipeline", params, kind="function"), timeout=300)
    assert job["status"] == "succeeded", job["error"]
    done = [(s["stage"], s["status"]) for s in job["result"]["stages"] if s["status"] != "running"]
    assert done == [
        ("build", "succeeded"),
        ("sweep", "succeeded"),
        ("gate", "succeeded"),
        ("train", "succeeded"),
    ]
    value = job["result"]["value"]
    assert value["gate"]["strategy_params"] == value["sweep"]["best_params"] == {"fast": 10, "slow": 30}
    with session_scope() as session:
        row = session.get(Sweep, value["sweep"]["sweep_id"])
        assert (row.job_id, row.model_id, row.pack) == (job["id"], MODEL, "momentumsigma")
    assert _count(TrainingRun, TrainingRun.job_id == job["id"]) == 1


def test_pipeline_stops_at_the_gate_after_the_sweep_when_the_best_fails(jobs_env):
    params = {"model_id": MODEL, "grid": GRID, "risk_profile": "conservative", "keep": 1}
    job = jobs.wait(jobs.submit("pipeline", params, kind="function"), timeout=300)
    assert job["status"] == "failed"
    assert (
        job["result"]["stopped_at"] == "gate"
        and "gate failed under the conservative" in job["result"]["reason"]
    )
    done = [(s["stage"], s["status"]) for s in job["result"]["stages"] if s["status"] != "running"]
    assert done == [("build", "succeeded"), ("sweep", "succeeded"), ("gate", "failed")]
    gate = job["result"]["value"]["gate"]
    assert gate["strategy_params"] == job["result"]["value"]["sweep"]["best_params"]
    assert _count(TrainingRun) == 0


def test_pipeline_without_a_grid_records_the_sweep_as_skipped(jobs_env):
    params = {"model_id": MODEL, "strategy_params": {"fast": 5, "slow": 15}, "risk_profile": "aggressive"}
    job = jobs.wait(jobs.submit("pipeline", params, kind="function"), timeout=300)
    (skipped,) = [s for s in job["result"]["stages"] if s["stage"] == "sweep"]
    assert skipped["status"] == "skipped" and "no grid or preset" in skipped["reason"]
    assert _count(Sweep) == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grid": GRID, "keep": 0}, "keep must be >= 1"),
        ({"grid": GRID, "preset": "sma_cross_basic", "pack": "swingsigma"}, "exactly one of grid"),
        ({"preset": "sma_cross_basic"}, "needs the pack"),
        ({"preset": "threshold_by_hours", "pack": "zerosigma"}, "sweeps model scores"),
        ({"grid": {"fast": [5], "slowest": [20]}}, "unknown sweep parameter 'slowest'"),
    ],
)
def test_bad_sweep_job_parameters_fail_before_anything_is_stored(workspace, params, message):
    with pytest.raises(ConfigError, match=message):
        sweep(None, **params)
    assert _count(Sweep) == 0


def test_sweep_job_runs_a_pack_preset_with_its_execution_settings(workspace):
    value = sweep(None, preset="sma_cross_basic", pack="swingsigma", timeframe="1d", keep=1)
    assert value["n_configs"] == 56 and value["execution"] == {"fees_bps": 5}
    assert isinstance(value["best_params"]["fast"], int)


def test_sweep_notebook_job_records_the_sweep_rows_tied_to_the_job(jobs_env):
    params = {"grid": {"fast": [5, 10], "slow": [20, 30, 40]}, "keep": 1, "tag": "notebook"}
    job = jobs.wait(jobs.submit("sweep", params), timeout=300)
    assert job["status"] == "succeeded", job["error"]
    with session_scope() as session:
        (row,) = session.scalars(sa.select(Sweep).where(Sweep.job_id == job["id"])).all()
        assert (row.status, row.tag, row.n_configs, row.timeframe) == ("succeeded", "notebook", 6, "1h")
        found = dict(jobs.job_events(session, session.get(Job, job["id"])))
    assert _count(SweepResult, SweepResult.sweep_id == row.id, SweepResult.deflated_sharpe.is_not(None)) == 6
    assert _count(BacktestRun, BacktestRun.sweep_id == row.id) == 1
    assert found["sweep.completed"]["run_ids"] == [row.id]
    html = html_outputs(job["output_path"])
    assert "deflated_sharpe" in html and "Plotly.newPlot" in html
    assert not REMOTE_SCRIPT.search(html), "figures must not load scripts from a CDN"
