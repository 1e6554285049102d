"""The store's tables: the whole Sigma Lab domain as SQLAlchemy 2 declarative models.

Conventions:
- integer surrogate keys; packs and models are referred to by name (``pack``, ``model_id``)
  so runs can be recorded for packs and models that live only in YAML;
- every timestamp is tz-aware UTC (:class:`~sigma_lab.store.types.UTCDateTime`);
- free-form documents (params, metrics, lineage, specs) are JSON (JSONB on PostgreSQL);
- the metrics a leaderboard sorts or filters by are also real columns, named exactly like the
  keys of a backtest's metrics dict (``sharpe``, ``total_return``, ``max_drawdown``, ``trades``...);
- run tables carry ``status`` and an optional ``job_id`` so notebooks and API jobs tie rows to jobs.
Changing a table means a new migration under ``migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.schema import CreateIndex

from sigma_lab.store.types import BigIntPK, JSONValue, UTCDateTime, utcnow

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
JOB_STATUSES: tuple[str, ...] = RUN_STATUSES
ROLES: tuple[str, ...] = ("viewer", "researcher", "admin")
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "succeeded", "failed")

#: Metrics that are real (sortable) columns on backtest runs and sweep results, besides the JSON.
METRIC_COLUMNS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trades",
    "exposure",
    "deflated_sharpe",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


#: Metrics with a ranking index (best first: ``metric DESC NULLS LAST, id``) on backtest runs and
#: across all sweep results; the leaderboard's keyset pages walk these indexes.
RANKED_METRICS: tuple[str, ...] = (
    "sharpe",
    "deflated_sharpe",
    "total_return",
    "max_drawdown",
    "cagr",
    "sortino",
)
#: Metrics with a per-sweep ranking index (``sweep_id, metric DESC NULLS LAST, id``): what one
#: sweep's results page is commonly sorted by. Fewer than :data:`RANKED_METRICS` because every
#: index slows the bulk insert of a sweep's results.
SWEEP_RANKED_METRICS: tuple[str, ...] = ("sharpe", "total_return", "deflated_sharpe")


@compiles(CreateIndex, "sqlite")
def _sqlite_create_index(create: CreateIndex, compiler: Any, **kw: Any) -> str:
    """SQLite refuses ``NULLS LAST`` in an index; ``DESC`` alone means the same there (NULLs sort lowest)."""
    return compiler.visit_create_index(create, **kw).replace(" DESC NULLS LAST", " DESC")


def rank_index_name(table: str, metric: str, *prefix: str) -> str:
    """The name of the ranking index of ``metric`` on ``table`` (``prefix``: leading columns)."""
    return "_".join(("ix", table, *prefix, "rank", metric))


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names match on every database."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONValue(),
        list[Any]: JSONValue(),
        Any: JSONValue(),
    }


class _Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=sa.func.now())


class _Updated:
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


class _RunBase(_Timestamps):
    """Columns every pipeline run shares: who, status, timings, lineage, error."""

    model_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    pack: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="succeeded")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int | None]
    package_version: Mapped[str | None] = mapped_column(sa.String(40))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)


# --- reference data -----------------------------------------------------------------------------


class Pack(Base, _Timestamps, _Updated):
    """A strategy family loaded from ``packs/<name>/pack.yaml``."""

    __tablename__ = "packs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    horizon: Mapped[str | None] = mapped_column(sa.String(40))
    cadence: Mapped[str | None] = mapped_column(sa.String(40))
    asset_types: Mapped[list[Any]] = mapped_column(default=list)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    source_path: Mapped[str | None] = mapped_column(sa.String(500))


class ModelConfig(Base, _Timestamps, _Updated):
    """A model: pack, ticker, horizon, cadence, indicator set, label and estimator settings."""

    __tablename__ = "model_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    pack: Mapped[str] = mapped_column(sa.String(100), index=True)
    ticker: Mapped[str | None] = mapped_column(sa.String(40))
    asset_type: Mapped[str | None] = mapped_column(sa.String(16))
    horizon: Mapped[str | None] = mapped_column(sa.String(40))
    cadence: Mapped[str | None] = mapped_column(sa.String(40))
    variant: Mapped[str | None] = mapped_column(sa.String(100))
    indicator_set: Mapped[str | None] = mapped_column(sa.String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))


class IndicatorSet(Base, _Timestamps, _Updated):
    """A named list of indicators with parameters, in a pack (optionally owned by one model)."""

    __tablename__ = "indicator_sets"
    __table_args__ = (sa.UniqueConstraint("pack", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    model_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))


class Policy(Base, _Timestamps):
    """One version of a model's policy; versions are append-only (model_id, version) pairs."""

    __tablename__ = "policies"
    __table_args__ = (sa.UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int]
    risk_profile: Mapped[str | None] = mapped_column(sa.String(40))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[str | None] = mapped_column(sa.String(200))


