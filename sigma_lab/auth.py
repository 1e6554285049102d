"""API keys, roles and quotas: the access rules of the REST API, usable without HTTP.

A key reads ``sk_<prefix>_<secret>``: the 8-hex-digit prefix finds the row, and only the
sha256 of the whole key is stored, so a leaked database does not leak keys. The plaintext is
returned once, by :func:`create_key`. Roles are ordered ``viewer < researcher < admin``.
Quotas per key: requests per minute (rate limit), concurrent jobs and sweeps per day; ``None``
means the service default from :class:`ApiSettings`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError, SigmaError
from sigma_lab.store import ApiKey, Job, session_scope
from sigma_lab.store.types import utcnow

ROLES: tuple[str, ...] = ("viewer", "researcher", "admin")
KEY_PREFIX = "sk"
QUOTA_FIELDS: tuple[str, ...] = ("requests_per_minute", "concurrent_jobs", "sweeps_per_day")
ACTIVE_JOB_STATUSES: tuple[str, ...] = ("queued", "running")
_TOUCH_EVERY = dt.timedelta(seconds=60)


class AuthenticationError(SigmaError):
    """No API key, or one that is unknown, revoked or malformed (HTTP 401)."""


class PermissionDenied(SigmaError):
    """The key is valid but its role is too low for the action (HTTP 403)."""


class QuotaExceeded(SigmaError):
    """The key has used up a quota (concurrent jobs, sweeps per day) (HTTP 429)."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class KeyInfo:
    """A verified API key: who it is and what it may do (never the secret)."""

    id: int
    name: str
    prefix: str
    role: str
    requests_per_minute: int | None = None
    concurrent_jobs: int | None = None
    sweeps_per_day: int | None = None

    def allows(self, role: str) -> bool:
        """Whether this key's role is at least ``role``."""
        return role_rank(self.role) >= role_rank(role)


def role_rank(role: str) -> int:
    """The position of ``role`` in ``viewer < researcher < admin``."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ConfigError(f"role {role!r} is not one of {list(ROLES)}") from None


def hash_key(plaintext: str) -> str:
    """The stored form of a key: hex sha256 of the whole plaintext."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=row.role,
        requests_per_minute=row.requests_per_minute,
        concurrent_jobs=row.concurrent_jobs,
        sweeps_per_day=row.sweeps_per_day,
    )


def _check_quotas(quotas: Mapping[str, Any]) -> dict[str, int | None]:
    unknown = sorted(set(quotas) - set(QUOTA_FIELDS))
    if unknown:
        raise ConfigError(f"unknown quota(s) {unknown}; known quotas are {list(QUOTA_FIELDS)}")
    out: dict[str, int | None] = {}
    for name, value in quotas.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"quota {name} must be a non-negative integer or null, got {value!r}")
        out[name] = value
    return out


def create_key(
    role: str, name: str, quotas: Mapping[str, int | None] | None = None, *, session: Session | None = None
) -> tuple[int, str]:
    """Create an API key and return ``(key_id, plaintext)``; the plaintext is never stored or shown again."""
    role_rank(role)
    if not name or len(name) > 200:
        raise ConfigError("key name must be 1-200 characters")
    limits = _check_quotas(quotas or {})
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=hash_key(plaintext), role=role, active=True, **limits)
    if session is not None:
        session.add(row)
        session.flush()
        return row.id, plaintext
    with session_scope() as own:
        own.add(row)
        own.flush()
        return row.id, plaintext


def _split(plaintext: str) -> str | None:
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


def verify(plaintext: str | None, *, session: Session | None = None) -> KeyInfo:
    """The key behind ``plaintext``; :class:`AuthenticationError` if missing, unknown or revoked."""
    if not plaintext:
        raise AuthenticationError("missing API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key'")
    prefix = _split(plaintext)
    if prefix is None:
        raise AuthenticationError("malformed API key")
    if session is None:
        with session_scope() as own:
            return verify(plaintext, session=own)
    row = session.scalars(sa.select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(plaintext)):
        raise AuthenticationError("invalid API key")
    if not row.active or row.revoked_at is not None:
        raise AuthenticationError(f"API key {prefix} was revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
        session.flush()
    return _info(row)


def require_role(key: KeyInfo, role: str) -> None:
    """Raise :class:`PermissionDenied` unless ``key`` has at least ``role``."""
    if not key.allows(role):
        raise PermissionDenied(f"this action needs the {role} role; key {key.prefix} is a {key.role}")


def key_dict(row: ApiKey) -> dict[str, Any]:
    """A key as a dict for lists: never the hash."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "role": row.role,
        "active": row.active,
        "requests_per_minute": row.requests_per_minute,
        "concurrent_jobs": row.concurrent_jobs,
        "sweeps_per_day": row.sweeps_per_day,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


def list_keys(session: Session) -> list[dict[str, Any]]:
    """Every key, oldest first, without hashes."""
    return [key_dict(r) for r in session.scalars(sa.select(ApiKey).order_by(ApiKey.id))]


def _row(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"API key {key_id} does not exist")
    return row


def get_key(session: Session, key_id: int) -> dict[str, Any]:
    """One key as a dict, without its hash."""
    return key_dict(_row(session, key_id))


def update_key(
    session: Session,
    key_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    quotas: Mapping[str, int | None] | None = None,
) -> dict[str, Any]:
    """Change a key's role, active flag or quotas (a quota set to ``None`` uses the default)."""
    row = _row(session, key_id)
    if role is not None:
        role_rank(role)
        row.role = role
    if active is not None:
        row.active = active
        row.revoked_at = None if active else (row.revoked_at or utcnow())
    for name, value in _check_quotas(quotas or {}).items():
        setattr(row, name, value)
    session.flush()
    return key_dict(row)


def revoke_key(session: Session, key_id: int) -> dict[str, Any]:
    """Revoke a key: it stops authenticating at once."""
    return update_key(session, key_id, active=False)


def effective_quota(key: KeyInfo, name: str) -> int:
    """The key's own quota ``name``, or the service default."""
    value = getattr(key, name)
    if value is not None:
        return int(value)
    settings = get_settings()
    return int(getattr(settings, f"api_{name}"))


def check_job_quota(session: Session, key: KeyInfo, target: str) -> None:
    """Raise :class:`QuotaExceeded` if ``key`` may not start another job running ``target`` now.

    Counts the key's queued and running jobs against ``concurrent_jobs`` and, for sweeps, the
    sweep jobs it started in the last 24 hours against ``sweeps_per_day``.
    """
    limit = effective_quota(key, "concurrent_jobs")
    active = session.scalar(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.api_key_id == key.id, Job.status.in_(ACTIVE_JOB_STATUSES))
    )
    if (active or 0) >= limit:
        raise QuotaExceeded(
            f"key {key.prefix} has {active} active job(s); its limit is {limit}", retry_after=30
        )
    if target == "sweep":
        per_day = effective_quota(key, "sweeps_per_day")
        since = utcnow() - dt.timedelta(days=1)
        started = session.scalar(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(
                Job.api_key_id == key.id,
                sa.or_(Job.target == "sweep", Job.kind == "sweep"),
                Job.created_at >= since,
            )
        )
        if (started or 0) >= per_day:
            raise QuotaExceeded(
                f"key {key.prefix} started {started} sweep(s) in the last 24 hours; its limit is {per_day}",
                retry_after=3600,
            )
