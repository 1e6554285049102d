"""Webhooks: subscriptions, event publishing, signed delivery with retries, and a delivery log.

:func:`publish` only writes one pending delivery row per matching subscription (in the
caller's transaction when a session is given) and wakes the :class:`DeliveryWorker`; the HTTP
calls happen on the worker's thread, never on the request path. A delivery is retried with
exponential backoff (``webhook_backoff_seconds * 2**(attempt-1)``, capped) until it succeeds
or ``webhook_max_attempts`` is reached; every attempt updates status, attempts, response
status, latency and the last error.

Receivers get ``{"event", "id", "timestamp", "data"}`` with headers ``X-Sigma-Event``,
``X-Sigma-Event-Id`` (deduplicate on it: a retry re-sends the same id) and
``X-Sigma-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``.
:func:`verify_signature` is the receiver's check. Targets on private, loopback, link-local or
reserved addresses are refused unless ``SIGMA_ALLOW_PRIVATE_WEBHOOKS=1``; the check runs when a
subscription is made and again before every send (the name may resolve elsewhere later).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.store import WebhookDelivery, WebhookSubscription, session_scope
from sigma_lab.store.repo import to_dict
from sigma_lab.store.types import to_jsonable, utcnow

logger = logging.getLogger(__name__)

EVENTS: tuple[str, ...] = (
    "build.completed",
    "train.completed",
    "backtest.completed",
    "sweep.completed",
    "job.failed",
    "signal.created",
)
#: Sent only on request (``POST /webhooks/{id}/ping``) to check a receiver.
PING_EVENT = "ping"
SIGNATURE_HEADER = "X-Sigma-Signature"
EVENT_HEADER = "X-Sigma-Event"
EVENT_ID_HEADER = "X-Sigma-Event-Id"
_LEASE = dt.timedelta(seconds=60)
_ERROR_CHARS = 500


# --- signatures ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds of ``now``."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


# --- targets ---------------------------------------------------------------------------------------


def check_target(url: str, *, allow_private: bool | None = None) -> None:
    """Raise :class:`ConfigError` unless ``url`` is http(s) on a public address (or private is allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"webhook url {url!r} must be an absolute http:// or https:// URL")
    if allow_private is None:
        allow_private = get_settings().allow_private_webhooks
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"webhook host {parts.hostname!r} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise ConfigError(
                f"webhook host {parts.hostname!r} resolves to the non-public address {address}; "
                "set SIGMA_ALLOW_PRIVATE_WEBHOOKS=1 to allow private targets"
            )


# --- subscriptions ---------------------------------------------------------------------------------


def _check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise ConfigError(f"a subscription needs at least one event of {list(EVENTS)}")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ConfigError(f"unknown event(s) {unknown}; known events are {list(EVENTS)}")
    return sorted(set(events))


def subscription_dict(row: WebhookSubscription) -> dict[str, Any]:
    """A subscription as a dict, without its secret."""
    out = to_dict(row)
    out.pop("secret", None)
    return out


def create_subscription(
    session: Session,
    url: str,
    events: Sequence[str],
    *,
    secret: str | None = None,
    description: str | None = None,
    api_key_id: int | None = None,
) -> tuple[dict[str, Any], str]:
    """Subscribe ``url`` to ``events``; return the subscription and its signing secret."""
    check_target(url)
    chosen = _check_events(events)
    if secret is not None and len(secret) < 16:
        raise ConfigError("a webhook secret must have at least 16 characters")
    secret = secret or f"whsec_{secrets.token_urlsafe(32)}"
    row = WebhookSubscription(
        url=url, events=chosen, secret=secret, active=True, description=description, api_key_id=api_key_id
    )
    session.add(row)
    session.flush()
    return subscription_dict(row), secret


def _subscription(session: Session, subscription_id: int, api_key_id: int | None) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or (api_key_id is not None and row.api_key_id != api_key_id):
        raise NotFoundError(f"webhook subscription {subscription_id} does not exist")
    return row


def list_subscriptions(session: Session, *, api_key_id: int | None = None) -> list[dict[str, Any]]:
    """Subscriptions (of one key when ``api_key_id`` is given), oldest first."""
    query = sa.select(WebhookSubscription).order_by(WebhookSubscription.id)
    if api_key_id is not None:
        query = query.where(WebhookSubscription.api_key_id == api_key_id)
    return [subscription_dict(r) for r in session.scalars(query)]


def get_subscription(
    session: Session, subscription_id: int, *, api_key_id: int | None = None
) -> dict[str, Any]:
    """One subscription (only if owned by ``api_key_id`` when given)."""
    return subscription_dict(_subscription(session, subscription_id, api_key_id))


def delete_subscription(session: Session, subscription_id: int, *, api_key_id: int | None = None) -> None:
    """Delete a subscription and its delivery log."""
    session.delete(_subscription(session, subscription_id, api_key_id))
    session.flush()


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    api_key_id: int | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """A subscription's delivery log, newest first (``before``: an id to page from)."""
    _subscription(session, subscription_id, api_key_id)
    query = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return [to_dict(r) for r in session.scalars(query)]


# --- publishing ------------------------------------------------------------------------------------


def _payload(event: str, event_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event": event,
        "id": event_id,
        "timestamp": utcnow().isoformat(),
        "data": to_jsonable(dict(data)),
    }


