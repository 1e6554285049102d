"""Small repository functions: rows in and out as plain dicts (and trades as DataFrames).

Every function takes the caller's session and never commits: the caller's
:func:`~sigma_lab.store.session_scope` decides, so a run, its folds and its trades land in one
transaction or not at all. Unknown keys are refused with an error naming them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sigma_lab.errors import ConfigError, NotFoundError, StoreError
from sigma_lab.store.models import (
    JOB_STATUSES,
    METRIC_COLUMNS,
    Artifact,
    AuditLog,
    BacktestFold,
    BacktestRun,
    Base,
    BuildRun,
    Job,
    Policy,
    Signal,
    Sweep,
    SweepResult,
    Trade,
    TrainingRun,
)
from sigma_lab.store.types import to_jsonable, utcnow

M = TypeVar("M", bound=Base)

BATCH_SIZE = 10_000
TERMINAL_JOB_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
_JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
}
#: Trade-ledger column names accepted besides the table's own (the engine says ``return``).
TRADE_ALIASES: dict[str, str] = {"return": "ret", "symbol": "ticker"}
_SWEEP_RESULT_KEYS = ("config_index", "chunk", "params", "metrics", "gate_pass", "backtest_run_id")


# --- generic helpers ---------------------------------------------------------------------------


def _columns(model: type[Base]) -> dict[str, sa.Column[Any]]:
    return {attr.key: attr.columns[0] for attr in sa.inspect(model).column_attrs}


def to_dict(obj: Base) -> dict[str, Any]:
    """A model instance as a dict of its column values."""
    return {key: getattr(obj, key) for key in _columns(type(obj))}


def _checked(model: type[Base], data: Mapping[str, Any], what: str) -> dict[str, Any]:
    allowed = _columns(model)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"{what}: unknown field(s) {unknown}; known fields are {sorted(allowed)}")
    return dict(data)


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise StoreError(f"could not record {what}: {exc.orig}") from exc


def _add(session: Session, model: type[M], data: Mapping[str, Any], what: str) -> M:
    obj = model(**_checked(model, data, what))
    session.add(obj)
    _flush(session, what)
    return obj


def _get(session: Session, model: type[M], row_id: int, what: str) -> M:
    obj = session.get(model, row_id)
    if obj is None:
        raise NotFoundError(f"{what} {row_id} does not exist")
    return obj


def _clean_number(value: Any) -> Any:
    """Python scalars for the driver; NaN becomes NULL so it never sorts above real values."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _metric_columns(metrics: Mapping[str, Any], explicit: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METRIC_COLUMNS:
        value = _clean_number(explicit[name] if name in explicit else metrics.get(name))
        if value is not None:
            value = int(value) if name == "trades" else float(value)
        out[name] = value
    return out


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def frame_records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain Python values (datetimes, floats, ints, None for NaN/NaT)."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series):
            values = [None if pd.isna(v) else v.to_pydatetime() for v in series]
        else:
            values = [_clean_number(v) for v in series.astype(object).tolist()]
            values = [None if v is pd.NA or v is pd.NaT else v for v in values]
        columns[str(name)] = values
    names = list(columns)
    for values in zip(*columns.values(), strict=True):
        yield dict(zip(names, values, strict=True))


# --- pipeline runs ------------------------------------------------------------------------------


def record_build_run(session: Session, run: Mapping[str, Any]) -> int:
    """Store a matrix build (fields of :class:`BuildRun`) and return its id."""
    return _add(session, BuildRun, run, "build run").id


def record_training_run(session: Session, run: Mapping[str, Any]) -> int:
    """Store a training run (fields of :class:`TrainingRun`) and return its id."""
    return _add(session, TrainingRun, run, "training run").id


