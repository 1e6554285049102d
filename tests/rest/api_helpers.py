"""Helpers the API tests import by name (a module name no other test folder uses)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from api import create_app
from sigma_lab.cache import ResponseCache
from sigma_lab.ratelimit import RateLimiter


def make_client(redis_url: str | None = None) -> TestClient:
    """A test client of a fresh app with its own cache and rate-limit namespaces (Redis when given)."""
    namespace = f"sigma:test:{uuid.uuid4().hex[:8]}"
    app = create_app(
        cache=ResponseCache(redis_url, namespace=f"{namespace}:rc"),
        limiter=RateLimiter(redis_url, namespace=f"{namespace}:rl"),
    )
    return TestClient(app)
