"""Per-key rate limits: fixed windows counted in Redis, or in this process without Redis.

With Redis the count is one atomic Lua script (``INCR`` plus ``PEXPIRE`` on the first hit), so
every API process shares the same budget. Without Redis each process counts on its own.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

_LUA_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean Redis could not answer (connection, timeout, server errors)."""
    import redis

    return (redis.RedisError, OSError)


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, what is left, and when the window resets."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


class RateLimiter:
    """Fixed-window counter: at most ``limit`` hits per ``window`` seconds per name."""

    def __init__(
        self, redis_url: str | None = None, *, window: float = 60.0, namespace: str = "sigma:rl"
    ) -> None:
        self.window = float(window)
        self.namespace = namespace
        self._redis: Any = None
        self._script: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._script = self._redis.register_script(_LUA_HIT)
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "memory"

    def hit(self, name: str, limit: int) -> Decision:
        """Count one hit for ``name`` and say whether it is within ``limit`` for the current window."""
        try:
            count, reset = self._hit_redis(name) if self._redis is not None else self._hit_memory(name)
        except redis_errors() as exc:
            logger.warning("rate limiter: Redis unavailable (%s); counting in this process", exc)
            count, reset = self._hit_memory(name)
        remaining = max(0, limit - count)
        return Decision(count <= limit, limit, remaining, max(1, math.ceil(reset)))

    def _hit_redis(self, name: str) -> tuple[int, float]:
        count, ttl_ms = self._script(keys=[f"{self.namespace}:{name}"], args=[int(self.window * 1000)])
        return int(count), int(ttl_ms) / 1000.0

    def _hit_memory(self, name: str) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(name, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            self._counts[name] = (start, count)
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            return count, self.window - (now - start)

    def reset(self, name: str) -> None:
        """Forget the count of ``name`` (for admins lifting a limit at once)."""
        if self._redis is not None:
            self._redis.delete(f"{self.namespace}:{name}")
        with self._lock:
            self._counts.pop(name, None)

    def ping(self) -> bool:
        """Whether the backend answers (always true in memory)."""
        if self._redis is None:
            return True
        try:
            return bool(self._redis.ping())
        except Exception:  # noqa: BLE001 - any failure means not reachable
            return False
