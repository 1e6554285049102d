"""The FastAPI application: routers by resource, error mapping, body limits and the audit trail.

Domain errors become HTTP statuses in one place: :class:`~sigma_lab.auth.AuthenticationError`
401, :class:`~sigma_lab.auth.PermissionDenied` 403, :class:`~sigma_lab.errors.NotFoundError`
404, :class:`~sigma_lab.errors.ConfigError` 422 (with the field path), quota and rate limits
429 with ``Retry-After``, :class:`~sigma_lab.errors.StoreError` 409. Every mutating request
(POST, PUT, PATCH, DELETE) is written to the audit log with its key, route, status and the ids
it touched, after the response is complete.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import sigma_lab
from api.deps import RateLimited
from api.routes import ROUTERS
from sigma_lab import auth, events
from sigma_lab.cache import ResponseCache, get_cache
from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError, StoreError
from sigma_lab.modelstore import SpecError
from sigma_lab.ratelimit import RateLimiter
from sigma_lab.store import ensure_schema, repo, session_scope

logger = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(auth.AuthenticationError)
    async def _unauthenticated(_: Request, exc: auth.AuthenticationError) -> JSONResponse:
        return _error(401, str(exc), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(auth.PermissionDenied)
    async def _forbidden(_: Request, exc: auth.PermissionDenied) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(SpecError)
    async def _bad_spec(_: Request, exc: SpecError) -> JSONResponse:
        return _error(422, [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors])

    @app.exception_handler(ConfigError)
    async def _bad_input(_: Request, exc: ConfigError) -> JSONResponse:
        return _error(422, [{"loc": ["body"], "msg": str(exc), "type": "value_error"}])

    @app.exception_handler(StoreError)
    async def _conflict(_: Request, exc: StoreError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(auth.QuotaExceeded)
    async def _quota(_: Request, exc: auth.QuotaExceeded) -> JSONResponse:
        return _error(429, str(exc), {"Retry-After": str(exc.retry_after or 60)})

    @app.exception_handler(RateLimited)
    async def _rate(_: Request, exc: RateLimited) -> JSONResponse:
        return _error(429, str(exc), {"Retry-After": str(exc.retry_after)})


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, by header and by counting the stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(self.max_bytes, scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(self.max_bytes, scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = _error(413, f"request body larger than {limit} bytes")
    await response(scope, receive, send)


class AuditMiddleware:
    """Record every mutating request (key, route, status, ids touched) once it has been answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        audit: dict[str, Any] = {"key": None, "target_type": None, "target_ids": []}
        scope["state"]["audit"] = audit
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            _write_audit(scope, audit, status)


def _write_audit(scope: Scope, audit: dict[str, Any], status: int) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or scope["path"]
    key: auth.KeyInfo | None = audit["key"]
    client = scope.get("client")
    try:
        with session_scope() as session:
            repo.add_audit(
                session,
                f"{scope['method']} {template}",
                api_key_id=key.id if key else None,
                actor=key.name if key else None,
                method=scope["method"],
                route=template,
                status_code=status,
                target_type=audit["target_type"],
                target_ids=audit["target_ids"],
                detail={"path": scope["path"], "path_params": scope.get("path_params", {})},
                client=client[0] if client else None,
            )
    except Exception:  # noqa: BLE001 - a failed audit write must not turn an answer into an error
        logger.exception("could not write the audit entry of %s %s", scope["method"], scope["path"])


def _default_cache() -> ResponseCache:
    settings = get_settings()
    if not settings.redis_url:
        return get_cache()
    database = hashlib.sha256(settings.database.encode()).hexdigest()[:12]
    return ResponseCache(settings.redis_url, namespace=f"sigma:rc:{database}")


def create_app(
    *,
    cache: ResponseCache | None = None,
    limiter: RateLimiter | None = None,
    deliver_webhooks: bool = True,
) -> FastAPI:
    """The Sigma Lab API. ``cache`` and ``limiter`` default to Redis when ``SIGMA_REDIS_URL`` is
    set (in-process otherwise); ``deliver_webhooks`` runs the delivery worker while the app lives.
    At start-up, jobs a crash left running are marked failed (:func:`sigma_lab.jobs.recover`)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from sigma_lab import jobs

        jobs.recover()
        if deliver_webhooks:
            ensure_schema()
            events.start_worker()
        try:
            yield
        finally:
            if deliver_webhooks:
                events.stop_worker()

    app = FastAPI(
        title="Sigma Lab API",
        version=sigma_lab.__version__,
        description="Packs, models, pipeline jobs, runs, webhooks and administration of Sigma Lab.",
        lifespan=lifespan,
    )
    app.state.cache = cache if cache is not None else _default_cache()
    app.state.limiter = limiter if limiter is not None else RateLimiter(get_settings().redis_url)
    _install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    return app