def _enqueue(
    session: Session,
    subscriptions: Iterable[WebhookSubscription],
    event: str,
    data: Mapping[str, Any],
    event_id: str,
) -> list[int]:
    payload = _payload(event, event_id, data)
    now = utcnow()
    rows = [
        WebhookDelivery(
            subscription_id=s.id,
            event=event,
            event_id=event_id,
            payload=payload,
            status="pending",
            next_attempt_at=now,
        )
        for s in subscriptions
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def publish(
    event: str, data: Mapping[str, Any], *, event_id: str | None = None, session: Session | None = None
) -> list[int]:
    """Queue ``event`` for every active subscription that wants it; return the delivery ids.

    With ``session`` the deliveries commit with the caller's transaction (so an event is sent
    only if the work it reports was stored). Delivery happens on the worker thread.
    """
    if event not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; known events are {list(EVENTS)}")
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    if session is None:
        with session_scope() as own:
            ids = publish(event, data, event_id=event_id, session=own)
        notify()
        return ids
    rows = session.scalars(sa.select(WebhookSubscription).where(WebhookSubscription.active.is_(True))).all()
    wanted = [s for s in rows if event in (s.events or [])]
    ids = _enqueue(session, wanted, event, data, event_id)
    if ids:
        _notify_after_commit(session)
    return ids


def _notify_after_commit(session: Session) -> None:
    if not session.info.get("sigma_notify"):
        session.info["sigma_notify"] = True
        sa.event.listen(session, "after_commit", _run_after_commit, once=True)


def _run_after_commit(session: Session) -> None:
    session.info.pop("sigma_notify", None)
    notify()


def ping(session: Session, subscription_id: int, *, api_key_id: int | None = None) -> int:
    """Queue a ``ping`` event to one subscription and return its delivery id."""
    row = _subscription(session, subscription_id, api_key_id)
    ids = _enqueue(session, [row], PING_EVENT, {"subscription_id": row.id}, f"evt_{uuid.uuid4().hex}")
    _notify_after_commit(session)
    return ids[0]


# --- delivery --------------------------------------------------------------------------------------


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): doubling, capped."""
    settings = get_settings()
    return min(settings.webhook_backoff_max_seconds, settings.webhook_backoff_seconds * 2 ** (attempt - 1))


def _claim(limit: int) -> list[tuple[int, str, str, str, dict[str, Any]]]:
    """Lease up to ``limit`` due deliveries (pushing their next attempt out) and return what to send."""
    now = utcnow()
    with session_scope() as session:
        query = (
            sa.select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        claimed = []
        for delivery, subscription in session.execute(query).all():
            delivery.next_attempt_at = now + _LEASE
            claimed.append(
                (delivery.id, subscription.url, subscription.secret, delivery.event_id, delivery.payload)
            )
        return claimed


def _send(
    client: httpx.Client, url: str, secret: str, event_id: str, payload: dict[str, Any]
) -> tuple[int | None, str | None, float]:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sigma-lab-webhooks",
        EVENT_HEADER: str(payload.get("event")),
        EVENT_ID_HEADER: event_id,
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    started = time.perf_counter()
    try:
        check_target(url)
        response = client.post(url, content=body, headers=headers)
    except (httpx.HTTPError, ConfigError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS], (time.perf_counter() - started) * 1000
    latency = (time.perf_counter() - started) * 1000
    if 200 <= response.status_code < 300:
        return response.status_code, None, latency
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}", latency


def _record(delivery_id: int, status_code: int | None, error: str | None, latency_ms: float) -> None:
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None:
            return
        row.attempts += 1
        row.response_status = status_code
        row.latency_ms = latency_ms
        row.last_error = error
        if error is None:
            row.status = "succeeded"
            row.delivered_at = now
            row.next_attempt_at = None
        elif row.attempts >= settings.webhook_max_attempts:
            row.status = "failed"
            row.next_attempt_at = None
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=backoff(row.attempts))


def deliver_due(*, limit: int = 50) -> int:
    """Send every due delivery once (one pass, in this thread); return how many were attempted."""
    claimed = _claim(limit)
    if not claimed:
        return 0
    timeout = get_settings().webhook_timeout_seconds
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for delivery_id, url, secret, event_id, payload in claimed:
            status_code, error, latency = _send(client, url, secret, event_id, payload)
            _record(delivery_id, status_code, error, latency)
    return len(claimed)


class DeliveryWorker(threading.Thread):
    """A daemon thread that sends due deliveries, polling and waking on :func:`notify`."""

    def __init__(self, poll_seconds: float | None = None) -> None:
        super().__init__(name="sigma-webhooks", daemon=True)
        self.poll_seconds = poll_seconds or get_settings().webhook_poll_seconds
        self._stop_event = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to finish its pass and wait for it."""
        self._stop_event.set()
        self._wake.set()
        self.join(timeout)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                while deliver_due() and not self._stop_event.is_set():
                    pass
            except Exception:  # noqa: BLE001 - the worker must survive a database hiccup
                logger.exception("webhook delivery pass failed; retrying after the poll interval")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()


_worker: DeliveryWorker | None = None
_worker_lock = threading.Lock()


def start_worker(poll_seconds: float | None = None) -> DeliveryWorker:
    """Start the process-wide delivery worker (or return the running one)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = DeliveryWorker(poll_seconds)
            _worker.start()
        return _worker


def stop_worker() -> None:
    """Stop the process-wide delivery worker if it runs."""
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.stop()


def notify() -> None:
    """Wake the delivery worker (no-op when none runs in this process)."""
    worker = _worker
    if worker is not None:
        worker.wake()
