"""The hot cache of recently read bar ranges: Redis when ``SIGMA_REDIS_URL`` is set, else an in-process LRU.

Both caches share one interface (:class:`BarCache`). Keys name the store (the workspace data
folder), source, symbol, timeframe, range and source options. A cached frame is never
handed out by reference: ``get`` always returns a fresh copy. ``invalidate(source, symbol)``
drops every cached range of that symbol; the Parquet store calls it whenever it merges new
bars. In Redis invalidation bumps a per-symbol generation number that is part of every data
key, so stale entries become unreachable at once (and expire with their TTL).

A configured Redis that stops answering degrades the cache, never the load: reads and writes
fall back to an in-process LRU (with one warning), and invalidations made while Redis is
down are replayed before the next Redis operation, so no stale range is served once it is back.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from sigma_lab.config import get_settings

DEFAULT_TTL_SECONDS = 3600
#: Seconds a Redis operation may take before the cache falls back to process memory.
REDIS_TIMEOUT_SECONDS = 1.0

log = logging.getLogger(__name__)
_DOWN = object()


@dataclass(frozen=True)
class CacheKey:
    """What identifies a cached range."""

    namespace: str
    source: str
    symbol: str
    timeframe: str
    start: str
    end: str
    options: str = ""

    def text(self) -> str:
        return "|".join((self.source, self.symbol, self.timeframe, self.start, self.end, self.options))


def make_key(
    source: str,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    options: dict[str, object] | None = None,
) -> CacheKey:
    """The cache key of a ``load`` request against the current workspace."""
    opts = "" if not options else repr(sorted((k, repr(v)) for k, v in options.items()))
    return CacheKey(
        namespace=str(get_settings().data_dir),
        source=source,
        symbol=symbol,
        timeframe=timeframe,
        start="" if start is None else start.isoformat(),
        end="" if end is None else end.isoformat(),
        options=opts,
    )


class BarCache(ABC):
    """A cache of bar frames keyed by :class:`CacheKey`."""

    @abstractmethod
    def get(self, key: CacheKey) -> pd.DataFrame | None:
        """A copy of the cached frame, or None."""

    @abstractmethod
    def put(self, key: CacheKey, bars: pd.DataFrame) -> None:
        """Remember (a copy of) ``bars`` under ``key``."""

    @abstractmethod
    def invalidate(self, namespace: str, source: str, symbol: str) -> None:
        """Forget every cached range of ``symbol`` from ``source`` in ``namespace``."""

    @abstractmethod
    def clear(self) -> None:
        """Forget everything."""


class MemoryCache(BarCache):
    """An in-process LRU of at most ``size`` ranges."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[CacheKey, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> pd.DataFrame | None:
        with self._lock:
            frame = self._items.get(key)
            if frame is None:
                return None
            self._items.move_to_end(key)
            return frame.copy(deep=True)

    def put(self, key: CacheKey, bars: pd.DataFrame) -> None:
        with self._lock:
            self._items[key] = bars.copy(deep=True)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def invalidate(self, namespace: str, source: str, symbol: str) -> None:
        with self._lock:
            for key in [
                k for k in self._items if (k.namespace, k.source, k.symbol) == (namespace, source, symbol)
            ]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RedisCache(BarCache):
    """Ranges in Redis as Arrow IPC streams with a TTL; process memory while Redis is down."""

    prefix = "sigma:bars:v1"

    def __init__(self, url: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, fallback_size: int = 64) -> None:
        import redis

        self.url = url
        self.ttl_seconds = ttl_seconds
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._errors = (redis.exceptions.RedisError, OSError)
        self._fallback = MemoryCache(fallback_size)
        self._pending: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._down = False

    def _call(self, op: Callable[[], Any]) -> Any:
        """``op()`` against Redis after replaying pending invalidations; ``_DOWN`` if Redis fails."""
        try:
            with self._lock:
                for pending in sorted(self._pending):
                    self._client.incr(f"{self._symbol_id(*pending)}:gen")
                    self._pending.discard(pending)
            result = op()
        except self._errors as exc:
            if not self._down:
                log.warning("Redis bar cache at %s is unavailable (%s); using process memory", self.url, exc)
            self._down = True
            return _DOWN
        if self._down:
            log.warning("Redis bar cache at %s is back", self.url)
            self._down = False
        return result

    def _symbol_id(self, namespace: str, source: str, symbol: str) -> str:
        digest = hashlib.sha256(f"{namespace}|{source}|{symbol}".encode()).hexdigest()[:24]
        return f"{self.prefix}:{digest}"

    def _data_key(self, key: CacheKey) -> str:
        symbol_id = self._symbol_id(key.namespace, key.source, key.symbol)
        generation = int(self._client.get(f"{symbol_id}:gen") or 0)
        digest = hashlib.sha256(key.text().encode()).hexdigest()[:32]
        return f"{symbol_id}:g{generation}:{digest}"

    def get(self, key: CacheKey) -> pd.DataFrame | None:
        payload = self._call(lambda: self._client.get(self._data_key(key)))
        if payload is _DOWN:
            return self._fallback.get(key)
        return None if payload is None else from_arrow_ipc(payload)

    def put(self, key: CacheKey, bars: pd.DataFrame) -> None:
        data = to_arrow_ipc(bars)
        if self._call(lambda: self._client.set(self._data_key(key), data, ex=self.ttl_seconds)) is _DOWN:
            self._fallback.put(key, bars)

    def invalidate(self, namespace: str, source: str, symbol: str) -> None:
        self._fallback.invalidate(namespace, source, symbol)
        target = (namespace, source, symbol)
        if self._call(lambda: self._client.incr(f"{self._symbol_id(*target)}:gen")) is _DOWN:
            with self._lock:
                self._pending.add(target)

    def clear(self) -> None:
        self._fallback.clear()

        def drop() -> None:
            for name in self._client.scan_iter(match=f"{self.prefix}:*", count=500):
                self._client.delete(name)

        self._call(drop)


def to_arrow_ipc(bars: pd.DataFrame) -> bytes:
    """Serialize a frame (index included) as an Arrow IPC stream."""
    table = pa.Table.from_pandas(bars, preserve_index=True)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def from_arrow_ipc(payload: bytes) -> pd.DataFrame:
    """The frame serialized by :func:`to_arrow_ipc`."""
    with pa.ipc.open_stream(payload) as reader:
        return reader.read_all().to_pandas()


_caches: dict[tuple[str, int], BarCache] = {}
_caches_lock = threading.Lock()


def get_cache() -> BarCache:
    """The cache the current settings ask for (one instance per Redis URL or LRU size)."""
    settings = get_settings()
    key = (settings.redis_url or "memory", settings.cache_size)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = (
                RedisCache(settings.redis_url, fallback_size=settings.cache_size)
                if settings.redis_url
                else MemoryCache(settings.cache_size)
            )
            _caches[key] = cache
        return cache
