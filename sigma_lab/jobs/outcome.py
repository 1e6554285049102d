"""The webhook events a finished job publishes, written in the transaction that finishes it.

A job that succeeded publishes ``<stage>.completed`` for its own stage (a function or notebook
named ``build``, ``train``, ``backtest`` or ``sweep``) and for every kind of run it recorded
(a pipeline or the tour notebook records several), each with ``{job_id, target, run_ids, runs}``:
the ids of the runs of that kind tied to the job and their key metrics. A job that failed
publishes ``job.failed`` with the reason (its error, the failure kind and cell of a notebook,
where a pipeline stopped) and the runs it had recorded. A cancelled job publishes nothing.

Because :func:`publish_outcome` runs in the same transaction that moves the job to its final
status, and a job reaches a final status once, each event is queued exactly once, and only
if the job's outcome is stored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigma_lab.store import BacktestRun, BuildRun, Job, Sweep, TrainingRun

#: The ``.completed`` event of each stage, in pipeline order.
STAGE_EVENTS: dict[str, str] = {
    "build": "build.completed",
    "sweep": "sweep.completed",
    "backtest": "backtest.completed",
    "train": "train.completed",
}
FAILED_EVENT = "job.failed"

#: The run table of each stage and the columns reported as its key metrics.
_RUNS: dict[str, tuple[type, tuple[str, ...]]] = {
    "build": (BuildRun, ("model_id", "status", "n_rows", "matrix_hash")),
    "sweep": (Sweep, ("name", "strategy", "ticker", "timeframe", "status", "n_configs", "n_done")),
    "backtest": (
        BacktestRun,
        ("model_id", "strategy", "ticker", "timeframe", "risk_profile", "gate_pass", "sharpe",
         "total_return", "max_drawdown", "trades"),
    ),
    "train": (TrainingRun, ("model_id", "status", "estimator", "build_run_id", "auc", "log_loss", "brier",
                            "accuracy")),
}


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _runs(session: Session, job_id: int) -> dict[str, list[dict[str, Any]]]:
    """The runs of each stage tied to ``job_id``, oldest first, with their key metrics."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stage, (model, columns) in _RUNS.items():
        query = sa.select(model.id, *(getattr(model, c) for c in columns)).where(model.job_id == job_id)
        rows = session.execute(query.order_by(model.id)).all()
        if rows:
            out[stage] = [{k: _clean(v) for k, v in row._mapping.items()} for row in rows]
    for run in out.get("build", []):
        qa = session.scalar(sa.select(BuildRun.qa).where(BuildRun.id == run["id"])) or {}
        run["qa_status"] = qa.get("status")
    return out


def target_stage(job: Job) -> str | None:
    """The stage a job's target names (``build``, ``train``, ``backtest``, ``sweep``), if any."""
    name = Path(job.target).stem if job.kind == "notebook" else job.target.rpartition(":")[2]
    return name if name in STAGE_EVENTS else None


def job_events(session: Session, job: Job) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` pairs the finished ``job`` publishes (see the module docs)."""
    runs = _runs(session, job.id)
    base = {"job_id": job.id, "kind": job.kind, "target": job.target}
    if job.status == "failed":
        result = job.result or {}
        failure = result.get("failure") or {}
        return [(FAILED_EVENT, {
            **base,
            "error": job.error,
            "failure_kind": failure.get("kind"),
            "failing_cell": job.failing_cell,
            "stopped_at": result.get("stopped_at"),
            "run_ids": {stage: [r["id"] for r in rows] for stage, rows in runs.items()},
        })]
    if job.status != "succeeded":
        return []
    own = target_stage(job)
    return [
        (event, {**base, "run_ids": [r["id"] for r in runs.get(stage, [])], "runs": runs.get(stage, [])})
        for stage, event in STAGE_EVENTS.items()
        if stage in runs or stage == own
    ]


def publish_outcome(session: Session, job: Job) -> list[int]:
    """Queue the finished ``job``'s events in ``session``'s transaction; return the delivery ids."""
    from sigma_lab import events

    ids: list[int] = []
    for event, data in job_events(session, job):
        ids += events.publish(event, data, session=session)
    return ids