class Universe(Base, _Timestamps, _Updated):
    """A named ticker list: a universe shipped with a pack, or a user watchlist."""

    __tablename__ = "universes"
    __table_args__ = (sa.CheckConstraint(_in("kind", ("universe", "watchlist")), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="watchlist")
    pack: Mapped[str | None] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.Text)
    tickers: Mapped[list[Any]] = mapped_column(default=list)


class Artifact(Base, _Timestamps):
    """A file produced by a run (model, matrix, notebook, report), with its content hash."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    uri: Mapped[str] = mapped_column(sa.String(1000), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str | None] = mapped_column(sa.String(100))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- jobs -----------------------------------------------------------------------------------------


class ApiKey(Base, _Timestamps):
    """An API key: only its hash is stored; the prefix identifies it in logs and lists."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    sweeps_per_day: Mapped[int | None]
    concurrent_jobs: Mapped[int | None]
    requests_per_minute: Mapped[int | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Job(Base, _Timestamps):
    """A unit of background work (a notebook or a function) and its lifecycle."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        sa.Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    target: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    progress: Mapped[float | None]
    output_path: Mapped[str | None] = mapped_column(sa.String(1000))
    error: Mapped[str | None] = mapped_column(sa.Text)
    failing_cell: Mapped[int | None]
    executor: Mapped[str | None] = mapped_column(sa.String(200))
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    stage: Mapped[str | None] = mapped_column(sa.String(40))
    api_key_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class AuditLog(Base):
    """One mutating action: who (key), what (route, action), outcome (status) and the ids touched."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=sa.func.now(), index=True)
    api_key_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str | None] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(100))
    method: Mapped[str | None] = mapped_column(sa.String(10))
    route: Mapped[str | None] = mapped_column(sa.String(500))
    status_code: Mapped[int | None]
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_ids: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client: Mapped[str | None] = mapped_column(sa.String(100))


class FeatureFlag(Base):
    """A named switch an admin turns on or off, with who changed it last and when."""

    __tablename__ = "feature_flags"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )
    updated_by: Mapped[str | None] = mapped_column(sa.String(200))


class RiskProfileOverride(Base):
    """Changes to one risk profile's shipped numbers (gate thresholds, policy defaults)."""

    __tablename__ = "risk_profile_overrides"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )
    updated_by: Mapped[str | None] = mapped_column(sa.String(200))


# --- pipeline runs --------------------------------------------------------------------------------


class BuildRun(Base, _RunBase):
    """A matrix build: bars + indicator set + label -> Parquet, with QA results and hashes."""

    __tablename__ = "build_runs"
    __table_args__ = (sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticker: Mapped[str | None] = mapped_column(sa.String(40))
    timeframe: Mapped[str | None] = mapped_column(sa.String(16))
    range_start: Mapped[dt.datetime | None]
    range_end: Mapped[dt.datetime | None]
    n_rows: Mapped[int | None]
    n_columns: Mapped[int | None]
    matrix_path: Mapped[str | None] = mapped_column(sa.String(1000))
    matrix_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    config_hash: Mapped[str | None] = mapped_column(sa.String(64))
    indicator_set_hash: Mapped[str | None] = mapped_column(sa.String(64))
    qa: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)


class TrainingRun(Base, _RunBase):
    """A training: estimator, walk-forward scores, importances, the model artifact."""

    __tablename__ = "training_runs"
    __table_args__ = (sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    build_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("build_runs.id", ondelete="SET NULL"), index=True
    )
    estimator: Mapped[str | None] = mapped_column(sa.String(100))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fold_metrics: Mapped[list[Any]] = mapped_column(default=list)
    feature_importances: Mapped[dict[str, Any]] = mapped_column(default=dict)
    auc: Mapped[float | None]
    log_loss: Mapped[float | None]
    brier: Mapped[float | None]
    accuracy: Mapped[float | None]
    matrix_hash: Mapped[str | None] = mapped_column(sa.String(64))
    config_hash: Mapped[str | None] = mapped_column(sa.String(64))
    artifact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("artifacts.id", ondelete="SET NULL"), index=True
    )
    artifact_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)


