"""Sweeps: start one as a job (202), list and read recorded sweeps, page through their results.

``POST /sweeps`` checks the grid before queuing anything: an unknown strategy, parameter or
execution setting, an out-of-bounds value or a grid over the budget is a 422 whose ``loc``
names the field (``["body", "grid", "slowest"]``). The key's ``sweeps_per_day`` and
``concurrent_jobs`` quotas apply. The job runs :func:`sigma_lab.jobs.stages.sweep`, which
records the sweep and its results and publishes ``sweep.completed`` when it finishes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import Field

from api.deps import Cache, Id, PageParams, Researcher, Viewer, WorkDep, next_cursor
from api.routes.jobs import submit_job
from api.routes.leaderboard import RankQuery, ranked
from api.schemas import JobOut, Page, Strict
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.packs import sweep_space_errors
from sigma_lab.store import Sweep, repo
from sigma_lab.store.models import RUN_STATUSES

router = APIRouter(tags=["sweeps"])

GridValue = float | int | bool | str | None | list[int]


class SweepRequest(Strict):
    """A grid sweep of a rule strategy on one symbol's bars."""

    symbol: str = Field(default="SPY", min_length=1, max_length=20, pattern=r"^[A-Za-z0-9.]+$")
    timeframe: str = Field(default="1h", max_length=10)
    source: str = Field(default="sample", max_length=40)
    strategy: str = Field(default="sma_cross", max_length=100)
    grid: dict[str, list[GridValue]] = Field(
        min_length=1, max_length=20, description="Parameter name -> values; every combination is run."
    )
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    keep: int = Field(default=3, ge=1, le=100, description="Best configurations re-run in full and recorded.")
    rank_by: str = Field(default="sharpe", max_length=40, pattern=r"^[a-z_]+$")
    tag: str | None = Field(default=None, max_length=100)
    model_id: str | None = Field(default=None, max_length=200)
    max_configs: int | None = Field(default=None, ge=1, le=1_000_000)
    start: dt.date | None = None
    end: dt.date | None = None
    execution: dict[str, GridValue] = Field(default_factory=dict, max_length=50)


def _check_space(body: SweepRequest) -> None:
    """422 naming the field when the grid cannot run (unknown names, bad values, over budget)."""
    from sigma_lab.sweep import budget, build_configs

    found = sweep_space_errors({"strategy": body.strategy, "grid": body.grid, "execution": body.execution})
    errors = [{"loc": ("body", *loc), "msg": msg, "type": "value_error"} for loc, msg in found]
    if not errors:
        try:
            limit = budget(body.risk_profile, body.max_configs)
            build_configs(body.grid, None, None, 0, (), body.strategy, limit)
        except ConfigError as exc:
            errors = [{"loc": ("body", "grid"), "msg": str(exc), "type": "value_error"}]
    if errors:
        raise RequestValidationError(errors)


@router.post("/sweeps", status_code=202, response_model=JobOut)
def start_sweep(body: SweepRequest, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Sweep a rule strategy's grid as a job; poll ``GET /jobs/{id}``, then read ``GET /sweeps/{id}``."""
    _check_space(body)
    return submit_job(work, key, "sweep", body.model_dump(mode="json", exclude_none=True))


@router.get("/sweeps", response_model=Page[dict[str, Any]])
def list_sweeps(
    work: WorkDep,
    _: Viewer,
    page: PageParams,
    strategy: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[Literal[RUN_STATUSES] | None, Query()] = None,
) -> dict[str, Any]:
    """Recorded sweeps, newest first."""
    query = sa.select(Sweep).order_by(Sweep.id.desc()).limit(page.limit)
    for column, value in (("strategy", strategy), ("tag", tag), ("model_id", model_id), ("status", status)):
        if value is not None:
            query = query.where(getattr(Sweep, column) == value)
    if page.before is not None:
        query = query.where(Sweep.id < page.before)
    items = [repo.to_dict(s) for s in work.session.scalars(query)]
    return {"items": items, "next_before": next_cursor(items, page)}


def _sweep(work: WorkDep, sweep_id: int) -> Sweep:
    row = work.session.get(Sweep, sweep_id)
    if row is None:
        raise NotFoundError(f"sweep {sweep_id} does not exist")
    return row


@router.get("/sweeps/{sweep_id}", response_model=dict[str, Any])
def get_sweep(sweep_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """One sweep: its spec, progress, summary (best configuration) and lineage."""
    return repo.to_dict(_sweep(work, sweep_id))


@router.get("/sweeps/{sweep_id}/results")
def sweep_results(
    sweep_id: Id, request: Request, work: WorkDep, cache: Cache, _: Viewer, rank: RankQuery
) -> Response:
    """A sweep's results ranked by ``sort`` (best first, NULLs last, ties by id), paged by ``cursor``."""
    _sweep(work, sweep_id)
    return ranked(request, work, cache, rank, source="sweeps", sweep_id=sweep_id)
