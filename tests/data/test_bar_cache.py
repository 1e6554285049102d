"""The hot cache, with the in-process LRU and with real Redis (the ``cache_url`` fixture)."""

from __future__ import annotations

import pandas as pd
import pytest

from sigma_lab.config import get_settings
from sigma_lab.data import load
from sigma_lab.data.cache import MemoryCache, RedisCache, from_arrow_ipc, get_cache, make_key, to_arrow_ipc
from sigma_lab.data.sources.synthetic import SyntheticSource
from sigma_lab.data.store import BarStore
from sigma_lab.data.timeframes import parse_timeframe


def bars(n: int = 50, seed: int = 0) -> pd.DataFrame:
    return SyntheticSource(seed=seed, n_bars=n).fetch("X", parse_timeframe("1h"))


def test_the_configured_cache_is_redis_or_memory(cache_url: str | None) -> None:
    cache = get_cache()
    assert isinstance(cache, RedisCache if cache_url else MemoryCache)


def test_put_get_round_trip_returns_an_equal_copy(cache_url: str | None) -> None:
    cache = get_cache()
    key = make_key("demo", "X", "1h", pd.Timestamp("2020-01-01", tz="UTC"), None, {"seed": 1})
    assert cache.get(key) is None
    frame = bars()
    frame["vwap"] = frame["close"]
    cache.put(key, frame)
    first = cache.get(key)
    pd.testing.assert_frame_equal(first, frame)
    first.iloc[0, 0] = -1.0
    pd.testing.assert_frame_equal(cache.get(key), frame)


def test_keys_differ_by_range_options_and_workspace(cache_url: str | None, tmp_path, monkeypatch) -> None:
    cache = get_cache()
    key = make_key("demo", "X", "1h", None, None)
    cache.put(key, bars())
    assert cache.get(make_key("demo", "X", "1h", pd.Timestamp("2020-01-01", tz="UTC"), None)) is None
    assert cache.get(make_key("demo", "X", "1h", None, None, {"seed": 2})) is None
    monkeypatch.setenv("SIGMA_WORKSPACE", str(tmp_path / "elsewhere"))
    get_settings.cache_clear()
    assert get_cache().get(make_key("demo", "X", "1h", None, None)) is None


def test_store_merge_invalidates_cached_ranges_of_that_symbol(cache_url: str | None) -> None:
    cache = get_cache()
    store = BarStore()
    key = make_key("demo", "X", "1h", None, None)
    other = make_key("demo", "Y", "1h", None, None)
    cache.put(key, bars())
    cache.put(other, bars())
    store.write("demo", "X", "1h", bars(seed=3))
    assert cache.get(key) is None
    assert cache.get(other) is not None


def test_load_serves_repeat_reads_from_the_cache(cache_url: str | None) -> None:
    first = load("SPY", "1d", start="2023-02-01", end="2023-02-28")
    key = make_key(
        "sample",
        "SPY",
        "1d",
        pd.Timestamp("2023-02-01", tz="UTC"),
        pd.Timestamp("2023-02-28 23:59:59.999999999", tz="UTC"),
        {},
    )
    cached = get_cache().get(key)
    pd.testing.assert_frame_equal(cached, first)
    marker = first.copy()
    marker["volume"] = 1.0
    get_cache().put(key, marker)
    assert (load("SPY", "1d", start="2023-02-01", end="2023-02-28")["volume"] == 1.0).all()
    pd.testing.assert_frame_equal(
        load("SPY", "1d", start="2023-02-01", end="2023-02-28", refresh=True), first
    )


def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(size=2)
    keys = [make_key("demo", s, "1h", None, None) for s in ("A", "B", "C")]
    cache.put(keys[0], bars())
    cache.put(keys[1], bars())
    assert cache.get(keys[0]) is not None
    cache.put(keys[2], bars())
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None


@pytest.mark.redis
def test_redis_entries_expire_with_their_ttl(redis_url: str) -> None:
    cache = RedisCache(redis_url, ttl_seconds=30)
    key = make_key("demo", "TTL", "1h", None, None)
    cache.put(key, bars())
    ttl = cache._client.ttl(cache._data_key(key))
    assert 0 < ttl <= 30


def test_arrow_ipc_keeps_the_utc_index() -> None:
    frame = bars()
    back = from_arrow_ipc(to_arrow_ipc(frame))
    pd.testing.assert_frame_equal(back, frame)
    assert str(back.index.tz) == "UTC"


UNREACHABLE = "redis://127.0.0.1:1/0"


def test_an_unreachable_redis_degrades_to_process_memory_with_one_warning(workspace, caplog) -> None:
    cache = RedisCache(UNREACHABLE)
    key = make_key("synthetic", "SYN", "1h", None, None)
    frame = bars()
    with caplog.at_level("WARNING", logger="sigma_lab.data.cache"):
        assert cache.get(key) is None
        cache.put(key, frame)
        pd.testing.assert_frame_equal(cache.get(key), frame)
        cache.invalidate(key.namespace, "synthetic", "SYN")
        assert cache.get(key) is None
    assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1


def test_invalidations_made_while_redis_was_down_are_replayed_when_it_is_back(workspace, redis_url) -> None:
    import redis

    healthy = RedisCache(redis_url)
    key = make_key("synthetic", "SYN", "1h", None, None)
    healthy.put(key, bars())
    flaky = RedisCache(redis_url)
    client = flaky._client
    flaky._client = redis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5)
    flaky.invalidate(key.namespace, "synthetic", "SYN")
    assert healthy.get(key) is not None, "Redis never saw the invalidation while it was down"
    flaky._client = client
    assert flaky.get(key) is None
    assert healthy.get(key) is None


def test_load_still_serves_bars_when_the_configured_redis_is_down(workspace, monkeypatch) -> None:
    monkeypatch.setenv("SIGMA_REDIS_URL", UNREACHABLE)
    get_settings.cache_clear()
    first = load("AAPL", timeframe="1d", source="sample")
    pd.testing.assert_frame_equal(load("AAPL", timeframe="1d", source="sample"), first)
    assert isinstance(get_cache(), RedisCache)
