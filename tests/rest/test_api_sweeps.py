"""Sweeps and the leaderboard over HTTP: jobs, validation, quotas, cursor pages, caching."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import make_client
from fastapi.testclient import TestClient

from sigma_lab import auth
from sigma_lab.store import Job, repo, session_scope

GRID = {"fast": [5, 10], "slow": [20, 40]}


def _key(role: str = "researcher", **quotas: int) -> dict[str, str]:
    _, plaintext = auth.create_key(role, f"sweeps-{role}", quotas or None)
    return {"X-API-Key": plaintext}


@pytest.fixture
def cache_client(database_url: str, cache_url: str | None, api_settings: None) -> Any:
    """The app with its response cache in memory and in real Redis."""
    with make_client(cache_url) as test_client:
        yield test_client


def _seed_sweep(n: int, *, tag: str = "seeded", pack: str | None = "swingsigma") -> int:
    """A finished sweep with ``n`` results whose Sharpe ratios tie in threes and include NULLs."""
    with session_scope() as session:
        sweep_id = repo.create_sweep(
            session,
            {
                "strategy": "sma_cross",
                "tag": tag,
                "pack": pack,
                "risk_profile": "balanced",
                "status": "succeeded",
            },
        )
        rows = [
            {
                "config_index": i,
                "params": {"fast": i},
                "metrics": {"sharpe": None if i % 7 == 0 else float(i // 3), "total_return": i / 100},
                "gate_pass": i % 2 == 0,
            }
            for i in range(n)
        ]
        repo.bulk_insert_sweep_results(session, sweep_id, rows)
    return sweep_id


def _backtest(session: Any, sharpe: float, **fields: Any) -> int:
    return repo.record_backtest_run(
        session, {"strategy": "sma_cross", "metrics": {"sharpe": sharpe}, **fields}
    )


def test_sweep_submitted_over_http_completes_and_fires_sweep_completed(
    client: TestClient, receiver: Any
) -> None:
    headers = _key()
    made = client.post(
        "/webhooks",
        json={"url": receiver.url, "events": ["sweep.completed"], "secret": receiver.secret},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    body = {
        "grid": GRID,
        "keep": 2,
        "tag": "http",
        "execution": {"fees_bps": 1},
        "risk_profile": "aggressive",
    }
    submitted = client.post("/sweeps", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.json()["target"] == "sweep"
    assert receiver.event.wait(180), client.get(f"/jobs/{job_id}", headers=headers).json()
    (got,) = receiver.received
    assert got["signature_ok"] and got["body"]["event"] == "sweep.completed"
    (sweep,) = client.get("/sweeps", params={"tag": "http"}, headers=headers).json()["items"]
    assert got["body"]["data"]["job_id"] == job_id and got["body"]["data"]["run_ids"] == [sweep["id"]]
    one = client.get(f"/sweeps/{sweep['id']}", headers=headers).json()
    assert one["status"] == "succeeded" and one["job_id"] == job_id and one["n_configs"] == 4
    results = client.get(f"/sweeps/{sweep['id']}/results", params={"sort": "sharpe"}, headers=headers).json()
    sharpes = [r["sharpe"] for r in results["items"]]
    assert len(sharpes) == 4 and sharpes == sorted(sharpes, reverse=True)
    assert sum(r["backtest_run_id"] is not None for r in results["items"]) == 2
    job = client.get(f"/jobs/{job_id}", headers=headers).json()
    assert (
        job["status"] == "succeeded"
        and job["result"]["value"]["best_params"] == results["items"][0]["params"]
    )


def test_sweep_and_leaderboard_routes_need_a_key_and_the_right_role(client: TestClient) -> None:
    assert client.get("/leaderboard").status_code == 401
    assert client.get("/sweeps").status_code == 401
    assert client.post("/sweeps", json={"grid": GRID}).status_code == 401
    viewer = _key("viewer")
    assert client.post("/sweeps", json={"grid": GRID}, headers=viewer).status_code == 403
    assert client.get("/leaderboard", headers=viewer).status_code == 200
    assert client.get("/sweeps", headers=viewer).status_code == 200
    assert client.get("/sweeps/999999", headers=viewer).status_code == 404
    assert client.get("/sweeps/999999/results", headers=viewer).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            {"grid": {"fast": [5], "slowest": [20]}},
            ["body", "grid", "slowest"],
            "unknown sweep parameter 'slowest'",
        ),
        ({"grid": {"fast": [5, 0]}}, ["body", "grid", "fast", 1], "fast=0 is below its minimum"),
        ({"grid": GRID, "strategy": "sma_crosss"}, ["body", "strategy"], "unknown strategy 'sma_crosss'"),
        (
            {"grid": GRID, "execution": {"feez": 1}},
            ["body", "execution", "feez"],
            "unknown execution setting",
        ),
        (
            {"grid": {"fast": list(range(1, 40)), "slow": list(range(41, 90))}, "max_configs": 10},
            ["body", "grid"],
            "budget",
        ),
        ({"grid": {}}, ["body", "grid"], "at least 1"),
        ({"grid": GRID, "keep": 0}, ["body", "keep"], "greater than or equal to 1"),
        ({"grid": GRID, "colour": "red"}, ["body", "colour"], "Extra inputs"),
    ],
)
def test_bad_sweep_request_is_422_naming_the_field(
    client: TestClient, body: dict, loc: list, message: str
) -> None:
    answer = client.post("/sweeps", json=body, headers=_key())
    assert answer.status_code == 422, answer.text
    (error,) = [e for e in answer.json()["detail"] if e["loc"] == loc]
    assert message in error["msg"]
    with session_scope() as session:
        assert session.query(Job).count() == 0


def test_sweeps_per_day_quota_refuses_the_next_sweep_with_429(client: TestClient) -> None:
    key_id, plaintext = auth.create_key(
        "researcher", "one-a-day", {"sweeps_per_day": 1, "concurrent_jobs": 5}
    )
    with session_scope() as session:
        session.add(Job(kind="function", target="sweep", status="succeeded", api_key_id=key_id))
    refused = client.post("/sweeps", json={"grid": GRID}, headers={"X-API-Key": plaintext})
    assert refused.status_code == 429, refused.text
    assert "sweep" in refused.json()["detail"] and int(refused.headers["Retry-After"]) > 0


def test_leaderboard_cursor_pages_cover_every_row_once_in_a_stable_order(client: TestClient) -> None:
    sweep_id = _seed_sweep(40)
    headers = _key("viewer")
    whole = client.get(f"/sweeps/{sweep_id}/results", params={"limit": 100}, headers=headers).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 40
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/sweeps/{sweep_id}/results", params=params, headers=headers).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in whole["items"]]
    values = [r["sharpe"] for r in whole["items"]]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True) and values[len(known) :] == [None] * (40 - len(known))
    ties = [r["id"] for r in whole["items"] if r["sharpe"] == 12.0]
    assert ties == sorted(ties)
    ascending = client.get(
        f"/sweeps/{sweep_id}/results",
        params={"sort": "total_return", "ascending": True, "limit": 3},
        headers=headers,
    ).json()
    assert [r["total_return"] for r in ascending["items"]] == [0.0, 0.01, 0.02]


def test_leaderboard_filters_by_pack_model_tag_risk_profile_and_gate(client: TestClient) -> None:
    with session_scope() as session:
        best = _backtest(
            session, 2.0, pack="p1", model_id="m1", tag="a", risk_profile="balanced", gate_pass=True
        )
        _backtest(session, 3.0, pack="p2", model_id="m2", tag="b", risk_profile="aggressive", gate_pass=False)
        _backtest(session, 1.0, pack="p1", model_id="m1", tag="a", risk_profile="balanced", gate_pass=False)
    headers = _key("viewer")

    def ids(**params: Any) -> list[int]:
        answer = client.get("/leaderboard", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["items"]]

    everything = ids()
    assert len(everything) == 3 and everything[1] == best
    assert ids(pack="p1", gate_pass=True) == [best]
    assert ids(model_id="m1", tag="a", risk_profile="balanced")[0] == best
    assert ids(risk_profile="aggressive", gate_pass=True) == []
    row = client.get("/leaderboard", params={"pack": "p1", "limit": 1}, headers=headers).json()["items"][0]
    assert {"lineage", "params", "deflated_sharpe", "gate_pass", "package_version"} <= set(row)
    assert client.get("/leaderboard", params={"risk_profile": "reckless"}, headers=headers).status_code == 422
    assert client.get("/leaderboard", params={"cursor": "not-a-cursor"}, headers=headers).status_code == 422
    assert client.get("/leaderboard", params={"limit": 100_000}, headers=headers).status_code == 422
    swept = _seed_sweep(5, tag="filtered", pack="p3")
    rows = client.get("/leaderboard", params={"source": "sweeps", "pack": "p3"}, headers=headers).json()[
        "items"
    ]
    assert {r["sweep_id"] for r in rows} == {swept} and len(rows) == 5


def test_leaderboard_is_cached_until_a_run_or_sweep_is_recorded_outside_the_api(
    cache_client: TestClient,
) -> None:
    headers = _key("viewer")
    with session_scope() as session:
        _backtest(session, 1.0)
    first = cache_client.get("/leaderboard", headers=headers)
    assert first.headers["X-Cache"] == "miss"
    again = cache_client.get("/leaderboard", headers=headers)
    assert again.headers["X-Cache"] == "hit" and again.json() == first.json()
    with session_scope() as session:
        newest = _backtest(session, 5.0)
    fresh = cache_client.get("/leaderboard", headers=headers)
    assert fresh.headers["X-Cache"] == "miss" and fresh.json()["items"][0]["id"] == newest
    sweeps = cache_client.get("/leaderboard", params={"source": "sweeps"}, headers=headers)
    assert sweeps.json()["items"] == []
    _seed_sweep(3)
    assert (
        len(cache_client.get("/leaderboard", params={"source": "sweeps"}, headers=headers).json()["items"])
        == 3
    )
