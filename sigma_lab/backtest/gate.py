"""The gate: does a backtest deserve trust under a risk profile?

Thresholds per profile (the original's Sharpe and drawdown limits, plus a trade count):

============  ==========  ============  ==========
profile       min Sharpe  max drawdown  min trades
============  ==========  ============  ==========
conservative  1.0         5 %           30
balanced      0.7         15 %          20
aggressive    0.5         25 %          10
============  ==========  ============  ==========

and in every profile a total return above zero. Failed checks are reported as reasons:
``min_trades_not_met``, ``poor_sharpe``, ``excessive_drawdown``, ``negative_return``; a metric
that is missing or NaN (no trades, too few bars for a standard deviation) gives
``insufficient_data`` instead of its own reason. The drawdown limit compares against
``|max_drawdown|`` (metrics report drawdown as a negative fraction).

A profile also carries the numbers a signals policy of that profile defaults to (risk per trade,
max exposure, min confidence; max drawdown is shared). An admin can override any of them per
profile (``PUT /admin/risk-profiles/{name}``); the overrides live in the store's
``risk_profile_overrides`` table and :func:`risk_profiles` merges them over the shipped values.
:func:`gate` resolves a profile name through it: the store is read at most once per
:data:`OVERRIDES_TTL` seconds per database (a process that writes overrides forgets its copy at
once), and not at all while the embedded SQLite store does not exist yet. Pass a
:class:`RiskProfile` (from :func:`risk_profile`) to judge many metric sets with one resolution.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, StoreError


@dataclass(frozen=True)
class RiskProfile:
    """Gate thresholds of one risk profile."""

    name: str
    min_sharpe: float
    max_drawdown: float
    min_trades: int
    risk_per_trade: float = 0.05
    max_exposure: float = 0.25
    min_confidence: float = 0.60


#: The shipped profiles; the policy numbers match :data:`sigma_lab.signals.policy.RISK_PROFILES`.
PROFILES: dict[str, RiskProfile] = {
    "conservative": RiskProfile("conservative", 1.0, 0.05, 30, 0.02, 0.10, 0.70),
    "balanced": RiskProfile("balanced", 0.7, 0.15, 20, 0.05, 0.25, 0.60),
    "aggressive": RiskProfile("aggressive", 0.5, 0.25, 10, 0.10, 0.50, 0.50),
}

#: What an override may set, with its type and inclusive bounds.
OVERRIDE_FIELDS: dict[str, tuple[type, float, float]] = {
    "min_sharpe": (float, -10.0, 10.0),
    "max_drawdown": (float, 0.0, 1.0),
    "min_trades": (int, 0, 1_000_000),
    "risk_per_trade": (float, 0.0, 1.0),
    "max_exposure": (float, 0.0, 1.0),
    "min_confidence": (float, 0.0, 1.0),
}

#: Seconds a process keeps the stored overrides before reading them again.
OVERRIDES_TTL = 30.0

_cache: dict[str, tuple[float, dict[str, RiskProfile]]] = {}
_default: tuple[object, float, dict[str, RiskProfile]] | None = None
_cache_lock = threading.Lock()


def validate_overrides(name: str, overrides: Mapping[str, Any]) -> dict[str, float | int]:
    """``overrides`` for profile ``name`` checked (known field, number, within bounds) and typed."""
    if name not in PROFILES:
        raise ConfigError(f"unknown risk_profile {name!r}; use one of {sorted(PROFILES)}")
    out: dict[str, float | int] = {}
    for key, value in overrides.items():
        if key not in OVERRIDE_FIELDS:
            raise ConfigError(f"risk profile {name!r}: unknown field {key!r}; use {sorted(OVERRIDE_FIELDS)}")
        kind, low, high = OVERRIDE_FIELDS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"risk profile {name!r}: {key} must be a number, got {value!r}")
        if kind is int and value != int(value):
            raise ConfigError(f"risk profile {name!r}: {key} must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"risk profile {name!r}: {key} must be within {low}..{high}, got {value!r}")
        out[key] = kind(value)
    return out


def _read_overrides(url: str) -> dict[str, dict[str, Any]]:
    import sqlalchemy as sa

    from sigma_lab.store.engine import get_engine, sqlite_path
    from sigma_lab.store.models import RiskProfileOverride

    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return {}
    table = RiskProfileOverride.__table__
    try:
        with get_engine(url).connect() as conn:
            if not sa.inspect(conn).has_table(table.name):
                return {}
            return {name: dict(doc) for name, doc in conn.execute(sa.select(table.c.name, table.c.overrides))}
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"could not read the risk profile overrides from the store: {exc}") from exc


def risk_profiles(url: str | None = None, *, refresh: bool = False) -> dict[str, RiskProfile]:
    """Every risk profile: the shipped values with the store's overrides applied.

    ``url`` defaults to the settings' database; the result is cached per database for
    :data:`OVERRIDES_TTL` seconds (``refresh=True`` reads the store now).
    """
    global _default
    settings = None
    if url is None:
        settings = get_settings()
        url = settings.database
    now = time.monotonic()
    hit = _cache.get(url)
    if hit is not None and not refresh and now - hit[0] < OVERRIDES_TTL:
        profiles = hit[1]
    else:
        stored = _read_overrides(url)
        profiles = {
            name: replace(profile, **validate_overrides(name, stored.get(name, {})))
            for name, profile in PROFILES.items()
        }
        with _cache_lock:
            _cache[url] = (now, profiles)
    if settings is not None:
        with _cache_lock:
            _default = (settings, _cache[url][0], profiles)
    return profiles


def risk_profile(name: str, url: str | None = None) -> RiskProfile:
    """One risk profile with its overrides (see :func:`risk_profiles`)."""
    try:
        return risk_profiles(url)[name]
    except KeyError:
        raise ConfigError(f"unknown risk_profile {name!r}; use one of {sorted(PROFILES)}") from None


def forget_risk_profiles() -> None:
    """Drop the cached overrides of every database, so the next read goes to the store."""
    global _default
    with _cache_lock:
        _cache.clear()
        _default = None


@dataclass(frozen=True)
class GateResult:
    """Whether the metrics passed, and the reasons they did not."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    profile: str = "balanced"


