"""Risk profile overrides and feature flags in the store; the gate without a store."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sigma_lab.backtest.gate import (
    PROFILES,
    forget_risk_profiles,
    gate,
    risk_profile,
    risk_profiles,
    save_risk_profile_overrides,
)
from sigma_lab.errors import ConfigError
from sigma_lab.flags import flag_enabled, list_flags, set_flag
from sigma_lab.signals.policy import RISK_PROFILES
from sigma_lab.store import session_scope, upgrade
from sigma_lab.store.models import RiskProfileOverride

#: The gate module itself (``sigma_lab.backtest.gate`` the attribute is the function).
gate_module = importlib.import_module("sigma_lab.backtest.gate")

METRICS = {"trades": 25, "sharpe": 0.8, "max_drawdown": -0.1, "total_return": 0.2}


@pytest.fixture(autouse=True)
def _fresh_risk_profiles() -> Iterator[None]:
    forget_risk_profiles()
    yield
    forget_risk_profiles()


def test_gate_works_without_creating_the_embedded_store(workspace: Path) -> None:
    assert gate(METRICS, "balanced").passed
    assert not gate(METRICS, "conservative").passed
    assert risk_profiles() == PROFILES
    assert not (workspace / "sigma.db").exists()
    with pytest.raises(ConfigError, match="unknown risk_profile 'reckless'"):
        gate(METRICS, "reckless")


def test_shipped_profiles_carry_the_policy_defaults_of_the_signals_policy() -> None:
    for name, numbers in RISK_PROFILES.items():
        assert {key: getattr(PROFILES[name], key) for key in numbers} == numbers


def test_stored_overrides_apply_after_commit_and_other_processes_see_them_on_refresh(
    database_url: str,
) -> None:
    upgrade(database_url)
    assert risk_profile("balanced").min_trades == 20
    with session_scope() as session:
        out = save_risk_profile_overrides(session, "balanced", {"min_trades": 30}, updated_by="ops")
        assert out["profile"]["min_trades"] == 30 and out["overrides"] == {"min_trades": 30}
    assert not gate(METRICS, "balanced").passed
    assert gate(METRICS, PROFILES["balanced"]).passed
    with session_scope() as session:
        session.execute(sa.update(RiskProfileOverride).values(overrides={"min_trades": 10}))
    assert risk_profile("balanced").min_trades == 30
    assert risk_profiles(refresh=True)["balanced"].min_trades == 10
    with session_scope() as session:
        assert session.get(RiskProfileOverride, "balanced").updated_by == "ops"


def test_overrides_read_once_per_ttl_not_once_per_gate_call(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(database_url)
    reads = []
    real = gate_module._read_overrides
    monkeypatch.setattr(gate_module, "_read_overrides", lambda url: reads.append(url) or real(url))
    for _ in range(1000):
        gate(METRICS, "balanced")
    assert len(reads) == 1
    monkeypatch.setattr(gate_module, "OVERRIDES_TTL", 0.0)
    gate(METRICS, "balanced")
    assert len(reads) == 2


def test_an_uncommitted_override_changes_nothing(database_url: str) -> None:
    upgrade(database_url)
    with pytest.raises(RuntimeError), session_scope() as session:
        save_risk_profile_overrides(session, "aggressive", {"min_sharpe": 3.0})
        raise RuntimeError("abort")
    assert risk_profiles(refresh=True)["aggressive"] == PROFILES["aggressive"]


def test_feature_flags_round_trip_and_reject_bad_keys(database_url: str) -> None:
    upgrade(database_url)
    assert flag_enabled("fast_path") is False
    with session_scope() as session:
        set_flag(session, "fast_path", True, description="skip the slow path", updated_by="ops")
    assert flag_enabled("fast_path") is True
    with session_scope() as session:
        set_flag(session, "fast_path", False)
        flags = list_flags(session)
    assert [(f["key"], f["enabled"], f["description"]) for f in flags] == [
        ("fast_path", False, "skip the slow path")
    ]
    with pytest.raises(ConfigError, match="invalid feature flag key"), session_scope() as session:
        set_flag(session, "Fast Path", True)
