"""The policy schema, risk profiles, explain, and every rejection reason of the policy engine."""

from __future__ import annotations

import datetime as dt

import pytest

from sigma_lab.modelstore import SpecError
from sigma_lab.packs import get_model_config
from sigma_lab.signals.policy import (
    REJECT_REASONS,
    Candidate,
    PolicyState,
    enforce,
    explain_policy,
    parse_policy,
    position_size,
    risk_profile_policy,
)

# 15:00 UTC on a June weekday is 11:00 in New York.
ASOF = dt.datetime(2024, 6, 3, 15, 0, tzinfo=dt.UTC)
SHORT = {"side": "short", "stop": 102.0, "target": 96.0, "momentum": -0.01}


def _candidate(**changes: object) -> Candidate:
    base = {
        "ticker": "SPY",
        "asof": ASOF,
        "side": "long",
        "confidence": 0.8,
        "entry": 100.0,
        "stop": 98.0,
        "target": 104.0,
        "momentum": 0.01,
        "intraday": True,
    }
    return Candidate(**{**base, **changes})


def _policy(**sections: dict) -> object:
    spec = {
        "risk_profile": "aggressive",
        "risk": {"max_exposure": 0.5, "max_open_positions": 3},
        "execution": {"sizing": "fixed", "size": 0.1},
        "alerting": {"min_confidence": 0.6},
    }
    for key, value in sections.items():
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_policy(spec)


@pytest.mark.parametrize(
    ("profile", "risk_per_trade", "exposure", "confidence", "drawdown"),
    [
        ("conservative", 0.02, 0.10, 0.70, 0.05),
        ("balanced", 0.05, 0.25, 0.60, 0.15),
        ("aggressive", 0.10, 0.50, 0.50, 0.25),
    ],
)
def test_risk_profiles_carry_the_original_numbers(
    profile: str, risk_per_trade: float, exposure: float, confidence: float, drawdown: float
) -> None:
    policy = risk_profile_policy(profile)
    assert policy.risk.risk_per_trade == risk_per_trade
    assert policy.risk.max_exposure == exposure
    assert policy.alerting.min_confidence == confidence
    assert policy.risk.max_drawdown == drawdown


def test_explicit_values_override_the_profile_and_template_shorthands_map_into_sections() -> None:
    policy = parse_policy(
        {
            "name": "swing",
            "risk_profile": "conservative",
            "min_confidence": 0.55,
            "max_positions": 4,
            "allowed_hours": [10, 11],
            "risk": {"max_exposure": 0.3},
        }
    )
    assert policy.alerting.min_confidence == 0.55
    assert policy.alerting.allowed_hours == [10, 11]
    assert policy.risk.max_open_positions == 4
    assert policy.risk.max_exposure == 0.3
    assert policy.risk.risk_per_trade == 0.02


def test_invalid_policy_lists_every_problem_with_its_location() -> None:
    with pytest.raises(SpecError) as info:
        parse_policy({"risk": {"max_exposure": 2}, "alerting": {"allowed_hours": [25]}, "colour": "red"})
    locations = {tuple(e["loc"]) for e in info.value.errors}
    assert ("risk", "max_exposure") in locations
    assert ("alerting", "allowed_hours") in locations
    assert ("colour",) in locations


def test_explain_fills_defaults_and_warns_about_policies_that_cannot_work() -> None:
    model = get_model_config("aapl_eq_swing_daily")
    explained = explain_policy(
        {"execution": {"stop_atr": 2, "target_atr": 1, "min_reward_risk": 1.5}, "allowed_hours": [10]}, model
    )
    assert explained["valid"] and explained["errors"] == []
    assert explained["policy"]["risk"]["risk_per_trade"] == 0.05
    text = " ".join(explained["warnings"])
    assert "every signal would be rejected" in text
    assert "long-only" in text
    assert "no effect on a daily model" in text
    bad = explain_policy({"alerting": {"min_confidence": 0.2}})
    assert not bad["valid"] and bad["errors"][0]["loc"] == ["alerting", "min_confidence"]


def test_a_candidate_inside_every_limit_passes() -> None:
    assert enforce(_policy(), _candidate(), PolicyState()) is None


@pytest.mark.parametrize(
    ("reason", "policy", "candidate", "state", "allow_short"),
    [
        ("no_side", {}, {"side": "flat"}, {}, True),
        ("direction", {"direction": "long"}, SHORT, {}, True),
        ("direction", {}, SHORT, {}, False),
        ("min_confidence", {}, {"confidence": 0.59}, {}, True),
        ("allowed_hours", {"alerting": {"allowed_hours": [13, 14]}}, {}, {}, True),
        ("momentum", {"execution": {"momentum_bars": 5}}, {"momentum": -0.02}, {}, True),
        ("reward_risk", {"execution": {"min_reward_risk": 2.5}}, {}, {}, True),
        ("cooldown", {"alerting": {"cooldown_bars": 3}}, {}, {"bars_since_last": {"SPY": 3}}, True),
        ("daily_cap", {"alerting": {"max_signals_per_day": 2}}, {}, {"signals_today": 2}, True),
        ("max_drawdown", {}, {}, {"drawdown": -0.26}, True),
        ("max_open_positions", {}, {}, {"open_sizes": [0.1, 0.1, 0.1]}, True),
        ("max_exposure", {}, {}, {"open_sizes": [0.2, 0.25]}, True),
    ],
)
def test_each_rule_rejects_with_its_reason(
    reason: str, policy: dict, candidate: dict, state: dict, allow_short: bool
) -> None:
    pol = _policy(**policy)
    assert enforce(pol, _candidate(**candidate), PolicyState(**state), allow_short=allow_short) == reason
    assert reason in REJECT_REASONS


def test_limits_are_inclusive_where_the_policy_says_at_most() -> None:
    pol = _policy(alerting={"cooldown_bars": 3, "max_signals_per_day": 2})
    assert enforce(pol, _candidate(), PolicyState(bars_since_last={"SPY": 4}, signals_today=1)) is None
    assert enforce(pol, _candidate(), PolicyState(open_sizes=[0.2, 0.2])) is None
    assert enforce(pol, _candidate(), PolicyState(drawdown=-0.25)) is None
    daily = _policy(alerting={"allowed_hours": [13]})
    assert enforce(daily, _candidate(intraday=False), PolicyState()) is None


def test_risk_sizing_divides_risk_per_trade_by_the_stop_distance_capped_at_max_exposure() -> None:
    pol = parse_policy({"risk_profile": "balanced", "risk": {"max_exposure": 0.25}})
    assert position_size(pol, _candidate(stop=80.0)) == pytest.approx(0.05 / 0.2)
    assert position_size(pol, _candidate(stop=90.0)) == pytest.approx(0.25)
    assert position_size(_policy(), _candidate()) == 0.1
