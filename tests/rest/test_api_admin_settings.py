"""Admin feature flags and risk profile overrides over HTTP: roles, audit, effect, cache invalidation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import make_client
from conftest import Keys
from fastapi.testclient import TestClient

from sigma_lab import auth
from sigma_lab.backtest.gate import forget_risk_profiles, gate
from sigma_lab.flags import flag_enabled
from sigma_lab.signals.policy import parse_policy

#: Metrics that pass the shipped balanced gate (min Sharpe 0.7) but not a stricter one.
METRICS = {"trades": 50, "sharpe": 0.9, "max_drawdown": -0.1, "total_return": 0.2}


@pytest.fixture(autouse=True)
def _fresh_risk_profiles() -> Iterator[None]:
    """No cached overrides leak into (or out of) a test."""
    forget_risk_profiles()
    yield
    forget_risk_profiles()


@pytest.fixture
def cached_client(database_url: str, cache_url: str | None, api_settings: None) -> Iterator[TestClient]:
    """The app with its response cache in memory and in real Redis."""
    with make_client(cache_url) as test_client:
        yield test_client


def _admin_headers() -> dict[str, str]:
    _, plaintext = auth.create_key("admin", "settings-admin")
    return {"Authorization": f"Bearer {plaintext}"}


def test_feature_flags_are_set_listed_and_read_by_the_core(client: TestClient, keys: Keys) -> None:
    assert client.get("/admin/flags", headers=keys.admin).json() == []
    assert flag_enabled("new_ranker") is False
    body = {"enabled": True, "description": "rank with the new scorer"}
    answer = client.put("/admin/flags/new_ranker", json=body, headers=keys.admin)
    assert answer.status_code == 200
    assert answer.json()["enabled"] is True and answer.json()["updated_by"] == "test-admin"
    assert flag_enabled("new_ranker") is True
    off = client.put("/admin/flags/new_ranker", json={"enabled": False}, headers=keys.admin).json()
    assert off["enabled"] is False and off["description"] == "rank with the new scorer"
    listed = client.get("/admin/flags", headers=keys.admin).json()
    assert [(f["key"], f["enabled"]) for f in listed] == [("new_ranker", False)]
    assert flag_enabled("new_ranker") is False


def test_feature_flag_routes_need_an_admin_key_and_a_valid_body(client: TestClient, keys: Keys) -> None:
    assert client.get("/admin/flags").status_code == 401
    assert client.put("/admin/flags/x", json={"enabled": True}).status_code == 401
    for role in (keys.viewer, keys.researcher):
        assert client.get("/admin/flags", headers=role).status_code == 403
        assert client.put("/admin/flags/x", json={"enabled": True}, headers=role).status_code == 403
    bad_key = client.put("/admin/flags/Bad Key!", json={"enabled": True}, headers=keys.admin)
    assert bad_key.status_code == 422
    missing = client.put("/admin/flags/x", json={}, headers=keys.admin)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "enabled"]
    extra = client.put("/admin/flags/x", json={"enabled": True, "owner": "me"}, headers=keys.admin)
    assert extra.status_code == 422
    assert client.get("/admin/flags", headers=keys.admin).json() == []


def test_flag_and_risk_profile_changes_are_audited_with_their_ids(client: TestClient, keys: Keys) -> None:
    client.put("/admin/flags/beta", json={"enabled": True}, headers=keys.admin)
    client.put("/admin/risk-profiles/balanced", json={"overrides": {"min_trades": 5}}, headers=keys.admin)
    client.put("/admin/risk-profiles/balanced", json={"overrides": {}}, headers=keys.viewer)
    entries = client.get("/admin/audit", headers=keys.admin).json()["items"]
    assert [(e["route"], e["status_code"]) for e in entries[:3]] == [
        ("/admin/risk-profiles/{name}", 403),
        ("/admin/risk-profiles/{name}", 200),
        ("/admin/flags/{key}", 200),
    ]
    assert (entries[1]["target_type"], entries[1]["target_ids"]) == ("risk_profile", ["balanced"])
    assert (entries[2]["target_type"], entries[2]["target_ids"]) == ("feature_flag", ["beta"])
    assert entries[1]["api_key_id"] == keys.ids["admin"]


def test_risk_profile_overrides_drive_the_gate_and_the_policy_defaults(
    client: TestClient, keys: Keys
) -> None:
    assert gate(METRICS, "balanced").passed
    shipped = parse_policy({"risk_profile": "balanced"})
    assert shipped.risk.risk_per_trade == 0.05
    body = {"overrides": {"min_sharpe": 1.5, "risk_per_trade": 0.01, "min_trades": 10}}
    answer = client.put("/admin/risk-profiles/balanced", json=body, headers=keys.admin)
    assert answer.status_code == 200
    assert answer.json()["profile"]["min_sharpe"] == 1.5 and answer.json()["profile"]["max_drawdown"] == 0.15
    assert answer.json()["overrides"] == {"min_sharpe": 1.5, "risk_per_trade": 0.01, "min_trades": 10}
    verdict = gate(METRICS, "balanced")
    assert not verdict.passed and verdict.reasons == ["poor_sharpe"]
    assert gate(METRICS, "aggressive").passed
    policy = parse_policy({"risk_profile": "balanced"})
    assert policy.risk.risk_per_trade == 0.01 and policy.risk.max_exposure == 0.25
    assert (
        parse_policy({"risk_profile": "balanced", "risk": {"risk_per_trade": 0.03}}).risk.risk_per_trade
        == 0.03
    )
    client.put("/admin/risk-profiles/balanced", json={"overrides": {}}, headers=keys.admin)
    assert gate(METRICS, "balanced").passed
    assert parse_policy({"risk_profile": "balanced"}).risk.risk_per_trade == 0.05


def test_risk_profile_overrides_are_checked_field_by_field(client: TestClient, keys: Keys) -> None:
    put = "/admin/risk-profiles/balanced"
    for overrides, word in (
        ({"min_sharp": 1.0}, "unknown field 'min_sharp'"),
        ({"max_drawdown": 1.5}, "max_drawdown must be within"),
        ({"min_trades": 2.5}, "min_trades must be a whole number"),
    ):
        answer = client.put(put, json={"overrides": overrides}, headers=keys.admin)
        assert answer.status_code == 422 and word in answer.text, answer.text
    assert client.put(put, json={"overrides": {"min_sharpe": "high"}}, headers=keys.admin).status_code == 422
    unknown = client.put("/admin/risk-profiles/reckless", json={"overrides": {}}, headers=keys.admin)
    assert unknown.status_code == 422
    assert client.put(put, json={"overrides": {}}, headers=keys.researcher).status_code == 403
    assert gate(METRICS, "balanced").passed


def test_a_risk_profile_override_invalidates_the_cached_risk_profiles(cached_client: TestClient) -> None:
    headers = _admin_headers()

    def balanced() -> dict[str, Any]:
        answer = cached_client.get("/risk-profiles", headers=headers)
        assert answer.status_code == 200
        return next(p for p in answer.json() if p["name"] == "balanced")

    assert balanced()["min_sharpe"] == 0.7
    assert balanced()["min_sharpe"] == 0.7
    body = {"overrides": {"min_sharpe": 1.25, "min_confidence": 0.8}}
    assert cached_client.put("/admin/risk-profiles/balanced", json=body, headers=headers).status_code == 200
    changed = balanced()
    assert changed["min_sharpe"] == 1.25 and changed["min_confidence"] == 0.8 and changed["min_trades"] == 20
