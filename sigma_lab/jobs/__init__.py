"""Jobs: notebooks (run with Papermill) and core functions, run in the background and recorded.

    from sigma_lab import jobs
    job_id = jobs.submit("backtest", {"symbol": "SPY", "timeframe": "1h"})   # a notebook
    job_id = jobs.submit("pipeline", {"model_id": "..."}, kind="function")
    jobs.wait(job_id, timeout=120)["status"]

Local worker processes by default; a Dask cluster when ``SIGMA_DASK_SCHEDULER`` is set.
Call :func:`recover` at start-up to fail the jobs a crash left running (the API and the
``sigma-lab run`` / ``jobs`` commands do). A finished job publishes its webhook events
(``build.completed`` ... ``job.failed``, see :mod:`sigma_lab.jobs.outcome`) in the
transaction that records its outcome.
"""

from __future__ import annotations

from sigma_lab.jobs.notebooks import (
    EXECUTION_TIMEOUT,
    KERNEL_NAME,
    START_TIMEOUT,
    NotebookFailed,
    ensure_kernelspec,
    notebooks_dir,
    resolve_notebook,
    run_notebook,
)
from sigma_lab.jobs.outcome import job_events, publish_outcome
from sigma_lab.jobs.runner import (
    JobTimeout,
    cancel,
    execute_job,
    get,
    job_dir,
    list_jobs,
    recover,
    resolve_function,
    submit,
    supervise,
    wait,
)
from sigma_lab.jobs.stages import (
    FUNCTIONS,
    PIPELINE_STAGES,
    PipelineStopped,
    backtest,
    build,
    pipeline,
    record_stage,
    register,
    train,
)

__all__ = [
    "EXECUTION_TIMEOUT",
    "FUNCTIONS",
    "KERNEL_NAME",
    "PIPELINE_STAGES",
    "START_TIMEOUT",
    "JobTimeout",
    "NotebookFailed",
    "PipelineStopped",
    "backtest",
    "build",
    "cancel",
    "ensure_kernelspec",
    "execute_job",
    "get",
    "job_events",
    "job_dir",
    "list_jobs",
    "notebooks_dir",
    "pipeline",
    "publish_outcome",
    "record_stage",
    "recover",
    "register",
    "resolve_function",
    "resolve_notebook",
    "run_notebook",
    "submit",
    "supervise",
    "train",
    "wait",
]
