"""What the dashboards read from the store: ranked runs, one run, sweeps, and a model's history.

Each function opens its own short session (the dashboards are read-only) and returns plain
pandas objects or dicts, so widgets only format them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import sqlalchemy as sa

from sigma_lab.errors import NotFoundError
from sigma_lab.store import (
    METRIC_COLUMNS,
    BacktestRun,
    BuildRun,
    Sweep,
    SweepResult,
    TrainingRun,
    repo,
    session_scope,
)
from sigma_lab.sweep import leaderboard
from sigma_lab.sweep.leaderboard import Page

#: The filters of the leaderboard explorer (backtest-run columns).
FILTERS: tuple[str, ...] = ("pack", "model_id", "tag", "risk_profile")
#: Metrics a leaderboard table shows beside the ranking metric.
SHOWN_METRICS: tuple[str, ...] = ("sharpe", "total_return", "max_drawdown", "trades", "win_rate")


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(value, math.nan)
    return float(value)


def filter_options() -> dict[str, list[str]]:
    """The distinct non-empty values of each leaderboard filter among the stored backtest runs."""
    out: dict[str, list[str]] = {}
    with session_scope() as session:
        for name in FILTERS:
            column = BacktestRun.__table__.c[name]
            values = session.scalars(sa.select(column).where(column.is_not(None)).distinct()).all()
            out[name] = sorted(str(v) for v in values)
    return out


def ranked_runs(
    by: str = "sharpe",
    *,
    ascending: bool = False,
    filters: dict[str, Any] | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """One leaderboard page of backtest runs as a flat table, and the next page's cursor.

    Columns: ``id``, ``name`` (strategy or model), ``ticker``, ``pack``, ``tag``, ``risk_profile``,
    ``gate_pass``, the ranking metric ``by`` and :data:`SHOWN_METRICS`.
    """
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    page: Page = leaderboard(by, ascending=ascending, limit=limit, cursor=cursor, **given)
    rows = page.rows
    table = pd.DataFrame(
        {
            "id": rows["id"].astype(int) if len(rows) else pd.Series(dtype=int),
            "name": [s if pd.isna(m) else m for m, s in zip(rows["model_id"], rows["strategy"], strict=True)],
            "ticker": rows["ticker"],
            "pack": rows["pack"],
            "tag": rows["tag"],
            "risk_profile": rows["risk_profile"],
            "gate_pass": rows["gate_pass"],
        }
    )
    for metric in dict.fromkeys([by, *SHOWN_METRICS]):
        if metric in rows.columns:
            table[metric] = [_number(v) for v in rows[metric]]
        else:
            table[metric] = [_number((m or {}).get(metric)) for m in rows["metrics"]]
    return table.reset_index(drop=True), page.next_cursor


def run_record(run_id: int) -> dict[str, Any]:
    """The stored backtest run ``run_id`` (row, ``folds`` and the trade ledger under ``ledger``)."""
    with session_scope() as session:
        return repo.get_backtest_run(session, run_id)


def run_choices(limit: int = 200) -> list[tuple[str, int]]:
    """Recent backtest runs as (label, id) pairs, newest first, for a run picker."""
    table = BacktestRun.__table__
    query = (
        sa.select(table.c.id, table.c.strategy, table.c.model_id, table.c.ticker, table.c.tag)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    with session_scope() as session:
        rows = session.execute(query).all()
    return [
        (
            f"#{r.id} {r.model_id or r.strategy or 'run'} {r.ticker or ''}"
            f"{f' [{r.tag}]' if r.tag else ''}".strip(),
            r.id,
        )
        for r in rows
    ]


def latest_id(kind: str) -> int:
    """The newest row id of ``kind`` (``"backtest"`` or ``"sweep"``); NotFoundError when there is none."""
    model = {"backtest": BacktestRun, "sweep": Sweep}[kind]
    with session_scope() as session:
        found = session.scalar(sa.select(sa.func.max(model.id)))
    if found is None:
        raise NotFoundError(f"no {kind} runs in the store yet; run one first")
    return int(found)


def sweep_choices(limit: int = 200) -> list[tuple[str, int]]:
    """Stored sweeps as (label, id) pairs, newest first."""
    table = Sweep.__table__
    query = (
        sa.select(table.c.id, table.c.name, table.c.strategy, table.c.ticker, table.c.n_configs)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    with session_scope() as session:
        rows = session.execute(query).all()
    return [
        (f"#{r.id} {r.name or r.strategy or 'sweep'} {r.ticker or ''} ({r.n_configs or 0} configs)", r.id)
        for r in rows
    ]


def sweep_table(sweep_id: int) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """A stored sweep's results: one row per configuration (parameters, then metrics), the
    parameter names, and the sweep row itself."""
    with session_scope() as session:
        sweep = session.get(Sweep, sweep_id)
        if sweep is None:
            raise NotFoundError(f"sweep {sweep_id} does not exist")
        info = repo.to_dict(sweep)
        table = SweepResult.__table__
        query = sa.select(table).where(table.c.sweep_id == sweep_id).order_by(table.c.config_index)
        result = session.execute(query)
        rows = pd.DataFrame(result.all(), columns=list(result.keys()))
    params = pd.json_normalize(rows["params"].tolist()) if len(rows) else pd.DataFrame()
    names = list(params.columns)
    metrics = pd.DataFrame(
        {
            m: [
                _number(r.get(m) if r.get(m) is not None else c)
                for r, c in zip(rows["metrics"], rows[m], strict=True)
            ]
            for m in METRIC_COLUMNS
        }
    )
    out = pd.concat([params, metrics], axis=1)
    out.index = rows["config_index"].astype(int).to_numpy() if len(rows) else out.index
    out["gate_pass"] = rows["gate_pass"].to_numpy() if len(rows) else []
    return out, names, info


def model_ids() -> list[str]:
    """Every model id with a build, training or backtest in the store."""
    found: set[str] = set()
    with session_scope() as session:
        for model in (BuildRun, TrainingRun, BacktestRun):
            found.update(
                session.scalars(sa.select(model.model_id).where(model.model_id.is_not(None)).distinct())
            )
    return sorted(found)


def latest_model_id() -> str:
    """The model of the newest training run; NotFoundError when nothing was trained."""
    with session_scope() as session:
        found = session.scalar(
            sa.select(TrainingRun.model_id)
            .where(TrainingRun.model_id.is_not(None))
            .order_by(TrainingRun.id.desc())
        )
    if found is None:
        raise NotFoundError("no trained model in the store yet; train one first (sigma-lab train MODEL_ID)")
    return str(found)


def model_timeline(model_id: str) -> pd.DataFrame:
    """The builds, trainings and backtests of ``model_id`` in time order.

    Columns: ``time`` (UTC), ``kind`` (build, training, backtest), ``id``, ``status`` and a
    one-line ``summary`` of what the run produced.
    """
    events: list[dict[str, Any]] = []
    with session_scope() as session:
        for build in session.scalars(sa.select(BuildRun).where(BuildRun.model_id == model_id)):
            events.append(
                {
                    "time": build.finished_at or build.created_at,
                    "kind": "build",
                    "id": build.id,
                    "status": build.status,
                    "summary": f"{build.n_rows or 0} rows x {build.n_columns or 0} columns, "
                    f"matrix {(build.matrix_hash or '')[:12]}",
                }
            )
        for run in session.scalars(sa.select(TrainingRun).where(TrainingRun.model_id == model_id)):
            auc = "n/a" if run.auc is None else f"{run.auc:.3f}"
            events.append(
                {
                    "time": run.finished_at or run.created_at,
                    "kind": "training",
                    "id": run.id,
                    "status": run.status,
                    "summary": f"{run.estimator or 'estimator'}, out-of-fold AUC {auc}",
                }
            )
        for bt in session.scalars(sa.select(BacktestRun).where(BacktestRun.model_id == model_id)):
            sharpe = "n/a" if bt.sharpe is None else f"{bt.sharpe:.2f}"
            gate = {True: "passed", False: "failed", None: "not judged"}[bt.gate_pass]
            events.append(
                {
                    "time": bt.finished_at or bt.created_at,
                    "kind": "backtest",
                    "id": bt.id,
                    "status": bt.status,
                    "summary": f"Sharpe {sharpe}, gate {gate}",
                }
            )
    frame = pd.DataFrame(events, columns=["time", "kind", "id", "status", "summary"])
    if frame.empty:
        return frame
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    order = {"build": 0, "training": 1, "backtest": 2}
    frame["_order"] = frame["kind"].map(order)
    return (
        frame.sort_values(["time", "_order", "id"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def model_card(model_id: str) -> tuple[dict[str, Any], int | None]:
    """The model card of ``model_id``'s latest successful training and that training run's id
    (NotFoundError when the model was never trained)."""
    from sigma_lab.train import load_model

    model = load_model(model_id)
    return model.card, model.run_id
