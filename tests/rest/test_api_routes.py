"""Every route's happy path, auth and role failures, bad input, and the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

Keys = Any

MODEL = {"pack": "swingsigma", "ticker": "MSFT", "horizon": "swing", "cadence": "daily", "variant": "api"}
MODEL_ID = "msft_eq_swing_daily_api"


def test_health_needs_no_key_and_ready_checks_store(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["store"] == "ok"


def test_missing_or_invalid_key_is_401_and_low_role_is_403(client: TestClient, keys: Keys) -> None:
    assert client.get("/packs").status_code == 401
    assert client.get("/packs", headers={"Authorization": "Bearer sk_00000000_nope"}).status_code == 401
    assert client.get("/packs", headers={"X-API-Key": "garbage"}).status_code == 401
    assert client.post("/models", json=MODEL, headers=keys.viewer).status_code == 403
    assert client.get("/admin/keys", headers=keys.researcher).status_code == 403
    assert client.get("/admin/audit", headers=keys.viewer).status_code == 403


def test_reference_routes_serve_packs_sets_configs_templates_and_catalogue(
    client: TestClient, keys: Keys
) -> None:
    h = keys.viewer
    names = [p["name"] for p in client.get("/packs", headers=h).json()]
    assert "swingsigma" in names
    pack = client.get("/packs/swingsigma", headers=h).json()
    assert "breakout" in pack["indicator_sets"]
    assert client.get("/packs/swingsigma/indicator-sets", headers=h).status_code == 200
    iset = client.get("/packs/swingsigma/indicator-sets/breakout", headers=h).json()
    assert iset["columns"] and iset["warmup"] > 0
    assert client.get("/packs/swingsigma/model-configs", headers=h).status_code == 200
    cfg = client.get("/packs/swingsigma/model-configs/aapl_eq_swing_daily", headers=h).json()
    assert cfg["ticker"] == "AAPL"
    assert client.get("/packs/swingsigma/policy-templates", headers=h).status_code == 200
    assert (
        client.get("/packs/swingsigma/policy-templates/swing_default", headers=h).json()["name"]
        == "swing_default"
    )
    catalogue = client.get("/indicators", headers=h).json()
    assert any(row["name"] == "rsi" for row in catalogue)
    assert {p["name"] for p in client.get("/risk-profiles", headers=h).json()} >= {"balanced"}
    assert client.get("/packs/nosuchpack", headers=h).status_code == 404
    assert client.get("/packs/swingsigma/indicator-sets/nosuch", headers=h).status_code == 404


def test_model_create_get_list_patch_and_indicator_set(client: TestClient, keys: Keys) -> None:
    created = client.post("/models", json=MODEL, headers=keys.researcher)
    assert created.status_code == 201, created.text
    assert created.json()["model_id"] == MODEL_ID
    assert client.post("/models", json=MODEL, headers=keys.researcher).status_code == 422
    got = client.get(f"/models/{MODEL_ID}", headers=keys.viewer).json()
    assert got["source"] == "store" and got["spec"]["data"]["timeframe"] == "1d"
    listed = client.get("/models", headers=keys.viewer).json()
    assert [m["model_id"] for m in listed["items"]] == [MODEL_ID]
    patched = client.patch(
        f"/models/{MODEL_ID}", json={"backtest": {"threshold": 0.7}}, headers=keys.researcher
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["backtest"]["threshold"] == 0.7
    assert patched.json()["spec"]["backtest"]["fill"] == "next_open"
    iset = client.get(f"/models/{MODEL_ID}/indicator-set", headers=keys.viewer).json()
    assert iset["name"] == got["indicator_set"]
    assert client.get("/models/aapl_eq_swing_daily", headers=keys.viewer).json()["source"] == "pack"
    assert client.get("/models/zzz_eq_swing_daily", headers=keys.viewer).status_code == 404


def test_bad_patch_is_422_with_field_path_and_writes_nothing(client: TestClient, keys: Keys) -> None:
    before = client.post("/models", json=MODEL, headers=keys.researcher).json()["spec"]
    bad = client.patch(f"/models/{MODEL_ID}", json={"backtest": {"threshold": 7}}, headers=keys.researcher)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "backtest", "threshold"]
    frozen = client.patch(f"/models/{MODEL_ID}", json={"ticker": "AAPL"}, headers=keys.researcher)
    assert frozen.status_code == 422 and frozen.json()["detail"][0]["loc"] == ["body", "ticker"]
    assert client.get(f"/models/{MODEL_ID}", headers=keys.viewer).json()["spec"] == before


def test_bad_create_body_names_the_field(client: TestClient, keys: Keys) -> None:
    response = client.post("/models", json={**MODEL, "horizon": "weekly"}, headers=keys.researcher)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "horizon"]
    unknown_pack = client.post("/models", json={**MODEL, "pack": "nosuch"}, headers=keys.researcher)
    assert unknown_pack.status_code == 404


def test_policy_versions_and_explain(client: TestClient, keys: Keys) -> None:
    client.post("/models", json=MODEL, headers=keys.researcher)
    template = client.get(f"/models/{MODEL_ID}/policy", headers=keys.viewer).json()
    assert template["version"] == 0 and template["source"] == "template"
    bodies = (
        {"name": "mine", "min_confidence": 0.6},
        {
            "name": "mine",
            "risk_profile": "conservative",
            "alerting": {"min_confidence": 0.7, "cooldown_bars": 3},
            "execution": {"stop_atr": 1.5, "target_atr": 3.0},
            "options": {"target_delta": 0.3},
        },
    )
    for body in bodies:
        put = client.put(f"/models/{MODEL_ID}/policy", json=body, headers=keys.researcher)
        assert put.status_code == 201, put.text
    latest = client.get(f"/models/{MODEL_ID}/policy", headers=keys.viewer).json()
    assert latest["version"] == 2 and latest["risk_profile"] == "conservative"
    assert latest["spec"]["risk"]["risk_per_trade"] == 0.02 and latest["spec"]["execution"]["stop_atr"] == 1.5
    assert (
        latest["spec"]["options"]["target_delta"] == 0.3 and latest["spec"]["alerting"]["cooldown_bars"] == 3
    )
    first = client.get(f"/models/{MODEL_ID}/policy", params={"version": 1}, headers=keys.viewer).json()
    assert first["spec"]["alerting"]["min_confidence"] == 0.6
    explained = client.get(
        f"/models/{MODEL_ID}/policy/explain", params={"version": 1}, headers=keys.viewer
    ).json()
    assert explained["valid"] and explained["policy"]["direction"] == "both"
    bad = client.put(
        f"/models/{MODEL_ID}/policy",
        json={"name": "x", "alerting": {"min_confidence": 2}},
        headers=keys.researcher,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "alerting", "min_confidence"]
    assert client.get(f"/models/{MODEL_ID}/policy", headers=keys.viewer).json()["version"] == 2


def test_admin_creates_lists_updates_and_revokes_keys(client: TestClient, keys: Keys) -> None:
    made = client.post("/admin/keys", json={"name": "ci", "role": "viewer"}, headers=keys.admin)
    assert made.status_code == 201
    body = made.json()
    new = {"X-API-Key": body["key"]}
    assert client.get("/packs", headers=new).status_code == 200
    assert all(
        "key" not in k and "key_hash" not in k for k in client.get("/admin/keys", headers=keys.admin).json()
    )
    promoted = client.patch(f"/admin/keys/{body['id']}", json={"role": "researcher"}, headers=keys.admin)
    assert promoted.json()["role"] == "researcher"
    assert client.get(f"/admin/keys/{body['id']}", headers=keys.admin).json()["role"] == "researcher"
    assert client.delete(f"/admin/keys/{body['id']}", headers=keys.admin).json()["active"] is False
    assert client.get("/packs", headers=new).status_code == 401
    assert client.get("/admin/keys/99999", headers=keys.admin).status_code == 404


def test_every_mutating_request_is_audited_with_key_route_status_and_ids(
    client: TestClient, keys: Keys
) -> None:
    client.post("/models", json=MODEL, headers=keys.researcher)
    client.post("/models", json=MODEL, headers=keys.viewer)
    client.post("/models", json=MODEL)
    entries = client.get("/admin/audit", headers=keys.admin).json()["items"]
    assert [(e["route"], e["status_code"]) for e in entries[:3]] == [
        ("/models", 401),
        ("/models", 403),
        ("/models", 201),
    ]
    created = entries[2]
    assert created["api_key_id"] == keys.ids["researcher"]
    assert created["target_type"] == "model" and created["target_ids"] == [MODEL_ID]
    assert entries[1]["api_key_id"] == keys.ids["viewer"]


def test_runs_and_jobs_lists_are_paged_and_unknown_ids_404(client: TestClient, keys: Keys) -> None:
    h = keys.viewer
    for path in ("/runs/builds", "/runs/trainings", "/runs/backtests", "/jobs"):
        assert client.get(path, headers=h).json() == {"items": [], "next_before": None}
    for path in (
        "/runs/builds/1",
        "/runs/trainings/1",
        "/runs/backtests/1",
        "/runs/backtests/1/trades",
        "/runs/backtests/1/equity",
        "/jobs/1",
        f"/models/{MODEL_ID}/card",
    ):
        assert client.get(path, headers=h).status_code == 404, path
    assert client.get("/jobs", params={"limit": 100_000}, headers=h).status_code == 422
    assert client.get("/runs/backtests", params={"limit": 501}, headers=h).json()["detail"][0]["loc"] == [
        "query",
        "limit",
    ]


def test_body_over_the_limit_is_413(client: TestClient, keys: Keys) -> None:
    huge = {"name": "x" * 2_000_000}
    assert client.post("/admin/keys", json=huge, headers=keys.admin).status_code == 413


def test_backtest_run_with_folds_trades_and_equity(client: TestClient, keys: Keys) -> None:
    import datetime as dt

    from sigma_lab.store import repo, session_scope

    t0 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    trades = [
        {
            "side": "long",
            "entry_time": t0 + dt.timedelta(days=i),
            "exit_time": t0 + dt.timedelta(days=i + 1),
            "entry_price": 100.0,
            "exit_price": 101.0,
            "size": 1.0,
            "return": r,
        }
        for i, r in enumerate([0.1, -0.5, 0.2])
    ]
    with session_scope() as session:
        run_id = repo.record_backtest_run(
            session, {"model_id": "m", "metrics": {"sharpe": 1.2}}, [{"metrics": {"sharpe": 1.0}}], trades
        )
    run = client.get(f"/runs/backtests/{run_id}", headers=keys.viewer).json()
    assert run["sharpe"] == 1.2 and len(run["folds"]) == 1
    page = client.get(f"/runs/backtests/{run_id}/trades", params={"limit": 2}, headers=keys.viewer).json()
    assert len(page["items"]) == 2
    rest = client.get(
        f"/runs/backtests/{run_id}/trades", params={"after": page["next_before"]}, headers=keys.viewer
    ).json()
    assert len(rest["items"]) == 1
    equity = client.get(f"/runs/backtests/{run_id}/equity", headers=keys.viewer).json()["points"]
    assert [round(p["equity"], 6) for p in equity] == [1.1, 0.55, 0.66]
    assert round(equity[1]["drawdown"], 6) == -0.5