def record_backtest_run(
    session: Session,
    run: Mapping[str, Any],
    folds: Sequence[Mapping[str, Any]] = (),
    trades: pd.DataFrame | Iterable[Mapping[str, Any]] = (),
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Store a backtest run with its folds and trade ledger in the caller's transaction; return its id.

    ``run`` holds fields of :class:`BacktestRun`; the sortable metric columns (``sharpe``,
    ``total_return``...) are filled from ``run["metrics"]`` unless given. ``trades`` is the
    engine's ledger (a DataFrame or dicts; ``return`` maps to the ``ret`` column), streamed in
    batches, so a ledger of millions of rows never sits in memory twice.
    """
    data = _checked(BacktestRun, run, "backtest run")
    data.update(_metric_columns(data.get("metrics") or {}, data))
    obj = BacktestRun(**data)
    session.add(obj)
    _flush(session, "backtest run")
    for i, fold in enumerate(folds):
        fold_data = _checked(BacktestFold, {"fold": i, **fold}, f"backtest fold {i}")
        fold_data.pop("run_id", None)
        fold_metrics = fold_data.get("metrics") or {}
        for name in ("sharpe", "total_return", "max_drawdown", "trades"):
            if name not in fold_data and name in fold_metrics:
                fold_data[name] = _clean_number(fold_metrics[name])
        session.add(BacktestFold(run_id=obj.id, **fold_data))
    _flush(session, "backtest folds")
    insert_trades(session, obj.id, trades, batch_size=batch_size)
    return obj.id


def insert_trades(
    session: Session,
    run_id: int,
    trades: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Append trades to a backtest run's ledger in batches; return how many were inserted."""
    records: Iterable[Mapping[str, Any]] = (
        frame_records(trades) if isinstance(trades, pd.DataFrame) else trades
    )
    allowed = set(_columns(Trade)) - {"id", "run_id"}
    table = Trade.__table__
    count = 0

    def rows() -> Iterator[dict[str, Any]]:
        for n, record in enumerate(records):
            row = {TRADE_ALIASES.get(k, k): _clean_number(v) for k, v in record.items()}
            unknown = sorted(set(row) - allowed)
            if unknown:
                raise ConfigError(
                    f"trade {n} of backtest run {run_id}: unknown column(s) {unknown}; "
                    f"known columns are {sorted(allowed | set(TRADE_ALIASES))}"
                )
            row["run_id"] = run_id
            yield row

    for batch in _batches(rows(), batch_size):
        keys = sorted(set().union(*batch))
        session.execute(table.insert(), [{k: r.get(k) for k in keys} for r in batch])
        count += len(batch)
    return count


def get_backtest_run(session: Session, run_id: int, *, ledger: bool = True) -> dict[str, Any]:
    """A backtest run as a dict, with ``folds`` (list of dicts) and, if asked, ``ledger`` (the trades).

    ``trades`` is the metric (the number of trades); the trade ledger is a DataFrame under ``ledger``.
    """
    obj = _get(session, BacktestRun, run_id, "backtest run")
    out = to_dict(obj)
    out["folds"] = [to_dict(f) for f in obj.folds]
    if ledger:
        out["ledger"] = get_trades(session, run_id)
    return out


def get_trades(session: Session, run_id: int) -> pd.DataFrame:
    """The trade ledger of a backtest run in entry order (column ``return`` as the engine names it)."""
    table = Trade.__table__
    result = session.execute(sa.select(table).where(table.c.run_id == run_id).order_by(table.c.id))
    columns = list(result.keys())
    frame = pd.DataFrame(result.all(), columns=columns)
    for name in ("entry_time", "exit_time"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame.drop(columns=["run_id"]).rename(columns={"ret": "return"})


def get_training_run(session: Session, run_id: int) -> dict[str, Any]:
    """A training run as a dict."""
    return to_dict(_get(session, TrainingRun, run_id, "training run"))


def get_build_run(session: Session, run_id: int) -> dict[str, Any]:
    """A build run as a dict."""
    return to_dict(_get(session, BuildRun, run_id, "build run"))


# --- sweeps -----------------------------------------------------------------------------------------


def create_sweep(session: Session, sweep: Mapping[str, Any]) -> int:
    """Store a sweep (fields of :class:`Sweep`) and return its id."""
    return _add(session, Sweep, sweep, "sweep").id


def _sweep_rows(
    sweep_id: int, rows: pd.DataFrame | Iterable[Mapping[str, Any]], param_columns: Sequence[str] | None
) -> Iterator[dict[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        if param_columns is None:
            raise ConfigError("bulk_insert_sweep_results: param_columns is required for a DataFrame")
        params = list(param_columns)
        reserved = set(_SWEEP_RESULT_KEYS) - {"params", "metrics"}
        metrics = [c for c in rows.columns if c not in params and c not in reserved]
        records: Iterable[Mapping[str, Any]] = (
            {
                **{k: r[k] for k in reserved if k in r},
                "params": {k: r[k] for k in params},
                "metrics": {k: r[k] for k in metrics},
            }
            for r in frame_records(rows)
        )
    else:
        records = rows
    allowed = set(_SWEEP_RESULT_KEYS) | set(METRIC_COLUMNS)
    for n, record in enumerate(records):
        unknown = sorted(set(record) - allowed)
        if unknown:
            raise ConfigError(
                f"sweep {sweep_id} result {n}: unknown field(s) {unknown}; known fields are {sorted(allowed)}"
            )
        metrics = record.get("metrics") or {}
        yield {
            "sweep_id": sweep_id,
            "config_index": int(record.get("config_index", n)),
            "chunk": record.get("chunk"),
            "params": record.get("params") or {},
            "metrics": metrics,
            "gate_pass": None if record.get("gate_pass") is None else bool(record["gate_pass"]),
            "backtest_run_id": record.get("backtest_run_id"),
            **_metric_columns(metrics, record),
        }


def bulk_insert_sweep_results(
    session: Session,
    sweep_id: int,
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    param_columns: Sequence[str] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Insert a sweep's results in bulk and return how many rows were written.

    Each row has ``params`` and ``metrics`` dicts (plus optional ``config_index``, ``chunk``,
    ``gate_pass``, ``backtest_run_id``); metric columns are filled from ``metrics``. A DataFrame
    is split by ``param_columns``: those go to ``params``, the rest to ``metrics``. On PostgreSQL
    rows stream through ``COPY``; elsewhere through batched executemany. Nothing is committed.
    """
    session.flush()
    records = _sweep_rows(sweep_id, rows, param_columns)
    try:
        if session.get_bind().dialect.name == "postgresql":
            return _copy_sweep_results(session, sweep_id, records)
        count = 0
        for batch in _batches(records, batch_size):
            session.execute(SweepResult.__table__.insert(), batch)
            count += len(batch)
        return count
    except IntegrityError as exc:
        raise StoreError(f"could not store the results of sweep {sweep_id}: {exc.orig}") from exc


_COPY_COLUMNS = (
    "sweep_id",
    "config_index",
    "chunk",
    "params",
    "metrics",
    "gate_pass",
    "backtest_run_id",
    *METRIC_COLUMNS,
)


def _copy_sweep_results(session: Session, sweep_id: int, records: Iterable[dict[str, Any]]) -> int:
    import psycopg
    from psycopg.types.json import Jsonb

    raw = session.connection().connection.driver_connection
    sql = f"COPY sweep_results ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    types = ["int4", "int8", "int4", "jsonb", "jsonb", "bool", "int4"]
    types += ["int4" if name == "trades" else "float8" for name in METRIC_COLUMNS]
    count = 0
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(types)
            for record in records:
                values = [record[c] for c in _COPY_COLUMNS]
                values[3], values[4] = Jsonb(to_jsonable(values[3])), Jsonb(to_jsonable(values[4]))
                copy.write_row(values)
                count += 1
    except psycopg.errors.IntegrityError as exc:
        raise StoreError(f"could not store the results of sweep {sweep_id}: {exc}") from exc
    return count


def get_sweep_results(
    session: Session,
    sweep_id: int,
    *,
    order_by: str = "sharpe",
    ascending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """A sweep's results sorted by ``order_by`` (a metric column; NULLs last), ties by config index."""
    table = SweepResult.__table__
    if order_by not in METRIC_COLUMNS:
        raise ConfigError(
            f"order_by={order_by!r} is not a sortable metric; choose one of {list(METRIC_COLUMNS)}"
        )
    column = table.c[order_by]
    key = column.asc().nulls_last() if ascending else column.desc().nulls_last()
    query = (
        sa.select(table)
        .where(table.c.sweep_id == sweep_id)
        .order_by(key, table.c.config_index)
        .offset(offset)
        .limit(limit)
    )
    result = session.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


# --- jobs, audit, artifacts, policies, signals ---------------------------------------------------


def create_job(
    session: Session, kind: str, target: str, params: Mapping[str, Any] | None = None, **fields: Any
) -> int:
    """Queue a job (a notebook path or a function name) and return its id."""
    data = {"kind": kind, "target": target, "params": dict(params or {}), "status": "queued", **fields}
    return _add(session, Job, data, "job").id


def update_job_status(session: Session, job_id: int, status: str, **fields: Any) -> dict[str, Any]:
    """Move a job to ``status`` (setting ``started_at``/``finished_at``) and return it as a dict.

    Allowed moves: queued -> running | failed | cancelled; running -> succeeded | failed |
    cancelled. A finished job never changes state again.
    """
    if status not in JOB_STATUSES:
        raise ConfigError(f"job status {status!r} is not one of {list(JOB_STATUSES)}")
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    if status != job.status and status not in _JOB_TRANSITIONS.get(job.status, frozenset()):
        raise StoreError(f"job {job_id} cannot go from {job.status!r} to {status!r}")
    _checked(Job, fields, f"job {job_id}")
    now = utcnow()
    job.status = status
    if status == "running" and job.started_at is None:
        job.started_at = now
    if status in TERMINAL_JOB_STATUSES and job.finished_at is None:
        job.finished_at = now
    for key, value in fields.items():
        setattr(job, key, value)
    _flush(session, f"job {job_id}")
    return to_dict(job)


def get_job(session: Session, job_id: int) -> dict[str, Any]:
    """A job as a dict."""
    return to_dict(_get(session, Job, job_id, "job"))


def add_audit(session: Session, action: str, **fields: Any) -> int:
    """Record one audited action (fields of :class:`AuditLog`) and return its id."""
    return _add(session, AuditLog, {"action": action, **fields}, "audit entry").id


def record_artifact(
    session: Session,
    path: str | Path,
    kind: str,
    *,
    uri: str | None = None,
    media_type: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hash a file and store it as an artifact; return the row (``id``, ``uri``, ``sha256``, ``size``)."""
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"artifact file {file} does not exist")
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    data = {
        "kind": kind,
        "uri": uri or file.resolve().as_uri(),
        "sha256": digest.hexdigest(),
        "size": file.stat().st_size,
        "media_type": media_type,
        "meta": dict(meta or {}),
    }
    return to_dict(_add(session, Artifact, data, f"artifact {file}"))


def add_policy_version(
    session: Session, model_id: str, spec: Mapping[str, Any], **fields: Any
) -> dict[str, Any]:
    """Append the next version of ``model_id``'s policy and return the row (with ``version``)."""
    latest = session.scalar(sa.select(sa.func.max(Policy.version)).where(Policy.model_id == model_id))
    data = {"model_id": model_id, "version": (latest or 0) + 1, "spec": dict(spec), **fields}
    return to_dict(_add(session, Policy, data, f"policy of {model_id}"))


def get_policy(session: Session, model_id: str, version: int | None = None) -> dict[str, Any]:
    """A model's policy at ``version`` (default: the latest) as a dict."""
    query = sa.select(Policy).where(Policy.model_id == model_id)
    query = (
        query.where(Policy.version == version)
        if version is not None
        else query.order_by(Policy.version.desc())
    )
    obj = session.scalars(query.limit(1)).first()
    if obj is None:
        which = f"version {version}" if version is not None else "any version"
        raise NotFoundError(f"policy of model {model_id!r} ({which}) does not exist")
    return to_dict(obj)


def insert_signal(session: Session, signal: Mapping[str, Any]) -> int | None:
    """Store a signal unless one exists for its (date, model_id, ticker); return the new id or ``None``.

    Idempotent under concurrency: the unique constraint decides (``ON CONFLICT DO NOTHING``).
    """
    data = _checked(Signal, signal, "signal")
    if "date" not in data and isinstance(data.get("asof"), dt.datetime):
        data["date"] = data["asof"].astimezone(dt.UTC).date()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise StoreError(f"insert_signal does not support the {dialect} database")
    statement = (
        insert(Signal.__table__)
        .values(**data)
        .on_conflict_do_nothing(index_elements=["date", "model_id", "ticker"])
        .returning(Signal.__table__.c.id)
    )
    return session.execute(statement).scalar_one_or_none()
