"""The initial schema: the whole Sigma Lab domain.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sweeps_per_day", sa.Integer(), nullable=True),
        sa.Column("concurrent_jobs", sa.Integer(), nullable=True),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'researcher', 'admin')", name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("uri", sa.String(length=1000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
    )
    op.create_index(op.f("ix_artifacts_kind"), "artifacts", ["kind"], unique=False)
    op.create_index(op.f("ix_artifacts_sha256"), "artifacts", ["sha256"], unique=False)
    op.create_index(op.f("ix_artifacts_uri"), "artifacts", ["uri"], unique=False)
    op.create_table(
        "indicator_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_sets")),
        sa.UniqueConstraint("pack", "name", name=op.f("uq_indicator_sets_pack_name")),
    )
    op.create_index(op.f("ix_indicator_sets_model_id"), "indicator_sets", ["model_id"], unique=False)
    op.create_table(
        "model_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=False),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("asset_type", sa.String(length=16), nullable=True),
        sa.Column("horizon", sa.String(length=40), nullable=True),
        sa.Column("cadence", sa.String(length=40), nullable=True),
        sa.Column("variant", sa.String(length=100), nullable=True),
        sa.Column("indicator_set", sa.String(length=200), nullable=True),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_configs")),
        sa.UniqueConstraint("model_id", name=op.f("uq_model_configs_model_id")),
    )
    op.create_index(op.f("ix_model_configs_pack"), "model_configs", ["pack"], unique=False)
    op.create_table(
        "packs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("horizon", sa.String(length=40), nullable=True),
        sa.Column("cadence", sa.String(length=40), nullable=True),
        sa.Column("asset_types", JSON, nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("source_path", sa.String(length=500), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packs")),
        sa.UniqueConstraint("name", name=op.f("uq_packs_name")),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("risk_profile", sa.String(length=40), nullable=True),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_policies_model_id_version")),
    )
    op.create_table(
        "universes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tickers", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('universe', 'watchlist')", name=op.f("ck_universes_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_universes")),
        sa.UniqueConstraint("name", name=op.f("uq_universes_name")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("route", sa.String(length=500), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_ids", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("client", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_audit_log_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_api_key_id"), "audit_log", ["api_key_id"], unique=False)
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("progress", sa.Double(), nullable=True),
        sa.Column("output_path", sa.String(length=1000), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failing_cell", sa.Integer(), nullable=True),
        sa.Column("executor", sa.String(length=200), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f("ck_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_jobs_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["jobs.id"], name=op.f("fk_jobs_parent_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_api_key_id"), "jobs", ["api_key_id"], unique=False)
    op.create_index(op.f("ix_jobs_parent_id"), "jobs", ["parent_id"], unique=False)
    op.create_index(op.f("ix_jobs_status_created_at"), "jobs", ["status", "created_at"], unique=False)
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_webhook_subscriptions_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        op.f("ix_webhook_subscriptions_api_key_id"), "webhook_subscriptions", ["api_key_id"], unique=False
    )
    op.create_table(
        "build_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("timeframe", sa.String(length=16), nullable=True),
        sa.Column("range_start", TIMESTAMP, nullable=True),
        sa.Column("range_end", TIMESTAMP, nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=True),
        sa.Column("n_columns", sa.Integer(), nullable=True),
        sa.Column("matrix_path", sa.String(length=1000), nullable=True),
        sa.Column("matrix_hash", sa.String(length=64), nullable=True),
        sa.Column("config_hash", sa.String(length=64), nullable=True),
        sa.Column("indicator_set_hash", sa.String(length=64), nullable=True),
        sa.Column("qa", JSON, nullable=False),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("package_version", sa.String(length=40), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_build_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_build_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_runs")),
    )
    op.create_index(op.f("ix_build_runs_job_id"), "build_runs", ["job_id"], unique=False)
    op.create_index(op.f("ix_build_runs_matrix_hash"), "build_runs", ["matrix_hash"], unique=False)
    op.create_index(op.f("ix_build_runs_model_id"), "build_runs", ["model_id"], unique=False)
    op.create_index(op.f("ix_build_runs_pack"), "build_runs", ["pack"], unique=False)
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("strategy", sa.String(length=100), nullable=True),
        sa.Column("tag", sa.String(length=100), nullable=True),
        sa.Column("risk_profile", sa.String(length=40), nullable=True),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("timeframe", sa.String(length=16), nullable=True),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("n_configs", sa.Integer(), nullable=True),
        sa.Column("n_done", sa.Integer(), nullable=False),
        sa.Column("chunks_done", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("package_version", sa.String(length=40), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_sweeps_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_sweeps_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
    )
    op.create_index(op.f("ix_sweeps_job_id"), "sweeps", ["job_id"], unique=False)
    op.create_index(op.f("ix_sweeps_model_id"), "sweeps", ["model_id"], unique=False)
    op.create_index(op.f("ix_sweeps_pack"), "sweeps", ["pack"], unique=False)
    op.create_index(op.f("ix_sweeps_strategy"), "sweeps", ["strategy"], unique=False)
    op.create_index(op.f("ix_sweeps_tag"), "sweeps", ["tag"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "event_id", name=op.f("uq_webhook_deliveries_subscription_id_event_id")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_next_attempt_at"),
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_run_id", sa.Integer(), nullable=True),
        sa.Column("estimator", sa.String(length=100), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("fold_metrics", JSON, nullable=False),
        sa.Column("feature_importances", JSON, nullable=False),
        sa.Column("auc", sa.Double(), nullable=True),
        sa.Column("log_loss", sa.Double(), nullable=True),
        sa.Column("brier", sa.Double(), nullable=True),
        sa.Column("accuracy", sa.Double(), nullable=True),
        sa.Column("matrix_hash", sa.String(length=64), nullable=True),
        sa.Column("config_hash", sa.String(length=64), nullable=True),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("package_version", sa.String(length=40), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_training_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_training_runs_artifact_id_artifacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["build_run_id"],
            ["build_runs.id"],
            name=op.f("fk_training_runs_build_run_id_build_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_training_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    op.create_index(op.f("ix_training_runs_artifact_id"), "training_runs", ["artifact_id"], unique=False)
    op.create_index(op.f("ix_training_runs_build_run_id"), "training_runs", ["build_run_id"], unique=False)
    op.create_index(op.f("ix_training_runs_job_id"), "training_runs", ["job_id"], unique=False)
    op.create_index(op.f("ix_training_runs_model_id"), "training_runs", ["model_id"], unique=False)
    op.create_index(op.f("ix_training_runs_pack"), "training_runs", ["pack"], unique=False)
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=True),
        sa.Column("tag", sa.String(length=100), nullable=True),
        sa.Column("risk_profile", sa.String(length=40), nullable=True),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("timeframe", sa.String(length=16), nullable=True),
        sa.Column("range_start", TIMESTAMP, nullable=True),
        sa.Column("range_end", TIMESTAMP, nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("gate_pass", sa.Boolean(), nullable=True),
        sa.Column("gate_reasons", JSON, nullable=False),
        sa.Column("total_return", sa.Double(), nullable=True),
        sa.Column("cagr", sa.Double(), nullable=True),
        sa.Column("sharpe", sa.Double(), nullable=True),
        sa.Column("sortino", sa.Double(), nullable=True),
        sa.Column("calmar", sa.Double(), nullable=True),
        sa.Column("max_drawdown", sa.Double(), nullable=True),
        sa.Column("win_rate", sa.Double(), nullable=True),
        sa.Column("profit_factor", sa.Double(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.Column("exposure", sa.Double(), nullable=True),
        sa.Column("deflated_sharpe", sa.Double(), nullable=True),
        sa.Column("equity_uri", sa.String(length=1000), nullable=True),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("sweep_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("pack", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("package_version", sa.String(length=40), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_backtest_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_backtest_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["sweeps.id"], name=op.f("fk_backtest_runs_sweep_id_sweeps"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["training_runs.id"],
            name=op.f("fk_backtest_runs_training_run_id_training_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
    )
    op.create_index(op.f("ix_backtest_runs_created_at"), "backtest_runs", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_backtest_runs_deflated_sharpe"), "backtest_runs", ["deflated_sharpe"], unique=False
    )
    op.create_index(op.f("ix_backtest_runs_gate_pass"), "backtest_runs", ["gate_pass"], unique=False)
    op.create_index(op.f("ix_backtest_runs_job_id"), "backtest_runs", ["job_id"], unique=False)
    op.create_index(op.f("ix_backtest_runs_max_drawdown"), "backtest_runs", ["max_drawdown"], unique=False)
    op.create_index(op.f("ix_backtest_runs_model_id"), "backtest_runs", ["model_id"], unique=False)
    op.create_index(
        op.f("ix_backtest_runs_model_id_created_at"),
        "backtest_runs",
        ["model_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_backtest_runs_pack"), "backtest_runs", ["pack"], unique=False)
    op.create_index(op.f("ix_backtest_runs_risk_profile"), "backtest_runs", ["risk_profile"], unique=False)
    op.create_index(op.f("ix_backtest_runs_sharpe"), "backtest_runs", ["sharpe"], unique=False)
    op.create_index(op.f("ix_backtest_runs_strategy"), "backtest_runs", ["strategy"], unique=False)
    op.create_index(op.f("ix_backtest_runs_sweep_id"), "backtest_runs", ["sweep_id"], unique=False)
    op.create_index(op.f("ix_backtest_runs_tag"), "backtest_runs", ["tag"], unique=False)
    op.create_index(op.f("ix_backtest_runs_total_return"), "backtest_runs", ["total_return"], unique=False)
    op.create_index(
        op.f("ix_backtest_runs_training_run_id"), "backtest_runs", ["training_run_id"], unique=False
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("asof", TIMESTAMP, nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("ticker", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reject_reason", sa.String(length=100), nullable=True),
        sa.Column("entry", sa.Double(), nullable=True),
        sa.Column("stop", sa.Double(), nullable=True),
        sa.Column("target", sa.Double(), nullable=True),
        sa.Column("time_stop_bars", sa.Integer(), nullable=True),
        sa.Column("reward_risk", sa.Double(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("features", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("exit_time", TIMESTAMP, nullable=True),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column("realized_return", sa.Double(), nullable=True),
        sa.Column("r_multiple", sa.Double(), nullable=True),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("side IN ('long', 'short', 'flat')", name=op.f("ck_signals_side")),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["training_runs.id"],
            name=op.f("fk_signals_training_run_id_training_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("date", "model_id", "ticker", name=op.f("uq_signals_date_model_id_ticker")),
    )
    op.create_index(op.f("ix_signals_model_id_asof"), "signals", ["model_id", "asof"], unique=False)
    op.create_index(op.f("ix_signals_training_run_id"), "signals", ["training_run_id"], unique=False)
    op.create_table(
        "backtest_folds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=False),
        sa.Column("train_start", TIMESTAMP, nullable=True),
        sa.Column("train_end", TIMESTAMP, nullable=True),
        sa.Column("test_start", TIMESTAMP, nullable=True),
        sa.Column("test_end", TIMESTAMP, nullable=True),
        sa.Column("n_train", sa.Integer(), nullable=True),
        sa.Column("n_test", sa.Integer(), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("sharpe", sa.Double(), nullable=True),
        sa.Column("total_return", sa.Double(), nullable=True),
        sa.Column("max_drawdown", sa.Double(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_backtest_folds_run_id_backtest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_folds")),
        sa.UniqueConstraint("run_id", "fold", name=op.f("uq_backtest_folds_run_id_fold")),
    )
    op.create_table(
        "option_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("underlying", sa.String(length=40), nullable=False),
        sa.Column("structure", sa.String(length=20), nullable=False),
        sa.Column("occ_symbol", sa.String(length=40), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("strike", sa.Double(), nullable=True),
        sa.Column("right", sa.String(length=1), nullable=True),
        sa.Column("delta", sa.Double(), nullable=True),
        sa.Column("iv", sa.Double(), nullable=True),
        sa.Column("premium", sa.Double(), nullable=True),
        sa.Column("premium_stop", sa.Double(), nullable=True),
        sa.Column("premium_target", sa.Double(), nullable=True),
        sa.Column("legs", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_option_signals_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_signals")),
    )
    op.create_index(op.f("ix_option_signals_signal_id"), "option_signals", ["signal_id"], unique=False)
    op.create_index(op.f("ix_option_signals_underlying"), "option_signals", ["underlying"], unique=False)
    op.create_table(
        "sweep_results",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("config_index", sa.BigInteger(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=True),
        sa.Column("params", JSON, nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("total_return", sa.Double(), nullable=True),
        sa.Column("cagr", sa.Double(), nullable=True),
        sa.Column("sharpe", sa.Double(), nullable=True),
        sa.Column("sortino", sa.Double(), nullable=True),
        sa.Column("calmar", sa.Double(), nullable=True),
        sa.Column("max_drawdown", sa.Double(), nullable=True),
        sa.Column("win_rate", sa.Double(), nullable=True),
        sa.Column("profit_factor", sa.Double(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.Column("exposure", sa.Double(), nullable=True),
        sa.Column("deflated_sharpe", sa.Double(), nullable=True),
        sa.Column("gate_pass", sa.Boolean(), nullable=True),
        sa.Column("backtest_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["backtest_run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_sweep_results_backtest_run_id_backtest_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["sweeps.id"], name=op.f("fk_sweep_results_sweep_id_sweeps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_results")),
        sa.UniqueConstraint("sweep_id", "config_index", name=op.f("uq_sweep_results_sweep_id_config_index")),
    )
    op.create_index(
        op.f("ix_sweep_results_sweep_id_sharpe"), "sweep_results", ["sweep_id", "sharpe"], unique=False
    )
    op.create_index(
        op.f("ix_sweep_results_sweep_id_total_return"),
        "sweep_results",
        ["sweep_id", "total_return"],
        unique=False,
    )
    op.create_table(
        "trades",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=True),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column("entry_time", TIMESTAMP, nullable=False),
        sa.Column("exit_time", TIMESTAMP, nullable=True),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column("size", sa.Double(), nullable=False),
        sa.Column("pnl", sa.Double(), nullable=True),
        sa.Column("ret", sa.Double(), nullable=True),
        sa.Column("fees", sa.Double(), nullable=True),
        sa.Column("exit_reason", sa.String(length=20), nullable=True),
        sa.Column("bars_held", sa.Integer(), nullable=True),
        sa.CheckConstraint("side IN ('long', 'short')", name=op.f("ck_trades_side")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["backtest_runs.id"], name=op.f("fk_trades_run_id_backtest_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    op.create_index(op.f("ix_trades_run_id"), "trades", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_trades_run_id"), table_name="trades")
    op.drop_table("trades")
    op.drop_index(op.f("ix_sweep_results_sweep_id_total_return"), table_name="sweep_results")
    op.drop_index(op.f("ix_sweep_results_sweep_id_sharpe"), table_name="sweep_results")
    op.drop_table("sweep_results")
    op.drop_index(op.f("ix_option_signals_underlying"), table_name="option_signals")
    op.drop_index(op.f("ix_option_signals_signal_id"), table_name="option_signals")
    op.drop_table("option_signals")
    op.drop_table("backtest_folds")
    op.drop_index(op.f("ix_signals_training_run_id"), table_name="signals")
    op.drop_index(op.f("ix_signals_model_id_asof"), table_name="signals")
    op.drop_table("signals")
    op.drop_index(op.f("ix_backtest_runs_training_run_id"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_total_return"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_tag"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_sweep_id"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_strategy"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_sharpe"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_risk_profile"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_pack"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_model_id_created_at"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_model_id"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_max_drawdown"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_job_id"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_gate_pass"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_deflated_sharpe"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_created_at"), table_name="backtest_runs")
    op.drop_table("backtest_runs")
    op.drop_index(op.f("ix_training_runs_pack"), table_name="training_runs")
    op.drop_index(op.f("ix_training_runs_model_id"), table_name="training_runs")
    op.drop_index(op.f("ix_training_runs_job_id"), table_name="training_runs")
    op.drop_index(op.f("ix_training_runs_build_run_id"), table_name="training_runs")
    op.drop_index(op.f("ix_training_runs_artifact_id"), table_name="training_runs")
    op.drop_table("training_runs")
    op.drop_index(op.f("ix_webhook_deliveries_status_next_attempt_at"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_sweeps_tag"), table_name="sweeps")
    op.drop_index(op.f("ix_sweeps_strategy"), table_name="sweeps")
    op.drop_index(op.f("ix_sweeps_pack"), table_name="sweeps")
    op.drop_index(op.f("ix_sweeps_model_id"), table_name="sweeps")
    op.drop_index(op.f("ix_sweeps_job_id"), table_name="sweeps")
    op.drop_table("sweeps")
    op.drop_index(op.f("ix_build_runs_pack"), table_name="build_runs")
    op.drop_index(op.f("ix_build_runs_model_id"), table_name="build_runs")
    op.drop_index(op.f("ix_build_runs_matrix_hash"), table_name="build_runs")
    op.drop_index(op.f("ix_build_runs_job_id"), table_name="build_runs")
    op.drop_table("build_runs")
    op.drop_index(op.f("ix_webhook_subscriptions_api_key_id"), table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
    op.drop_index(op.f("ix_jobs_status_created_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_parent_id"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_api_key_id"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_audit_log_created_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_api_key_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("universes")
    op.drop_table("policies")
    op.drop_table("packs")
    op.drop_index(op.f("ix_model_configs_pack"), table_name="model_configs")
    op.drop_table("model_configs")
    op.drop_index(op.f("ix_indicator_sets_model_id"), table_name="indicator_sets")
    op.drop_table("indicator_sets")
    op.drop_index(op.f("ix_artifacts_uri"), table_name="artifacts")
    op.drop_index(op.f("ix_artifacts_sha256"), table_name="artifacts")
    op.drop_index(op.f("ix_artifacts_kind"), table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_table("api_keys")
