"""Engines, one per database URL and process, tuned for each backend.

SQLite (the embedded default) runs in WAL mode so readers never block the writer, with foreign
keys enforced and a busy timeout so concurrent writers wait instead of failing. Transactions
are explicit (``BEGIN`` when SQLAlchemy begins), which makes SAVEPOINTs and ``BEGIN IMMEDIATE``
work. PostgreSQL gets pre-ping so connections that died with a server restart are replaced.
A forked child (a background job worker) never reuses its parent's pooled connections.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Execution option that makes a SQLite transaction take the write lock up front.
IMMEDIATE = "sigma_sqlite_immediate"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def resolve_url(url: str | URL | None = None) -> str:
    """The database URL to use: ``url`` if given, else the settings' (``SIGMA_DATABASE_URL``)."""
    if url is None:
        url = get_settings().database
    if isinstance(url, URL):
        return url.render_as_string(hide_password=False)
    try:
        make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"database URL {url!r} is not a valid SQLAlchemy URL ({exc})") from None
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):
        return None
    return Path(parsed.database).expanduser()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine(url: str | URL | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the settings' database), created on first use.

    For a SQLite file the parent folder is created, so a fresh workspace just works.
    """
    key = resolve_url(url)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(key)
            _engines[key] = engine
    return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        if path is None:
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"]["check_same_thread"] = False
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def dispose_engines() -> None:
    """Close every cached engine's connections and forget them (for tests and forked workers)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


def _forget_pools_in_forked_child() -> None:
    for engine in list(_engines.values()):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_in_forked_child)
