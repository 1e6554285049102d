"""Alembic environment: migrates over the connection ``sigma_lab.store.upgrade`` passes in.

Without one (a developer running the ``alembic`` command with ``sqlalchemy.url`` set) it opens
its own. Migrations run in one transaction (DDL is transactional on SQLite and PostgreSQL),
serialized across processes by an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from sigma_lab.store.engine import IMMEDIATE, get_engine
from sigma_lab.store.models import Base

MIGRATION_LOCK_KEY = 0x5167_4D41

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = get_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn.execution_options(**{IMMEDIATE: True}))


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run sigma_lab.store.upgrade()")
run_migrations_online()
