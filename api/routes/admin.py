"""Administration: API keys and their quotas, the audit log, feature flags and risk profile overrides.

A risk profile override changes the numbers of one profile (gate thresholds, policy defaults)
for every process reading the store: :func:`sigma_lab.backtest.gate.risk_profiles` merges it over
the shipped values. Writing one invalidates the cached ``GET /risk-profiles`` and the leaderboard
(gate verdicts recorded from now on use the new thresholds).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from pydantic import Field

from api.deps import MAX_ID, Admin, Id, PageParams, WorkDep, next_cursor
from api.schemas import KeyCreate, KeyCreated, KeyOut, KeyPatch, Page, Strict
from sigma_lab import auth, flags
from sigma_lab.backtest.gate import OVERRIDE_FIELDS, save_risk_profile_overrides
from sigma_lab.store import AuditLog, repo

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/keys", status_code=201, response_model=KeyCreated)
def create_key(body: KeyCreate, work: WorkDep, _: Admin) -> dict[str, Any]:
    """Create an API key; the key itself is in this response only."""
    key_id, plaintext = auth.create_key(
        body.role, body.name, body.quotas.model_dump(exclude_unset=True), session=work.session
    )
    work.touch("api_key", key_id)
    return {**auth.get_key(work.session, key_id), "key": plaintext}


@router.get("/keys", response_model=list[KeyOut])
def list_keys(work: WorkDep, _: Admin) -> list[dict[str, Any]]:
    """Every key (never the secrets)."""
    return auth.list_keys(work.session)


@router.get("/keys/{key_id}", response_model=KeyOut)
def get_key(key_id: Id, work: WorkDep, _: Admin) -> dict[str, Any]:
    """One key."""
    return auth.get_key(work.session, key_id)


@router.patch("/keys/{key_id}", response_model=KeyOut)
def update_key(key_id: Id, body: KeyPatch, work: WorkDep, _: Admin) -> dict[str, Any]:
    """Change a key's role, active flag or quotas (a quota set to null uses the service default)."""
    quotas = body.quotas.model_dump(exclude_unset=True) if body.quotas is not None else None
    work.touch("api_key", key_id)
    return auth.update_key(work.session, key_id, role=body.role, active=body.active, quotas=quotas)


@router.delete("/keys/{key_id}", response_model=KeyOut)
def revoke_key(key_id: Id, work: WorkDep, _: Admin) -> dict[str, Any]:
    """Revoke a key: it stops working at once."""
    work.touch("api_key", key_id)
    return auth.revoke_key(work.session, key_id)


@router.get("/audit", response_model=Page[dict[str, Any]])
def audit_log(
    work: WorkDep,
    _: Admin,
    page: PageParams,
    api_key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """The audit log of mutating requests, newest first."""
    query = sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(page.limit)
    if api_key_id is not None:
        query = query.where(AuditLog.api_key_id == api_key_id)
    if page.before is not None:
        query = query.where(AuditLog.id < page.before)
    items = [repo.to_dict(r) for r in work.session.scalars(query)]
    return {"items": items, "next_before": next_cursor(items, page)}


class FlagPut(Strict):
    """A feature flag's new state."""

    enabled: bool
    description: str | None = Field(default=None, max_length=500)


FlagKey = Annotated[str, Path(max_length=100, pattern=flags.KEY_PATTERN)]


@router.get("/flags", response_model=list[dict[str, Any]])
def list_flags(work: WorkDep, _: Admin) -> list[dict[str, Any]]:
    """Every feature flag that was ever set, by key (a flag never set is off)."""
    return flags.list_flags(work.session)


@router.put("/flags/{key}", response_model=dict[str, Any])
def put_flag(key: FlagKey, body: FlagPut, work: WorkDep, admin: Admin) -> dict[str, Any]:
    """Turn a feature flag on or off (created on first use)."""
    work.touch("feature_flag", key)
    work.invalidate("feature_flags")
    return flags.set_flag(
        work.session, key, body.enabled, description=body.description, updated_by=admin.name
    )


class RiskProfilePut(Strict):
    """The overrides of one risk profile; they replace the stored ones (``{}`` restores the defaults)."""

    overrides: dict[str, float] = Field(
        max_length=len(OVERRIDE_FIELDS),
        description=f"Any of {sorted(OVERRIDE_FIELDS)}.",
    )


@router.put("/risk-profiles/{name}", response_model=dict[str, Any])
def put_risk_profile(
    name: Literal["conservative", "balanced", "aggressive"],
    body: RiskProfilePut,
    work: WorkDep,
    admin: Admin,
) -> dict[str, Any]:
    """Store a risk profile's overrides; answers the effective profile and what is stored."""
    work.touch("risk_profile", name)
    work.invalidate("risk_profiles", "leaderboard")
    return save_risk_profile_overrides(work.session, name, body.overrides, updated_by=admin.name)
