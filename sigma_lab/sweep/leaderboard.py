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


def _ranked(
    query: sa.Select[Any],
    table: sa.Table,
    expr: sa.ColumnElement[Any],
    ascending: bool,
    value: float | None,
    last_id: int | None,
    limit: int,
) -> sa.Select[Any]:
    """The rows with the metric, in rank order, after the cursor ``(value, last_id)`` if given.

    The redundant bound (``metric <= value`` best-first) is what lets PostgreSQL start the scan of
    the ``metric DESC NULLS LAST, id`` index at the cursor; the exact keyset test then only
    filters the few rows that tie on ``value``. With NULLs excluded their place in the order is
    moot, so the order names the NULLs placement that matches the index in both directions
    (scanned forward best-first, backward lowest-first).
    """
    query = query.where(expr.is_not(None))
    if value is not None and last_id is not None:
        bound, beyond = (expr >= value, expr > value) if ascending else (expr <= value, expr < value)
        query = query.where(bound, sa.or_(beyond, sa.and_(expr == value, table.c.id > last_id)))
    order = expr.asc().nulls_first() if ascending else expr.desc().nulls_last()
    return query.order_by(order, table.c.id).limit(limit)


def _unranked(
    query: sa.Select[Any], table: sa.Table, expr: sa.ColumnElement[Any], after: int | None, limit: int
) -> sa.Select[Any]:
    """The tail of the order: rows without the metric, by id (after id ``after`` if given)."""
    query = query.where(expr.is_(None))
    if after is not None:
        query = query.where(table.c.id > after)
    return query.order_by(table.c.id).limit(limit)


def _page(
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
) -> tuple[list[str], list[dict[str, Any]], str | None]:
    """The column names, rows (as dicts) and next cursor of one page; see :func:`leaderboard`."""
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
    expr = _metric(table, by)
    query = base.add_columns(expr.label("rank_value"))
    for column, wanted in (
        ("pack", pack),
        ("model_id", model_id),
        ("tag", tag),
        ("risk_profile", risk_profile),
        ("strategy", strategy),
    ):
        if wanted is not None:
            query = query.where(owner.c[column] == wanted)
    if gate_pass is not None:
        query = query.where(table.c.gate_pass.is_(gate_pass))
    if sweep_id is not None:
        query = query.where(table.c.sweep_id == sweep_id)
    value, last_id = _uncursor(cursor) if cursor is not None else (None, None)
    in_tail = last_id is not None and value is None
    with session_scope(url) as session:
        rows = (
            []
            if in_tail
            else list(session.execute(_ranked(query, table, expr, ascending, value, last_id, limit + 1)))
        )
        if len(rows) <= limit:
            after = last_id if in_tail else None
            rows += session.execute(_unranked(query, table, expr, after, limit + 1 - len(rows))).all()
    names = list(query.selected_columns.keys())
    width = len(names) - 1 if by in names[:-1] else len(names)
    names[-1] = by
    records = [dict(zip(names[:width], row[:width], strict=True)) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        value = last[-1]
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        next_cursor = _cursor(value, int(last[0]))
    return names[:width], records, next_cursor


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
    names, records, next_cursor = _page(
        by,
        ascending=ascending,
        source=source,
        pack=pack,
        model_id=model_id,
        tag=tag,
        risk_profile=risk_profile,
        gate_pass=gate_pass,
        strategy=strategy,
        sweep_id=sweep_id,
        limit=limit,
        cursor=cursor,
        url=url,
    )
    return Page(pd.DataFrame.from_records(records, columns=names), next_cursor)


def leaderboard_records(by: str = "sharpe", **options: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One page of :func:`leaderboard` (same ``options``) as plain dicts and the next cursor.

    No pandas on the way, so the REST face can serialize rows as the database returned them.
    """
    _, records, next_cursor = _page(by, **options)
    return records, next_cursor