def _named(name: str) -> RiskProfile:
    """``name`` resolved for the settings' database: a dict lookup while the cached copy is fresh."""
    hit = _default
    if hit is not None and hit[0] is get_settings() and time.monotonic() - hit[1] < OVERRIDES_TTL:
        profile = hit[2].get(name)
        if profile is not None:
            return profile
    return risk_profile(name)


def _value(metrics: Mapping[str, float], key: str) -> float | None:
    value = metrics.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def gate(metrics: Mapping[str, float], risk_profile: str | RiskProfile = "balanced") -> GateResult:
    """Check backtest metrics against a risk profile (a name, resolved with its overrides, or a profile)."""
    profile = risk_profile if isinstance(risk_profile, RiskProfile) else _named(risk_profile)
    reasons: list[str] = []
    missing = False
    trades = _value(metrics, "trades")
    if trades is None:
        missing = True
    elif trades < profile.min_trades:
        reasons.append("min_trades_not_met")
    sharpe = _value(metrics, "sharpe")
    if sharpe is None:
        missing = True
    elif sharpe < profile.min_sharpe:
        reasons.append("poor_sharpe")
    mdd = _value(metrics, "max_drawdown")
    if mdd is None:
        missing = True
    elif abs(mdd) > profile.max_drawdown:
        reasons.append("excessive_drawdown")
    total = _value(metrics, "total_return")
    if total is None:
        missing = True
    elif total <= 0:
        reasons.append("negative_return")
    if missing:
        reasons.append("insufficient_data")
    return GateResult(passed=not reasons, reasons=reasons, profile=profile.name)


def save_risk_profile_overrides(
    session: Any, name: str, overrides: Mapping[str, Any], updated_by: str | None = None
) -> dict[str, Any]:
    """Replace profile ``name``'s stored overrides (``{}`` restores the shipped values).

    Returns ``{"profile": <effective values>, "overrides": <stored>}``. Once ``session`` commits,
    this process forgets its cached profiles; other processes see the change within
    :data:`OVERRIDES_TTL` seconds.
    """
    import sqlalchemy as sa

    from sigma_lab.store.models import RiskProfileOverride
    from sigma_lab.store.types import utcnow

    clean = validate_overrides(name, overrides)
    row = session.get(RiskProfileOverride, name)
    if row is None:
        row = RiskProfileOverride(name=name)
        session.add(row)
    row.overrides = clean
    row.updated_by = updated_by
    row.updated_at = utcnow()
    session.flush()
    sa.event.listen(session, "after_commit", lambda _session: forget_risk_profiles(), once=True)
    return {"profile": asdict(replace(PROFILES[name], **clean)), "overrides": clean}
