"""The leaderboard: backtest runs (or sweep results) ranked by a metric, filtered, paginated.

Rows come in a stable order, the metric then the row id, and pages are cut by a keyset cursor
(the last row's metric and id), so paging never skips or repeats a row while new runs arrive.
Metrics without a column are read from the run's metrics JSON. Every row carries its lineage
(input hashes, parameters, seed, package version) and, for sweep rows, its sweep's.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from sigma_lab.errors import ConfigError
from sigma_lab.store import METRIC_COLUMNS, BacktestRun, Sweep, SweepResult, session_scope

SOURCES = ("runs", "sweeps")


@dataclass(frozen=True)
class Page:
    """One page of the leaderboard and the cursor of the next (``None`` at the end)."""

    rows: pd.DataFrame
    next_cursor: str | None


def _cursor(value: float | None, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode()


def _uncursor(cursor: str) -> tuple[float | None, int]:
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (None if value is None else float(value)), int(row_id)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid leaderboard cursor {cursor!r}") from exc


def _metric(table: sa.Table, name: str) -> sa.ColumnElement[Any]:
    if name in METRIC_COLUMNS:
        return table.c[name]
    if not name.replace("_", "").isalnum():
        raise ConfigError(f"invalid metric name {name!r}")
    return table.c.metrics[name].as_float()


def leaderboard(
    by: str = "sharpe",
    *,
    ascending: bool = False,
    source: str = "runs",
    pack: str | None = None,
    model_id: str | None = None,
    tag: str | None = None,
    risk_profile: str | None = None,
    gate_pass: bool | None = None,
    strategy: str | None = None,
    sweep_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
    url: str | None = None,
) -> Page:
    """Runs ranked by ``by`` (any metric), best first; filters are exact matches.

    ``source="runs"`` ranks backtest runs, ``"sweeps"`` every sweep result (with its sweep's pack,
    model, tag and risk profile). Pass ``cursor=page.next_cursor`` to get the following page.
    """
    if source not in SOURCES:
        raise ConfigError(f"leaderboard source must be one of {list(SOURCES)}, got {source!r}")
    if not 1 <= limit <= 10_000:
        raise ConfigError(f"limit must be within 1..10000, got {limit}")
    if source == "runs":
        table = BacktestRun.__table__
        owner = table
        select = sa.select(
            table.c.id,
            table.c.created_at,
            table.c.strategy,
            table.c.model_id,
            table.c.pack,
            table.c.tag,
            table.c.risk_profile,
            table.c.ticker,
            table.c.sweep_id,
            table.c.deflated_sharpe,
            table.c.gate_pass,
            table.c.gate_reasons,
            table.c.params,
            table.c.metrics,
            table.c.lineage,
            table.c.seed,
            table.c.package_version,
        )
        base = select
    else:
        table = SweepResult.__table__
        owner = Sweep.__table__
        base = sa.select(
            table.c.id,
            table.c.sweep_id,
            table.c.config_index,
            owner.c.strategy,
            owner.c.model_id,
            owner.c.pack,
            owner.c.tag,
            owner.c.risk_profile,
            owner.c.ticker,
            table.c.deflated_sharpe,
            table.c.gate_pass,
            table.c.params,
            table.c.metrics,
            table.c.backtest_run_id,
            owner.c.lineage,
            owner.c.seed,
            owner.c.package_version,
        ).join(owner, owner.c.id == table.c.sweep_id)
    metric = _metric(table, by).label("rank_value")
    query = base.add_columns(metric)
    for column, value in (
        ("pack", pack),
        ("model_id", model_id),
        ("tag", tag),
        ("risk_profile", risk_profile),
        ("strategy", strategy),
    ):
        if value is not None:
            query = query.where(owner.c[column] == value)
    if gate_pass is not None:
        query = query.where(table.c.gate_pass.is_(gate_pass))
    if sweep_id is not None:
        query = query.where(table.c.sweep_id == sweep_id)
    expr = _metric(table, by)
    if cursor is not None:
        value, last_id = _uncursor(cursor)
        if value is None:
            query = query.where(expr.is_(None), table.c.id > last_id)
        else:
            beyond = expr > value if ascending else expr < value
            query = query.where(sa.or_(beyond, sa.and_(expr == value, table.c.id > last_id), expr.is_(None)))
    order = expr.asc() if ascending else expr.desc()
    query = query.order_by(order.nulls_last(), table.c.id).limit(limit + 1)
    with session_scope(url) as session:
        result = session.execute(query)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    more = len(frame) > limit
    frame = frame.iloc[:limit].reset_index(drop=True)
    next_cursor = None
    if more:
        last = frame.iloc[-1]
        value = last["rank_value"]
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        next_cursor = _cursor(value, int(last["id"]))
    frame = (
        frame.rename(columns={"rank_value": by})
        if by not in frame.columns
        else frame.drop(columns="rank_value")
    )
    return Page(frame, next_cursor)
