"""The store: SQLAlchemy models of the whole domain, Alembic migrations, sessions and repositories.

Embedded SQLite under the workspace by default; ``SIGMA_DATABASE_URL=postgresql+psycopg://...``
switches to PostgreSQL. Typical use::

    from sigma_lab.store import session_scope, repo
    with session_scope() as session:
        run_id = repo.record_backtest_run(session, run, folds, trades)
"""

from __future__ import annotations

from sigma_lab.store import repo
from sigma_lab.store.engine import dispose_engines, get_engine, resolve_url
from sigma_lab.store.migrate import (
    current_revision,
    ensure_schema,
    forget_schema_checks,
    head_revision,
    upgrade,
)
from sigma_lab.store.models import (
    METRIC_COLUMNS,
    ApiKey,
    Artifact,
    AuditLog,
    BacktestFold,
    BacktestRun,
    Base,
    BuildRun,
    IndicatorSet,
    Job,
    ModelConfig,
    OptionSignal,
    Pack,
    Policy,
    Signal,
    Sweep,
    SweepResult,
    Trade,
    TrainingRun,
    Universe,
    WebhookDelivery,
    WebhookSubscription,
)
from sigma_lab.store.session import session_scope


def reset() -> None:
    """Forget cached engines and schema checks (tests that drop and recreate databases call this)."""
    dispose_engines()
    forget_schema_checks()


__all__ = [
    "METRIC_COLUMNS",
    "ApiKey",
    "Artifact",
    "AuditLog",
    "BacktestFold",
    "BacktestRun",
    "Base",
    "BuildRun",
    "IndicatorSet",
    "Job",
    "ModelConfig",
    "OptionSignal",
    "Pack",
    "Policy",
    "Signal",
    "Sweep",
    "SweepResult",
    "Trade",
    "TrainingRun",
    "Universe",
    "WebhookDelivery",
    "WebhookSubscription",
    "current_revision",
    "ensure_schema",
    "get_engine",
    "head_revision",
    "repo",
    "reset",
    "resolve_url",
    "session_scope",
    "upgrade",
]
