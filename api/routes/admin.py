"""Administration: API keys and their quotas, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from api.deps import MAX_ID, Admin, Id, PageParams, WorkDep, next_cursor
from api.schemas import KeyCreate, KeyCreated, KeyOut, KeyPatch, Page
from sigma_lab import auth
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
