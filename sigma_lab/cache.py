"""Response cache with TTLs and tag-based invalidation: Redis when configured, in-process otherwise.

Invalidation uses tag generations: every tag has a counter, and an entry's storage key
includes the current counters of its tags. ``invalidate("models")`` bumps the counter
(one atomic ``INCR`` in Redis), so every entry tagged ``models`` becomes unreachable at once
and expires on its own. No scans, no race between a write and a concurrent fill: a fill that
read the old generation writes under the old key, which nobody reads again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from sigma_lab.config import get_settings

logger = logging.getLogger(__name__)

REFERENCE_TTL = 3600
DYNAMIC_TTL = 300


class ResponseCache:
    """Bytes under string keys, each with a TTL and tags; see the module docstring."""

    def __init__(
        self, redis_url: str | None = None, *, namespace: str = "sigma:rc", max_entries: int = 4096
    ) -> None:
        self.namespace = namespace
        self.max_entries = max_entries
        self._redis: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._generations: dict[str, int] = {}

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "memory"

    def _generation_values(self, tags: Sequence[str]) -> list[int]:
        if not tags:
            return []
        if self._redis is not None:
            values = self._redis.mget([f"{self.namespace}:tag:{t}" for t in tags])
            return [int(v) if v is not None else 0 for v in values]
        with self._lock:
            return [self._generations.get(t, 0) for t in tags]

    def _storage_key(self, key: str, tags: Sequence[str]) -> str:
        generations = self._generation_values(tags)
        stamp = ",".join(f"{t}={g}" for t, g in zip(tags, generations, strict=True))
        digest = hashlib.sha256(f"{key}|{stamp}".encode()).hexdigest()
        return f"{self.namespace}:entry:{digest}"

    def get(self, key: str, tags: Sequence[str] = ()) -> bytes | None:
        """The cached bytes for ``key`` under the current generations of ``tags``, or ``None``."""
        try:
            storage = self._storage_key(key, sorted(tags))
            if self._redis is not None:
                return self._redis.get(storage)
        except _redis_errors() as exc:
            logger.warning("response cache: Redis unavailable (%s); reading through", exc)
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(storage)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[storage]
                return None
            self._entries.move_to_end(storage)
            return entry[1]

    def set(self, key: str, value: bytes, ttl: float, tags: Sequence[str] = ()) -> None:
        """Store ``value`` for ``ttl`` seconds under ``key`` and the current generations of ``tags``."""
        try:
            storage = self._storage_key(key, sorted(tags))
            if self._redis is not None:
                self._redis.set(storage, value, px=max(1, int(ttl * 1000)))
                return
        except _redis_errors() as exc:
            logger.warning("response cache: Redis unavailable (%s); not caching", exc)
            return
        with self._lock:
            self._entries[storage] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(storage)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_set(
        self, key: str, produce: Callable[[], bytes], ttl: float, tags: Sequence[str] = ()
    ) -> tuple[bytes, bool]:
        """The cached value for ``key``, or ``produce()`` stored and returned; the flag says it was a hit."""
        cached = self.get(key, tags)
        if cached is not None:
            return cached, True
        value = produce()
        self.set(key, value, ttl, tags)
        return value, False

    def invalidate(self, *tags: str) -> None:
        """Make every entry tagged with any of ``tags`` unreachable."""
        if not tags:
            return
        if self._redis is not None:
            try:
                pipe = self._redis.pipeline()
                for tag in tags:
                    pipe.incr(f"{self.namespace}:tag:{tag}")
                pipe.execute()
            except _redis_errors() as exc:
                logger.error("response cache: could not invalidate %s in Redis (%s)", list(tags), exc)
                raise
            return
        with self._lock:
            for tag in tags:
                self._generations[tag] = self._generations.get(tag, 0) + 1

    def clear(self) -> None:
        """Drop every in-process entry and bump nothing (for tests and admin resets)."""
        with self._lock:
            self._entries.clear()

    def ping(self) -> bool:
        """Whether the backend answers (always true in memory)."""
        if self._redis is None:
            return True
        try:
            return bool(self._redis.ping())
        except Exception:  # noqa: BLE001 - any failure means not reachable
            return False


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


_caches: dict[str, ResponseCache] = {}
_caches_lock = threading.Lock()


def get_cache(redis_url: str | None = None) -> ResponseCache:
    """The process-wide response cache for ``redis_url`` (default: ``SIGMA_REDIS_URL``, else in-process)."""
    url = redis_url if redis_url is not None else get_settings().redis_url
    key = url or ""
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = ResponseCache(url or None)
        return cache


def reset_caches() -> None:
    """Forget the process-wide caches (tests switch backends between runs)."""
    with _caches_lock:
        _caches.clear()
