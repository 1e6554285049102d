"""Rate limits, cache invalidation, quotas and webhooks, on the embedded defaults and real Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_helpers import make_client
from fastapi.testclient import TestClient

from sigma_lab import auth, events
from sigma_lab.cache import ResponseCache
from sigma_lab.config import get_settings
from sigma_lab.ratelimit import RateLimiter
from sigma_lab.store import Job, WebhookDelivery, session_scope

MODEL = {"pack": "swingsigma", "ticker": "IBM", "horizon": "swing", "cadence": "daily"}


@pytest.fixture
def service_client(database_url: str, cache_url: str | None, api_settings: None) -> Any:
    """The app with its cache and rate limiter in memory and in real Redis."""
    with make_client(cache_url) as test_client:
        yield test_client


def _key(role: str = "researcher", **quotas: int) -> dict[str, str]:
    _, plaintext = auth.create_key(role, f"svc-{role}", quotas)
    return {"X-API-Key": plaintext}


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_rate_limiter_counts_a_fixed_window(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    limiter = RateLimiter(url, window=1.0, namespace=f"sigma:test:rl:{time.time_ns()}")
    decisions = [limiter.hit("k", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after >= 1
    time.sleep(1.1)
    assert limiter.hit("k", 3).allowed


def test_requests_over_the_keys_limit_get_429_with_retry_after(service_client: TestClient) -> None:
    headers = _key("viewer", requests_per_minute=3)
    codes = [service_client.get("/packs", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = service_client.get("/packs", headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert service_client.get("/packs", headers=_key("viewer")).status_code == 200


def test_reference_reads_are_cached(service_client: TestClient) -> None:
    headers = _key("viewer")
    assert service_client.get("/packs", headers=headers).headers["X-Cache"] == "miss"
    assert service_client.get("/packs", headers=headers).headers["X-Cache"] == "hit"


def test_model_writes_invalidate_cached_model_reads(service_client: TestClient) -> None:
    headers = _key("researcher")
    assert service_client.get("/models", headers=headers).json()["items"] == []
    assert service_client.get("/models", headers=headers).headers["X-Cache"] == "hit"
    created = service_client.post("/models", json=MODEL, headers=headers).json()
    listed = service_client.get("/models", headers=headers)
    assert listed.headers["X-Cache"] == "miss"
    assert [m["model_id"] for m in listed.json()["items"]] == [created["model_id"]]
    model_url = f"/models/{created['model_id']}"
    assert service_client.get(model_url, headers=headers).json()["spec"] == created["spec"]
    service_client.patch(model_url, json={"backtest": {"threshold": 0.65}}, headers=headers)
    assert service_client.get(model_url, headers=headers).json()["spec"]["backtest"]["threshold"] == 0.65


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_cache_invalidation_hides_only_tagged_entries(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    cache = ResponseCache(url, namespace=f"sigma:test:rc:{time.time_ns()}")
    cache.set("a", b"1", 60, ["models"])
    cache.set("b", b"2", 60, ["packs"])
    cache.invalidate("models")
    assert cache.get("a", ["models"]) is None
    assert cache.get("b", ["packs"]) == b"2"
    cache.set("c", b"3", 0.05)
    time.sleep(0.1)
    assert cache.get("c") is None


def test_concurrent_job_quota_is_enforced(client: TestClient) -> None:
    key_id, plaintext = auth.create_key("researcher", "quota", {"concurrent_jobs": 1})
    with session_scope() as session:
        session.add(Job(kind="function", target="build", status="running", api_key_id=key_id))
    refused = client.post("/models/aapl_eq_swing_daily/build", headers={"X-API-Key": plaintext})
    assert refused.status_code == 429, refused.text
    assert "Retry-After" in refused.headers


def test_sweeps_per_day_quota_counts_the_last_24_hours(database_url: str) -> None:
    key_id, _ = auth.create_key("researcher", "sweeper", {"sweeps_per_day": 1, "concurrent_jobs": 5})
    key = auth.KeyInfo(key_id, "sweeper", "x", "researcher", sweeps_per_day=1, concurrent_jobs=5)
    with session_scope() as session:
        auth.check_job_quota(session, key, "sweep")
        session.add(Job(kind="function", target="sweep", status="succeeded", api_key_id=key_id))
    with session_scope() as session, pytest.raises(auth.QuotaExceeded, match="sweep"):
        auth.check_job_quota(session, key, "sweep")


def _deliveries(subscription_id: int) -> list[WebhookDelivery]:
    with session_scope() as session:
        return list(session.query(WebhookDelivery).filter_by(subscription_id=subscription_id))


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_event_is_delivered_signed_to_a_loopback_receiver(client: TestClient, receiver: Any) -> None:
    headers = _key("researcher")
    made = client.post(
        "/webhooks",
        json={"url": receiver.url, "events": ["train.completed"], "secret": receiver.secret},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    subscription_id = made.json()["id"]
    ids = events.publish("train.completed", {"model_id": "m", "run_id": 7})
    assert len(ids) == 1
    assert receiver.event.wait(10)
    got = receiver.received[0]
    assert got["signature_ok"]
    assert got["body"]["event"] == "train.completed" and got["body"]["data"] == {"model_id": "m", "run_id": 7}
    assert got["event_id"] == got["body"]["id"]
    _wait(lambda: _deliveries(subscription_id)[0].status == "succeeded")
    log = client.get(f"/webhooks/{subscription_id}/deliveries", headers=headers).json()["items"]
    assert log[0]["attempts"] == 1 and log[0]["latency_ms"] is not None


def test_failing_receiver_is_retried_with_the_same_event_id(client: TestClient, receiver: Any) -> None:
    receiver.statuses = [500, 503]
    headers = _key("researcher")
    subscription_id = client.post(
        "/webhooks",
        json={"url": receiver.url, "events": ["job.failed"], "secret": receiver.secret},
        headers=headers,
    ).json()["id"]
    events.publish("job.failed", {"job_id": 1})
    assert receiver.event.wait(10)
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert len({r["event_id"] for r in receiver.received}) == 1
    _wait(lambda: _deliveries(subscription_id)[0].status == "succeeded")
    assert _deliveries(subscription_id)[0].attempts == 3


def test_receiver_that_keeps_failing_ends_failed_after_max_attempts(
    client: TestClient, receiver: Any
) -> None:
    receiver.statuses = [500] * 10
    headers = _key("researcher")
    subscription_id = client.post(
        "/webhooks",
        json={"url": receiver.url, "events": ["job.failed"], "secret": receiver.secret},
        headers=headers,
    ).json()["id"]
    client.post(f"/webhooks/{subscription_id}/ping", headers=headers)
    _wait(lambda: _deliveries(subscription_id)[0].status == "failed")
    delivery = _deliveries(subscription_id)[0]
    assert delivery.attempts == 3 and delivery.response_status == 500


def test_private_targets_are_refused_unless_allowed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMA_ALLOW_PRIVATE_WEBHOOKS", "0")
    get_settings.cache_clear()
    refused = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/x", "events": ["job.failed"]},
        headers=_key("researcher"),
    )
    assert refused.status_code == 422 and "non-public" in refused.text


def test_webhook_crud_and_ownership(client: TestClient, receiver: Any) -> None:
    mine, other = _key("researcher"), _key("researcher")
    made = client.post(
        "/webhooks", json={"url": receiver.url, "events": ["sweep.completed"]}, headers=mine
    ).json()
    assert made["secret"].startswith("whsec_")
    assert [w["id"] for w in client.get("/webhooks", headers=mine).json()] == [made["id"]]
    assert client.get("/webhooks", headers=other).json() == []
    assert client.get(f"/webhooks/{made['id']}", headers=other).status_code == 404
    bad = client.post("/webhooks", json={"url": receiver.url, "events": ["nope"]}, headers=mine)
    assert bad.status_code == 422
    assert client.delete(f"/webhooks/{made['id']}", headers=mine).status_code == 204
    assert client.get(f"/webhooks/{made['id']}", headers=mine).status_code == 404


def test_signature_check_rejects_tampering_and_stale_timestamps() -> None:
    header = events.sign("secret", 1000, b"body")
    assert events.verify_signature("secret", header, b"body", now=1000)
    assert not events.verify_signature("secret", header, b"bodY", now=1000)
    assert not events.verify_signature("other", header, b"body", now=1000)
    assert not events.verify_signature("secret", header, b"body", now=2000)
