"""Sweeps in the store: the sweep row, results per finished chunk, resuming, top runs.

Each finished chunk is one transaction: its results are bulk inserted (COPY on PostgreSQL) and
its number appended to ``sweeps.chunks_done``; so after an interruption the store holds whole
chunks only, and a resumed sweep reads them back instead of recomputing them. Metrics are kept
in each result's JSON (infinities as the strings ``"inf"``/``"-inf"``, which JSON cannot hold).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from sigma_lab.backtest import batch
from sigma_lab.backtest.gate import gate
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.store import Sweep, SweepResult, repo, session_scope
from sigma_lab.store.types import utcnow

if TYPE_CHECKING:
    from sigma_lab.sweep.core import SweepResult as Result


def _version() -> str:
    from sigma_lab import __version__

    return __version__


def _encode(value: float) -> Any:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None if math.isnan(value) else value


def _decode(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def open_sweep(meta: Mapping[str, Any], resume: int | None, n_configs: int) -> tuple[int, set[int]]:
    """Create the sweep row (status ``running``), or reopen ``resume`` after checking its spec."""
    with session_scope() as session:
        if resume is None:
            row = {
                **meta,
                "status": "running",
                "n_configs": n_configs,
                "started_at": utcnow(),
                "package_version": _version(),
            }
            return repo.create_sweep(session, row), set()
        obj = session.get(Sweep, resume)
        if obj is None:
            raise NotFoundError(f"sweep {resume} does not exist; nothing to resume")
        for key in ("spec_hash", "bars_hash"):
            if obj.lineage.get(key) != meta["lineage"].get(key):
                what = "configurations or settings" if key == "spec_hash" else "bars"
                raise ConfigError(f"cannot resume sweep {resume}: its {what} differ from this call's")
        obj.status = "running"
        return obj.id, {int(c) for c in obj.chunks_done}


def finished_chunks(sweep_id: int, chunks: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Rows ``[config_index, *metrics]`` of the finished ``chunks`` of a sweep, chunk by chunk."""
    table = SweepResult.__table__
    with session_scope() as session:
        for number in sorted(chunks):
            query = sa.select(table.c.config_index, table.c.metrics).where(
                table.c.sweep_id == sweep_id, table.c.chunk == number
            )
            rows = [
                [idx, *(_decode(m.get(k)) for k in batch.OUT_COLUMNS)] for idx, m in session.execute(query)
            ]
            yield number, np.asarray(rows, dtype=np.float64).reshape(-1, batch.N_OUT + 1)


def save_chunk(
    sweep_id: int, number: int, configs: pd.DataFrame, rows: np.ndarray, risk_profile: str
) -> None:
    """Insert one finished chunk's results and mark the chunk done, in one transaction."""
    names = list(configs.columns)
    params = configs.to_dict(orient="records")
    keys = ("trades", "sharpe", "max_drawdown", "total_return")
    pos = [batch.OUT_COLUMNS.index(k) for k in keys]

    def records() -> Iterator[dict[str, Any]]:
        for i, (index, values) in enumerate(zip(configs.index, rows, strict=True)):
            metrics = {k: _encode(float(v)) for k, v in zip(batch.OUT_COLUMNS, values, strict=True)}
            verdict = gate(dict(zip(keys, values[pos], strict=True)), risk_profile).passed
            yield {
                "config_index": int(index),
                "chunk": number,
                "params": {n: params[i][n] for n in names},
                "metrics": metrics,
                "gate_pass": verdict,
            }

    with session_scope() as session:
        repo.bulk_insert_sweep_results(session, sweep_id, records())
        obj = session.get(Sweep, sweep_id, with_for_update=True)
        obj.chunks_done = sorted({*obj.chunks_done, number})
        obj.n_done = (obj.n_done or 0) + len(configs)


def mark(sweep_id: int, status: str) -> None:
    """Set a sweep's status (``failed`` when interrupted; the finished chunks stay)."""
    with session_scope() as session:
        obj = session.get(Sweep, sweep_id)
        if obj is not None:
            obj.status = status


def finish(result: Result, keep: int, rank_by: str, lineage: Mapping[str, Any]) -> dict[int, int]:
    """Write deflated Sharpe ratios, record the top ``keep`` configurations as full backtest runs
    linked to the sweep, and close the sweep; return {config index: backtest run id}."""
    sweep_id = result.sweep_id
    table = result.table
    dsr = table["deflated_sharpe"].to_numpy()
    run_ids: dict[int, int] = {}
    top = result.top(keep, by=rank_by) if keep > 0 else table.iloc[:0]
    with session_scope() as session:
        obj = session.get(Sweep, sweep_id, with_for_update=True)
        results = SweepResult.__table__
        statement = (
            sa.update(results)
            .where(results.c.sweep_id == sweep_id, results.c.config_index == sa.bindparam("ci"))
            .values(deflated_sharpe=sa.bindparam("dsr"))
        )
        batch_rows = [{"ci": int(i), "dsr": None if math.isnan(v) else float(v)} for i, v in enumerate(dsr)]
        for start in range(0, len(batch_rows), repo.BATCH_SIZE):
            session.execute(
                statement,
                batch_rows[start : start + repo.BATCH_SIZE],
                execution_options={"synchronize_session": False},
            )
        for index in top.index:
            full = result.rerun(int(index))
            verdict = gate(full.metrics, result.risk_profile)
            run = {
                "strategy": result.strategy,
                "tag": obj.tag,
                "risk_profile": result.risk_profile,
                "pack": obj.pack,
                "model_id": obj.model_id,
                "ticker": obj.ticker,
                "params": {"config_index": int(index), **result.config(int(index)), **result.execution},
                "metrics": {k: _encode(float(v)) for k, v in full.metrics.items()},
                "deflated_sharpe": None if math.isnan(dsr[index]) else float(dsr[index]),
                "gate_pass": verdict.passed,
                "gate_reasons": verdict.reasons,
                "lineage": {**lineage, "sweep_id": sweep_id, "config_index": int(index)},
                "seed": obj.seed,
                "package_version": _version(),
                "sweep_id": sweep_id,
                "range_start": full.bars.index[0].to_pydatetime(),
                "range_end": full.bars.index[-1].to_pydatetime(),
                "started_at": obj.started_at,
                "finished_at": utcnow(),
            }
            trades = full.trades.copy()
            trades["side"] = np.where(trades["side"] > 0, "long", "short")
            run_id = repo.record_backtest_run(session, run, trades=trades)
            run_ids[int(index)] = run_id
            session.execute(
                sa.update(results)
                .where(results.c.sweep_id == sweep_id, results.c.config_index == int(index))
                .values(backtest_run_id=run_id),
                execution_options={"synchronize_session": False},
            )
        best = result.top(1, by=rank_by)
        obj.status = "succeeded"
        obj.finished_at = utcnow()
        obj.summary = {
            "n_configs": len(table),
            "rank_by": rank_by,
            "best": {
                "config_index": int(best.index[0]),
                **result.config(int(best.index[0])),
                rank_by: _encode(float(best[rank_by].iloc[0])),
            }
            if len(best)
            else None,
            "gate_passed": int(table["gate_pass"].sum()),
            "top_runs": run_ids,
            "finished": dt.datetime.now(dt.UTC).isoformat(),
        }
    return run_ids
