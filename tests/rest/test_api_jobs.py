"""A job submitted over HTTP runs to completion and is readable, owned by its key."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from sigma_lab import auth


def test_backtest_job_submitted_over_http_completes(client: TestClient) -> None:
    _, plaintext = auth.create_key("researcher", "jobs")
    headers = {"X-API-Key": plaintext}
    body = {
        "symbol": "SPY",
        "timeframe": "1h",
        "strategy": "sma_cross",
        "strategy_params": {"fast": 5, "slow": 20},
    }
    submitted = client.post("/backtests", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    job: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    assert [j["id"] for j in client.get("/jobs", headers=headers).json()["items"]] == [job_id]
    other = {"X-API-Key": auth.create_key("researcher", "other")[1]}
    assert client.get(f"/jobs/{job_id}", headers=other).status_code == 404
    runs = client.get("/runs/backtests", headers=headers).json()["items"]
    assert runs and runs[0]["job_id"] == job_id


def test_a_job_submitted_over_http_fires_its_webhook_to_a_loopback_receiver(
    client: TestClient, receiver: Any
) -> None:
    _, plaintext = auth.create_key("researcher", "hooks")
    headers = {"X-API-Key": plaintext}
    made = client.post(
        "/webhooks",
        json={"url": receiver.url, "events": ["backtest.completed", "job.failed"], "secret": receiver.secret},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    body = {"symbol": "SPY", "timeframe": "1h", "strategy_params": {"fast": 5, "slow": 30}}
    submitted = client.post("/backtests", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert receiver.event.wait(120), client.get(f"/jobs/{job_id}", headers=headers).json()
    (got,) = receiver.received
    assert got["signature_ok"] and got["status"] == 200
    assert got["body"]["event"] == "backtest.completed" and got["event_id"] == got["body"]["id"]
    data = got["body"]["data"]
    runs = client.get("/runs/backtests", headers=headers).json()["items"]
    assert data["job_id"] == job_id and data["run_ids"] == [runs[0]["id"]]
    assert data["runs"][0]["sharpe"] == runs[0]["sharpe"]
    assert client.get(f"/jobs/{job_id}", headers=headers).json()["status"] == "succeeded"
