"""Notebook jobs under Papermill: the rows the stage notebooks record, and every failure kind."""

from __future__ import annotations

import sys

import nbformat
import pytest
import sqlalchemy as sa
from job_helpers import REMOTE_SCRIPT, html_outputs

from sigma_lab import jobs
from sigma_lab.store import BacktestRun, BuildRun, TrainingRun, session_scope

MODEL = "spy_eq_intraday_hourly_momentum"


def _rows(model, job_id):
    with session_scope() as session:
        return session.scalars(sa.select(model).where(model.job_id == job_id)).all()


def test_build_notebook_job_records_a_build_run_tied_to_the_job_and_keeps_its_output(jobs_env):
    job_id = jobs.submit("build", {"model_id": MODEL})
    job = jobs.wait(job_id, timeout=120)
    assert job["status"] == "succeeded", job["error"]
    (run,) = _rows(BuildRun, job_id)
    assert run.model_id == MODEL and run.status == "succeeded" and run.n_rows > 0
    assert job["output_path"] == str(jobs_env / "jobs" / str(job_id) / "build.ipynb")
    assert job["started_at"] <= job["finished_at"]
    assert job["params"] == {"model_id": MODEL}


def test_train_notebook_job_records_a_training_run_tied_to_the_job(jobs_env):
    job = jobs.wait(jobs.submit("train", {"model_id": MODEL}), timeout=120)
    assert job["status"] == "succeeded", job["error"]
    (run,) = _rows(TrainingRun, job["id"])
    assert run.model_id == MODEL and run.auc is not None and run.artifact_sha256


def test_backtest_notebook_job_records_a_gated_run_and_embeds_plotly_without_a_cdn(jobs_env):
    params = {"strategy_params": {"fast": 5, "slow": 30}, "risk_profile": "aggressive"}
    job = jobs.wait(jobs.submit("backtest", params), timeout=120)
    assert job["status"] == "succeeded", job["error"]
    (run,) = _rows(BacktestRun, job["id"])
    assert run.strategy == "sma_cross" and run.gate_pass is True and run.trades > 0
    html = html_outputs(job["output_path"])
    assert "Plotly.newPlot" in html
    assert not REMOTE_SCRIPT.search(html), "figures must not load scripts from a CDN"
    assert len(html) > 1_000_000, "plotly.js itself is embedded in the saved output"


def test_cell_error_records_the_failing_cell_its_source_and_the_error(jobs_env, make_notebook):
    path = make_notebook("bad", "x = 1", "raise ValueError('bad input in cell')", "y = 2")
    job = jobs.wait(jobs.submit(path), timeout=120)
    assert job["status"] == "failed"
    failure = job["result"]["failure"]
    assert failure["kind"] == "cell_error"
    assert failure["ename"] == "ValueError" and failure["evalue"] == "bad input in cell"
    nb = nbformat.read(job["output_path"], as_version=4)
    assert job["failing_cell"] == failure["cell_index"]
    assert "raise ValueError" in nb.cells[job["failing_cell"]].source
    assert "raise ValueError" in failure["source"]
    assert "ValueError: bad input in cell" in job["error"]


def test_cell_timeout_is_recorded_with_the_cell_that_ran_too_long(jobs_env, make_notebook):
    path = make_notebook("slow", "import time", "time.sleep(30)")
    job = jobs.wait(jobs.submit(path, execution_timeout=2), timeout=120)
    assert job["status"] == "failed"
    assert job["result"]["failure"]["kind"] == "cell_timeout"
    assert "time.sleep(30)" in job["result"]["failure"]["source"]
    assert "execution_timeout=2s" in job["error"]


def test_a_kernel_that_dies_is_recorded_as_dead_kernel(jobs_env, make_notebook):
    path = make_notebook("die", "import os, signal", "os.kill(os.getpid(), signal.SIGKILL)")
    job = jobs.wait(jobs.submit(path), timeout=120)
    assert job["status"] == "failed"
    assert job["result"]["failure"]["kind"] == "dead_kernel"
    assert "os.kill" in job["result"]["failure"]["source"]


def test_a_missing_kernel_is_recorded_as_missing_kernel(jobs_env, make_notebook):
    path = make_notebook("nokernel", "1 + 1")
    job = jobs.wait(jobs.submit(path, kernel_name="no-such-kernel-xyz"), timeout=60)
    assert job["status"] == "failed"
    assert job["result"]["failure"]["kind"] == "missing_kernel"
    assert "no-such-kernel-xyz" in job["error"]


def test_the_kernel_runs_the_same_interpreter_as_the_caller(jobs_env, make_notebook, tmp_path):
    path = make_notebook("which", "import sys\nprint(sys.executable)")
    out = jobs.run_notebook(path, tmp_path / "out.ipynb", kernel_name=jobs.ensure_kernelspec())
    printed = nbformat.read(out, as_version=4).cells[-1].outputs[0]["text"].strip()
    assert printed == sys.executable


def test_an_unknown_notebook_is_refused_at_submit_naming_the_known_ones(jobs_env):
    from sigma_lab.errors import NotFoundError

    with pytest.raises(NotFoundError, match="tour"):
        jobs.submit("no_such_notebook")