class Sweep(Base, _RunBase):
    """A parameter sweep: its spec, progress (finished chunks, for resuming) and summary."""

    __tablename__ = "sweeps"
    __table_args__ = (sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    strategy: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    tag: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    risk_profile: Mapped[str | None] = mapped_column(sa.String(40))
    ticker: Mapped[str | None] = mapped_column(sa.String(40))
    timeframe: Mapped[str | None] = mapped_column(sa.String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_configs: Mapped[int | None]
    n_done: Mapped[int] = mapped_column(default=0)
    chunks_done: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)

    results: Mapped[list[SweepResult]] = relationship(
        back_populates="sweep", cascade="all, delete-orphan", passive_deletes=True, lazy="raise_on_sql"
    )


class BacktestRun(Base, _RunBase):
    """A backtest: execution params, metrics (JSON and sortable columns), gate verdict, lineage."""

    __tablename__ = "backtest_runs"
    __table_args__ = (
        sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        sa.Index(None, "model_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=sa.func.now(), index=True)
    strategy: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    tag: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    risk_profile: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    ticker: Mapped[str | None] = mapped_column(sa.String(40))
    timeframe: Mapped[str | None] = mapped_column(sa.String(16))
    range_start: Mapped[dt.datetime | None]
    range_end: Mapped[dt.datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    gate_pass: Mapped[bool | None] = mapped_column(index=True)
    gate_reasons: Mapped[list[Any]] = mapped_column(default=list)
    total_return: Mapped[float | None]
    cagr: Mapped[float | None]
    sharpe: Mapped[float | None]
    sortino: Mapped[float | None]
    calmar: Mapped[float | None]
    max_drawdown: Mapped[float | None]
    win_rate: Mapped[float | None]
    profit_factor: Mapped[float | None]
    trades: Mapped[int | None]
    exposure: Mapped[float | None]
    deflated_sharpe: Mapped[float | None]
    equity_uri: Mapped[str | None] = mapped_column(sa.String(1000))
    training_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_runs.id", ondelete="SET NULL"), index=True
    )
    sweep_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sweeps.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)

    folds: Mapped[list[BacktestFold]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="BacktestFold.fold",
    )
    ledger: Mapped[list[Trade]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True, lazy="raise_on_sql"
    )


class BacktestFold(Base):
    """One walk-forward fold of a backtest: its train/test windows and metrics."""

    __tablename__ = "backtest_folds"
    __table_args__ = (sa.UniqueConstraint("run_id", "fold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("backtest_runs.id", ondelete="CASCADE"))
    fold: Mapped[int]
    train_start: Mapped[dt.datetime | None]
    train_end: Mapped[dt.datetime | None]
    test_start: Mapped[dt.datetime | None]
    test_end: Mapped[dt.datetime | None]
    n_train: Mapped[int | None]
    n_test: Mapped[int | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sharpe: Mapped[float | None]
    total_return: Mapped[float | None]
    max_drawdown: Mapped[float | None]
    trades: Mapped[int | None]

    run: Mapped[BacktestRun] = relationship(back_populates="folds")


class Trade(Base):
    """One round trip in a backtest's trade ledger."""

    __tablename__ = "trades"
    __table_args__ = (sa.CheckConstraint(_in("side", ("long", "short")), name="side"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("backtest_runs.id", ondelete="CASCADE"), index=True)
    fold: Mapped[int | None]
    ticker: Mapped[str | None] = mapped_column(sa.String(40))
    side: Mapped[str] = mapped_column(sa.String(5))
    entry_time: Mapped[dt.datetime]
    exit_time: Mapped[dt.datetime | None]
    entry_price: Mapped[float]
    exit_price: Mapped[float | None]
    size: Mapped[float]
    pnl: Mapped[float | None]
    ret: Mapped[float | None]
    fees: Mapped[float | None]
    exit_reason: Mapped[str | None] = mapped_column(sa.String(20))
    bars_held: Mapped[int | None]

    run: Mapped[BacktestRun] = relationship(back_populates="ledger")


class SweepResult(Base):
    """One configuration's outcome in a sweep; built for bulk inserts of millions of rows."""

    __tablename__ = "sweep_results"
    __table_args__ = (sa.UniqueConstraint("sweep_id", "config_index"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(sa.ForeignKey("sweeps.id", ondelete="CASCADE"))
    config_index: Mapped[int] = mapped_column(sa.BigInteger)
    chunk: Mapped[int | None]
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_return: Mapped[float | None]
    cagr: Mapped[float | None]
    sharpe: Mapped[float | None]
    sortino: Mapped[float | None]
    calmar: Mapped[float | None]
    max_drawdown: Mapped[float | None]
    win_rate: Mapped[float | None]
    profit_factor: Mapped[float | None]
    trades: Mapped[int | None]
    exposure: Mapped[float | None]
    deflated_sharpe: Mapped[float | None]
    gate_pass: Mapped[bool | None]
    backtest_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("backtest_runs.id", ondelete="SET NULL")
    )

    sweep: Mapped[Sweep] = relationship(back_populates="results")


def _rank_index(table: sa.Table, metric: str, *prefix: str) -> sa.Index:
    """``(prefix..., metric DESC NULLS LAST, id)`` on ``table``: a best-first leaderboard page's order."""
    return sa.Index(
        rank_index_name(table.name, metric, *prefix),
        *(table.c[c] for c in prefix),
        table.c[metric].desc().nulls_last(),
        table.c.id,
    )


for _metric in RANKED_METRICS:
    _rank_index(BacktestRun.__table__, _metric)
    _rank_index(SweepResult.__table__, _metric)
for _metric in SWEEP_RANKED_METRICS:
    _rank_index(SweepResult.__table__, _metric, "sweep_id")


# --- signals -------------------------------------------------------------------------------------


class Signal(Base, _Timestamps):
    """A model's decision for a ticker on a date: accepted with brackets, or rejected with a reason.

    Unique on (date, model_id, ticker) so generating twice stores it once.
    """

    __tablename__ = "signals"
    __table_args__ = (
        sa.UniqueConstraint("date", "model_id", "ticker"),
        sa.Index(None, "model_id", "asof"),
        sa.CheckConstraint(_in("side", ("long", "short", "flat")), name="side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(sa.Date)
    asof: Mapped[dt.datetime]
    model_id: Mapped[str] = mapped_column(sa.String(200))
    ticker: Mapped[str] = mapped_column(sa.String(40))
    side: Mapped[str] = mapped_column(sa.String(5))
    score: Mapped[float | None]
    confidence: Mapped[float | None]
    accepted: Mapped[bool] = mapped_column(default=True)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(100))
    entry: Mapped[float | None]
    stop: Mapped[float | None]
    target: Mapped[float | None]
    time_stop_bars: Mapped[int | None]
    reward_risk: Mapped[float | None]
    policy_version: Mapped[int | None]
    training_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_runs.id", ondelete="SET NULL"), index=True
    )
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    exit_time: Mapped[dt.datetime | None]
    exit_price: Mapped[float | None]
    realized_return: Mapped[float | None]
    r_multiple: Mapped[float | None]

    option_signals: Mapped[list[OptionSignal]] = relationship(
        back_populates="signal", cascade="all, delete-orphan", passive_deletes=True
    )


class OptionSignal(Base, _Timestamps):
    """An options expression of a stock signal: a single leg or a vertical spread."""

    __tablename__ = "option_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[int] = mapped_column(sa.ForeignKey("signals.id", ondelete="CASCADE"), index=True)
    underlying: Mapped[str] = mapped_column(sa.String(40), index=True)
    structure: Mapped[str] = mapped_column(sa.String(20))
    occ_symbol: Mapped[str] = mapped_column(sa.String(40))
    expiry: Mapped[dt.date | None] = mapped_column(sa.Date)
    strike: Mapped[float | None]
    right: Mapped[str | None] = mapped_column(sa.String(1))
    delta: Mapped[float | None]
    iv: Mapped[float | None]
    premium: Mapped[float | None]
    premium_stop: Mapped[float | None]
    premium_target: Mapped[float | None]
    legs: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    signal: Mapped[Signal] = relationship(back_populates="option_signals")


# --- webhooks --------------------------------------------------------------------------------------


class WebhookSubscription(Base, _Timestamps):
    """A receiver URL, the events it wants and the secret its payloads are signed with."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    api_key_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", passive_deletes=True, lazy="raise_on_sql"
    )


class WebhookDelivery(Base, _Timestamps):
    """One event sent (or being retried) to one subscription; ``event_id`` lets receivers dedupe."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        sa.Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(sa.String(100))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]
    latency_ms: Mapped[float | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]

    subscription: Mapped[WebhookSubscription] = relationship(back_populates="deliveries")
