"""The signal routes: run, list, read, summary, performance, scan and option signals, with roles."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from signal_helpers import OPEN_POLICY, make_fast_model

from sigma_lab import auth
from sigma_lab.store import AuditLog, repo, session_scope

sys.path.insert(0, str(Path(__file__).parents[1] / "rest"))
from api_helpers import make_client  # noqa: E402


@pytest.fixture
def api(workspace: Path) -> Iterator[tuple[Any, dict[str, dict[str, str]], str]]:
    """A client on a workspace with the fast model trained, and a viewer and a researcher key."""
    model_id = make_fast_model()
    with session_scope() as session:
        repo.add_policy_version(session, model_id, OPEN_POLICY)
    keys = {}
    for role in ("viewer", "researcher"):
        _, plaintext = auth.create_key(role, f"test-{role}")
        keys[role] = {"Authorization": f"Bearer {plaintext}"}
    with make_client() as client:
        yield client, keys, model_id


def test_signal_routes_run_list_read_summarize_and_report_performance(api: tuple) -> None:
    client, keys, model_id = api
    body = {"model_id": model_id, "asof": "2012-06-01"}
    assert client.post("/signals/run", json=body, headers=keys["viewer"]).status_code == 403
    run = client.post("/signals/run", json=body, headers=keys["researcher"])
    assert run.status_code == 200, run.text
    decision = run.json()[0]
    assert decision["created"] and decision["side"] == "long"
    again = client.post("/signals/run", json=body, headers=keys["researcher"]).json()[0]
    assert not again["created"] and again["id"] == decision["id"]
    listed = client.get("/signals", params={"model_id": model_id}, headers=keys["viewer"]).json()
    assert [s["id"] for s in listed["items"]] == [decision["id"]]
    one = client.get(f"/signals/{decision['id']}", headers=keys["viewer"]).json()
    assert one["stop"] == pytest.approx(decision["stop"]) and one["option_signals"] == []
    assert client.get("/signals/999999", headers=keys["viewer"]).status_code == 404
    client.post("/signals/run", json={**body, "asof": "2012-07-31"}, headers=keys["researcher"])
    summary = client.get("/signals/summary", headers=keys["viewer"]).json()
    assert summary[0]["model_id"] == model_id and summary[0]["signals"] == 2
    perf = client.get(f"/models/{model_id}/performance", headers=keys["viewer"]).json()
    assert perf["closed"] >= 1 and perf["hit_rate"] is not None
    missing = client.get("/models/nosuch_eq_swing_daily/performance", headers=keys["viewer"])
    assert missing.status_code == 404
    assert client.get("/signals").status_code == 401
    with session_scope() as session:
        audited = session.scalars(sa.select(AuditLog).where(AuditLog.route == "/signals/run")).all()
    assert any(str(decision["id"]) in a.target_ids for a in audited)


def test_scan_and_option_signal_routes_answer(api: tuple) -> None:
    client, keys, _ = api
    scanned = client.post(
        "/scan", json={"universe": ["AAPL", "MSFT"], "asof": "2012-06-01", "top_n": 1}, headers=keys["viewer"]
    )
    assert scanned.status_code == 200, scanned.text
    assert {row["ticker"] for row in scanned.json()} == {"AAPL", "MSFT"}
    options = client.get("/option_signals", headers=keys["viewer"])
    assert options.status_code == 200 and options.json() == []
