"""Shared fixtures: an isolated workspace, and real PostgreSQL / Redis when reachable.

PostgreSQL and Redis tests run against real servers. Their addresses come from
``SIGMA_TEST_POSTGRES_URL`` and ``SIGMA_TEST_REDIS_URL`` (defaults: the local servers).
When a server is not reachable its tests skip, saying how to enable them, unless
``SIGMA_REQUIRE_SERVICES=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigma_lab import store
from sigma_lab.config import get_settings

POSTGRES_URL = os.environ.get("SIGMA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SIGMA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("SIGMA_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, url: str, why: str) -> None:
    message = (
        f"{what} not reachable at {url} ({why}); start it or point "
        f"SIGMA_TEST_{what.upper()}_URL at one to run these tests"
    )
    if REQUIRE_SERVICES:
        pytest.fail(message + " [SIGMA_REQUIRE_SERVICES=1]")
    pytest.skip(message)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace with embedded defaults (SQLite, in-process cache, local executor)."""
    ws = tmp_path / "workspace"
    ws.mkdir()
    monkeypatch.setenv("SIGMA_WORKSPACE", str(ws))
    for var in ("SIGMA_DATABASE_URL", "SIGMA_REDIS_URL", "SIGMA_DASK_SCHEDULER", "SIGMA_POLYGON_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    store.reset()
    yield ws
    get_settings.cache_clear()
    store.reset()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, dropped at the end."""
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(
            POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not reachable"
        _unavailable("Postgres", POSTGRES_URL, type(exc).__name__)
    name = f"sigma_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("select pg_terminate_backend(pid) from pg_stat_activity where datname = :n"), {"n": name}
        )
        conn.execute(sa.text(f'drop database if exists "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A reachable Redis database, flushed before and after the session."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", REDIS_URL, type(exc).__name__)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Each store test runs on embedded SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{workspace / 'sigma.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
        _reset_postgres(url)
    monkeypatch.setenv("SIGMA_DATABASE_URL", url)
    get_settings.cache_clear()
    store.reset()
    yield url
    store.reset()


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("drop schema public cascade"))
        conn.execute(sa.text("create schema public"))
    engine.dispose()


@pytest.fixture(params=["memory", "redis"])
def cache_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, workspace: Path) -> str | None:
    """Each cache test runs with the in-process LRU and with real Redis."""
    if request.param == "memory":
        monkeypatch.delenv("SIGMA_REDIS_URL", raising=False)
        get_settings.cache_clear()
        return None
    url = request.getfixturevalue("redis_url")
    monkeypatch.setenv("SIGMA_REDIS_URL", url)
    get_settings.cache_clear()
    return url
