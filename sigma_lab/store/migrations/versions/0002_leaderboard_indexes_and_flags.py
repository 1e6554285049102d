"""Leaderboard ranking indexes; feature flags and risk profile overrides.

Each ranked metric gets an index in the leaderboard's own order, ``metric DESC NULLS LAST, id``
(on backtest runs and across all sweep results), and one sweep's results get
``sweep_id, metric DESC NULLS LAST, id`` for the metrics a sweep's results page is commonly
sorted by. They replace the plain ascending metric indexes of 0001, whose order a best-first,
NULLs-last page could not walk.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)

RANKED = ("sharpe", "deflated_sharpe", "total_return", "max_drawdown", "cagr", "sortino")
SWEEP_RANKED = ("sharpe", "total_return", "deflated_sharpe")
OLD_RUN_INDEXES = ("sharpe", "total_return", "max_drawdown", "deflated_sharpe")
OLD_SWEEP_INDEXES = ("sharpe", "total_return")


def _rank_columns(metric: str, *prefix: str) -> list[sa.ColumnElement[object]]:
    return [*(sa.column(c) for c in prefix), sa.column(metric).desc().nulls_last(), sa.column("id")]


def upgrade() -> None:
    for metric in OLD_RUN_INDEXES:
        op.drop_index(f"ix_backtest_runs_{metric}", table_name="backtest_runs")
    for metric in OLD_SWEEP_INDEXES:
        op.drop_index(f"ix_sweep_results_sweep_id_{metric}", table_name="sweep_results")
    for metric in RANKED:
        op.create_index(f"ix_backtest_runs_rank_{metric}", "backtest_runs", _rank_columns(metric))
        op.create_index(f"ix_sweep_results_rank_{metric}", "sweep_results", _rank_columns(metric))
    for metric in SWEEP_RANKED:
        op.create_index(
            f"ix_sweep_results_sweep_id_rank_{metric}", "sweep_results", _rank_columns(metric, "sweep_id")
        )
    op.create_table(
        "feature_flags",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_feature_flags")),
    )
    op.create_table(
        "risk_profile_overrides",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("overrides", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_risk_profile_overrides")),
    )


def downgrade() -> None:
    op.drop_table("risk_profile_overrides")
    op.drop_table("feature_flags")
    for metric in SWEEP_RANKED:
        op.drop_index(f"ix_sweep_results_sweep_id_rank_{metric}", table_name="sweep_results")
    for metric in RANKED:
        op.drop_index(f"ix_sweep_results_rank_{metric}", table_name="sweep_results")
        op.drop_index(f"ix_backtest_runs_rank_{metric}", table_name="backtest_runs")
    for metric in OLD_SWEEP_INDEXES:
        op.create_index(
            f"ix_sweep_results_sweep_id_{metric}", "sweep_results", ["sweep_id", metric], unique=False
        )
    for metric in OLD_RUN_INDEXES:
        op.create_index(f"ix_backtest_runs_{metric}", "backtest_runs", [metric], unique=False)
