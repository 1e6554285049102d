"""Feature flags: named switches an admin turns on or off, stored in the ``feature_flags`` table.

A flag that was never set is off. ``PUT /admin/flags/{key}`` and :func:`set_flag` record who
changed it and when; :func:`flag_enabled` reads the store each time (flags are read rarely, and
a switch must take effect at once in every process).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigma_lab.errors import ConfigError
from sigma_lab.store import session_scope
from sigma_lab.store.models import FeatureFlag
from sigma_lab.store.types import utcnow

#: What a flag key may look like: lowercase words joined by ``_``, ``.`` or ``-``.
KEY_PATTERN = r"^[a-z][a-z0-9_.\-]{0,99}$"


def _check_key(key: str) -> None:
    if not re.fullmatch(KEY_PATTERN, key):
        raise ConfigError(f"invalid feature flag key {key!r}: lowercase letters, digits, '_', '.', '-'")


def flag_dict(flag: FeatureFlag) -> dict[str, Any]:
    """A flag as a plain dict."""
    return {
        "key": flag.key,
        "enabled": flag.enabled,
        "description": flag.description,
        "updated_at": flag.updated_at,
        "updated_by": flag.updated_by,
    }


def list_flags(session: Session) -> list[dict[str, Any]]:
    """Every stored flag, by key."""
    return [flag_dict(f) for f in session.scalars(sa.select(FeatureFlag).order_by(FeatureFlag.key))]


def set_flag(
    session: Session,
    key: str,
    enabled: bool,
    *,
    description: str | None = None,
    updated_by: str | None = None,
) -> dict[str, Any]:
    """Create or change flag ``key``; a ``description`` of ``None`` keeps the stored one."""
    _check_key(key)
    flag = session.get(FeatureFlag, key)
    if flag is None:
        flag = FeatureFlag(key=key)
        session.add(flag)
    flag.enabled = enabled
    if description is not None:
        flag.description = description
    flag.updated_by = updated_by
    flag.updated_at = utcnow()
    session.flush()
    return flag_dict(flag)


def flag_enabled(key: str, url: str | None = None) -> bool:
    """Whether flag ``key`` is on in the store at ``url`` (default: the settings' database)."""
    _check_key(key)
    with session_scope(url) as session:
        return bool(session.scalar(sa.select(FeatureFlag.enabled).where(FeatureFlag.key == key)))
