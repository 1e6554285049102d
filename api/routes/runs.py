"""Runs: builds, trainings and backtests (with folds, trades and equity), newest first, paged."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter, Query

from api.deps import MAX_ID, Id, PageParams, Viewer, WorkDep, next_cursor
from api.schemas import Page
from sigma_lab.store import BacktestRun, BuildRun, Trade, TrainingRun, repo

router = APIRouter(prefix="/runs", tags=["runs"])

ModelFilter = Annotated[str | None, Query(max_length=200, description="Only runs of this model id.")]


def _page(work: WorkDep, table: Any, page: PageParams, model_id: str | None) -> dict[str, Any]:
    query = sa.select(table).order_by(table.id.desc()).limit(page.limit)
    if model_id is not None:
        query = query.where(table.model_id == model_id)
    if page.before is not None:
        query = query.where(table.id < page.before)
    items = [repo.to_dict(r) for r in work.session.scalars(query)]
    return {"items": items, "next_before": next_cursor(items, page)}


@router.get("/builds", response_model=Page[dict[str, Any]])
def list_builds(work: WorkDep, _: Viewer, page: PageParams, model_id: ModelFilter = None) -> dict[str, Any]:
    """Matrix builds."""
    return _page(work, BuildRun, page, model_id)


@router.get("/builds/{run_id}", response_model=dict[str, Any])
def get_build(run_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """One matrix build with its QA results and manifest."""
    return repo.get_build_run(work.session, run_id)


@router.get("/trainings", response_model=Page[dict[str, Any]])
def list_trainings(
    work: WorkDep, _: Viewer, page: PageParams, model_id: ModelFilter = None
) -> dict[str, Any]:
    """Trainings."""
    return _page(work, TrainingRun, page, model_id)


@router.get("/trainings/{run_id}", response_model=dict[str, Any])
def get_training(run_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """One training with its fold metrics and feature importances."""
    return repo.get_training_run(work.session, run_id)


@router.get("/backtests", response_model=Page[dict[str, Any]])
def list_backtests(
    work: WorkDep, _: Viewer, page: PageParams, model_id: ModelFilter = None
) -> dict[str, Any]:
    """Backtests."""
    return _page(work, BacktestRun, page, model_id)


@router.get("/backtests/{run_id}", response_model=dict[str, Any])
def get_backtest(run_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """One backtest with its metrics, gate verdict and walk-forward folds."""
    return repo.get_backtest_run(work.session, run_id, ledger=False)


@router.get("/backtests/{run_id}/trades", response_model=Page[dict[str, Any]])
def list_trades(
    run_id: Id,
    work: WorkDep,
    _: Viewer,
    page: PageParams,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Return trades with ids above this cursor.")
    ] = None,
) -> dict[str, Any]:
    """A backtest's trade ledger in entry order; pass ``next_before`` back as ``after``."""
    repo.get_backtest_run(work.session, run_id, ledger=False)
    query = sa.select(Trade).where(Trade.run_id == run_id).order_by(Trade.id).limit(page.limit)
    if after is not None:
        query = query.where(Trade.id > after)
    items = [repo.to_dict(t) for t in work.session.scalars(query)]
    return {"items": items, "next_before": next_cursor(items, page)}


@router.get("/backtests/{run_id}/equity", response_model=dict[str, Any])
def get_equity(run_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """The backtest's equity curve at trade exits (compounded trade returns, starting at 1.0)."""
    repo.get_backtest_run(work.session, run_id, ledger=False)
    rows = work.session.execute(
        sa.select(Trade.exit_time, Trade.ret)
        .where(Trade.run_id == run_id, Trade.exit_time.is_not(None))
        .order_by(Trade.exit_time, Trade.id)
    ).all()
    returns = np.array([r.ret if r.ret is not None else 0.0 for r in rows], dtype=float)
    equity = np.cumprod(1.0 + returns)
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    drawdown = equity / peak - 1.0 if len(equity) else equity
    return {
        "run_id": run_id,
        "points": [
            {"time": r.exit_time, "equity": float(e), "drawdown": float(d)}
            for r, e, d in zip(rows, equity, drawdown, strict=True)
        ],
    }
