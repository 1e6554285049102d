"""Alembic migrations, run in code: no ``alembic.ini`` is needed.

``upgrade`` is safe to call from several processes at once: on PostgreSQL the migration
transaction holds an advisory lock, on SQLite it starts with ``BEGIN IMMEDIATE``; DDL is
transactional on both, so a second process waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sigma_lab.errors import StoreError
from sigma_lab.store.engine import IMMEDIATE, get_engine, resolve_url, sqlite_path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_at_head: set[str] = set()
_lock = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (and at ``url`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration this version of Sigma Lab ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found under {MIGRATIONS_DIR}")
    return head


def current_revision(url: str | None = None) -> str | None:
    """The migration the database is at, or ``None`` if it was never migrated."""
    engine = get_engine(url)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` (default: the settings' database) to ``revision``.

    Creates the folder of a SQLite file first. Raises :class:`StoreError` if the database is at
    a revision this version does not know (it was migrated by a newer Sigma Lab).
    """
    key = resolve_url(url)
    path = sqlite_path(key)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    _check_known(key)
    engine = get_engine(key)
    config = alembic_config(key)
    with engine.connect() as conn:
        config.attributes["connection"] = conn.execution_options(**{IMMEDIATE: True})
        command.upgrade(config, revision)
    if revision == "head":
        with _lock:
            _at_head.add(key)


def _check_known(url: str) -> None:
    current = current_revision(url)
    if current is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(current)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        raise StoreError(
            f"the database at {_safe(url)} is at migration {current!r}, which this version of "
            f"Sigma Lab does not know (head is {head_revision()!r}); upgrade Sigma Lab"
        ) from None


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ensure_schema(url: str | None = None) -> None:
    """Migrate the database to head unless this process already saw it there (cheap after the first call)."""
    key = resolve_url(url)
    if key in _at_head:
        return
    if current_revision(key) != head_revision():
        upgrade(key)
    with _lock:
        _at_head.add(key)


def forget_schema_checks() -> None:
    """Make the next :func:`ensure_schema` look at the database again (after it was dropped)."""
    with _lock:
        _at_head.clear()
