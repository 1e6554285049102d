"""Cached JSON responses: reference reads for about an hour, dynamic reads for five minutes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request, Response

from sigma_lab.cache import ResponseCache
from sigma_lab.config import get_settings
from sigma_lab.store.types import to_jsonable


def _encode(value: Any) -> bytes:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(to_jsonable(value), separators=(",", ":")).encode()


def cached_json(
    request: Request,
    cache: ResponseCache,
    produce: Callable[[], Any],
    *,
    tags: Sequence[str],
    dynamic: bool = False,
) -> Response:
    """``produce()`` as JSON, served from ``cache`` under the URL and ``tags`` when present.

    The ``X-Cache`` header says ``hit`` or ``miss``.
    """
    settings = get_settings()
    ttl = settings.api_cache_dynamic_ttl if dynamic else settings.api_cache_reference_ttl
    key = f"{request.url.path}?{sorted(request.query_params.multi_items())}"
    body, hit = cache.get_or_set(key, lambda: _encode(produce()), ttl, tags)
    return Response(body, media_type="application/json", headers={"X-Cache": "hit" if hit else "miss"})
