"""Sessions: one unit of work that commits on success and rolls back on any error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from sigma_lab.store.engine import get_engine, resolve_url
from sigma_lab.store.migrate import ensure_schema


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session on ``url`` (default: the settings' database) inside one transaction.

    The schema is migrated to head on the first use of a URL in this process, so a fresh
    workspace just works. Objects stay readable after the commit (``expire_on_commit=False``).
    """
    key = resolve_url(url)
    ensure_schema(key)
    session = Session(get_engine(key), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
