"""Dependencies of the routes: the store unit of work, the cache, the current key and its role.

Every route names what it needs with ``Annotated`` types (``Work``, ``Cache``, ``Viewer``,
``Researcher``, ``Admin``, ``PageParams``). A :class:`Work` commits before the response is sent
(so a client never sees success for a write that was rolled back), then invalidates the cache
tags the route touched and leaves the touched ids for the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from sigma_lab import auth
from sigma_lab.cache import ResponseCache
from sigma_lab.config import get_settings
from sigma_lab.ratelimit import RateLimiter
from sigma_lab.store import session_scope

#: The largest id any table holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1

#: A row id in a path.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


class RateLimited(auth.SigmaError):
    """The key sent more requests than its per-minute limit (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


def audit_record(request: Request) -> dict:
    """The audit entry of this request (filled by routes, written by the audit middleware)."""
    state = request.scope.setdefault("state", {})
    return state.setdefault("audit", {"key": None, "target_type": None, "target_ids": []})


def get_cache(request: Request) -> ResponseCache:
    """The app's response cache."""
    return request.app.state.cache


Cache = Annotated[ResponseCache, Depends(get_cache)]


@dataclass
class Work:
    """One unit of work of a request: a store session, cache tags to invalidate, ids touched."""

    session: Session
    request: Request
    tags: set[str] = field(default_factory=set)

    def invalidate(self, *tags: str) -> None:
        """Invalidate ``tags`` in the response cache once the transaction committed."""
        self.tags.update(tags)

    def touch(self, target_type: str, *ids: object) -> None:
        """Name what this request changed, for the audit log."""
        audit = audit_record(self.request)
        audit["target_type"] = target_type
        audit["target_ids"].extend(str(i) for i in ids)


def get_work(request: Request, cache: Cache) -> Iterator[Work]:
    """A :class:`Work` whose transaction commits (or rolls back) before the response goes out."""
    with session_scope() as session:
        work = Work(session, request)
        yield work
    cache.invalidate(*sorted(work.tags))


WorkDep = Annotated[Work, Depends(get_work, scope="function")]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def current_key(request: Request) -> auth.KeyInfo:
    """The verified key of the request, counted against its rate limit (401 / 429)."""
    key = auth.verify(_presented_key(request))
    audit_record(request)["key"] = key
    limiter: RateLimiter = request.app.state.limiter
    limit = auth.effective_quota(key, "requests_per_minute")
    decision = limiter.hit(f"key:{key.id}", limit)
    if not decision.allowed:
        raise RateLimited(
            f"key {key.prefix} exceeded {limit} requests per minute", retry_after=decision.retry_after
        )
    return key


def require(role: str):  # noqa: ANN201 - returns a FastAPI dependency callable
    """A dependency that passes keys with at least ``role`` (401 without a key, 403 below it)."""

    def dependency(key: Annotated[auth.KeyInfo, Depends(current_key)]) -> auth.KeyInfo:
        auth.require_role(key, role)
        return key

    dependency.__name__ = f"require_{role}"
    return dependency


Viewer = Annotated[auth.KeyInfo, Depends(require("viewer"))]
Researcher = Annotated[auth.KeyInfo, Depends(require("researcher"))]
Admin = Annotated[auth.KeyInfo, Depends(require("admin"))]


@dataclass(frozen=True)
class Page:
    """Keyset paging: at most ``limit`` items with ids below ``before`` (newest first)."""

    limit: int
    before: int | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=10_000, description="Items per page.")] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Return items with ids below this cursor.")
    ] = None,
) -> Page:
    """Paging parameters, with ``limit`` capped by ``SIGMA_API_MAX_PAGE_SIZE``."""
    cap = get_settings().api_max_page_size
    if limit > cap:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {cap}",
                    "type": "less_than_equal",
                    "input": limit,
                }
            ]
        )
    return Page(limit, before)


PageParams = Annotated[Page, Depends(page_params)]


def next_cursor(items: list[dict], page: Page) -> int | None:
    """The ``before`` cursor of the next page, or ``None`` on the last one."""
    if len(items) < page.limit or not items:
        return None
    return int(items[-1]["id"])
