"""Liveness and readiness."""

from __future__ import annotations

import importlib.util

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import sigma_lab
from api.schemas import Health, Readiness
from sigma_lab.config import get_settings
from sigma_lab.store import session_scope

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up (no dependencies checked)."""
    return Health(status="ok", version=sigma_lab.__version__)


def _check_executor() -> str:
    scheduler = get_settings().dask_scheduler
    if scheduler:
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(scheduler)
        with socket.create_connection((parts.hostname or "", parts.port or 8786), timeout=2):
            return f"ok (dask {scheduler})"
    if importlib.util.find_spec("sigma_lab.jobs") is None:
        raise RuntimeError("the job runner (sigma_lab.jobs) is not installed")
    return "ok (local)"


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(request: Request) -> JSONResponse:
    """Whether the store, Redis (when configured) and the executor answer; 503 if any does not."""
    checks: dict[str, str] = {}
    try:
        with session_scope() as session:
            session.execute(sa.text("select 1"))
        checks["store"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["store"] = f"error: {type(exc).__name__}"
    cache = request.app.state.cache
    if cache.backend == "redis":
        checks["redis"] = "ok" if cache.ping() and request.app.state.limiter.ping() else "error: no answer"
    else:
        checks["redis"] = "ok (not configured: in-process cache)"
    try:
        checks["executor"] = _check_executor()
    except Exception as exc:  # noqa: BLE001
        checks["executor"] = f"error: {exc}"
    ok = all(v.startswith("ok") for v in checks.values())
    body = Readiness(ready=ok, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
