"""Fixtures for the API tests: an app on the store under test, keys of each role, a receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from api_helpers import make_client
from fastapi.testclient import TestClient

from sigma_lab import auth, events
from sigma_lab.config import get_settings


@pytest.fixture
def api_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback webhooks allowed, fast retries."""
    monkeypatch.setenv("SIGMA_ALLOW_PRIVATE_WEBHOOKS", "1")
    monkeypatch.setenv("SIGMA_WEBHOOK_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("SIGMA_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("SIGMA_WEBHOOK_POLL_SECONDS", "0.05")
    monkeypatch.setenv("SIGMA_WEBHOOK_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(database_url: str, api_settings: None) -> Iterator[TestClient]:
    """The app on SQLite and on PostgreSQL, with an in-process cache and rate limiter."""
    with make_client() as test_client:
        yield test_client


@dataclass
class Keys:
    admin: dict[str, str]
    researcher: dict[str, str]
    viewer: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def keys(client: TestClient) -> Keys:
    """One key of each role, as ready-made headers."""
    out: dict[str, dict[str, str]] = {}
    ids: dict[str, int] = {}
    for role in auth.ROLES:
        key_id, plaintext = auth.create_key(role, f"test-{role}")
        out[role] = {"Authorization": f"Bearer {plaintext}"}
        ids[role] = key_id
    return Keys(admin=out["admin"], researcher=out["researcher"], viewer=out["viewer"], ids=ids)


@dataclass
class Receiver:
    """A loopback HTTP server recording the webhooks it gets; answers ``status`` (a list is consumed)."""

    url: str
    secret: str
    received: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that verifies signatures of what it receives."""
    state = Receiver(url="", secret="s" * 32)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.statuses.pop(0) if state.statuses else 200
            state.received.append(
                {
                    "body": json.loads(body),
                    "event_id": self.headers[events.EVENT_ID_HEADER],
                    "signature_ok": events.verify_signature(
                        state.secret, self.headers[events.SIGNATURE_HEADER], body
                    ),
                    "status": status,
                }
            )
            self.send_response(status)
            self.end_headers()
            if status < 300:
                state.event.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
