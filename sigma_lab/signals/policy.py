"""The policy of a model's live signals: a pydantic schema, risk profiles, validate/explain, enforcement.

A policy has four sections (``risk``, ``execution``, ``options``, ``alerting``) plus a name,
a risk profile and the sides it may take. The risk profile fills every number the document
leaves out (the original's three profiles):

============  ==============  ============  ==============  ============
profile       risk per trade  max exposure  min confidence  max drawdown
============  ==============  ============  ==============  ============
conservative  2 %             10 %          70 %            5 %
balanced      5 %             25 %          60 %            15 %
aggressive    10 %            50 %          50 %            25 %
============  ==============  ============  ==============  ============

A pack policy template (flat ``min_confidence``, ``allowed_hours``, ``max_positions``) is a
valid policy document: those keys are shorthands for ``alerting.min_confidence``,
``alerting.allowed_hours`` and ``risk.max_open_positions``.

:func:`enforce` is the policy engine: a candidate either passes every rule or is rejected with
the first failing rule's reason, checked in this order: ``no_side``, ``direction``,
``min_confidence``, ``allowed_hours``, ``momentum``, ``reward_risk``, ``cooldown``,
``daily_cap``, ``max_drawdown``, ``max_open_positions``, ``max_exposure``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sigma_lab.errors import ConfigError

RiskProfileName = Literal["conservative", "balanced", "aggressive"]

#: The numbers each risk profile stands for (fractions).
RISK_PROFILES: dict[str, dict[str, float]] = {
    "conservative": {
        "risk_per_trade": 0.02,
        "max_exposure": 0.10,
        "min_confidence": 0.70,
        "max_drawdown": 0.05,
    },
    "balanced": {"risk_per_trade": 0.05, "max_exposure": 0.25, "min_confidence": 0.60, "max_drawdown": 0.15},
    "aggressive": {
        "risk_per_trade": 0.10,
        "max_exposure": 0.50,
        "min_confidence": 0.50,
        "max_drawdown": 0.25,
    },
}

#: Every reason :func:`enforce` can give, in the order the rules are checked.
REJECT_REASONS: tuple[str, ...] = (
    "no_side",
    "direction",
    "min_confidence",
    "allowed_hours",
    "momentum",
    "reward_risk",
    "cooldown",
    "daily_cap",
    "max_drawdown",
    "max_open_positions",
    "max_exposure",
)

_SHORTHANDS: dict[str, tuple[str, str]] = {
    "min_confidence": ("alerting", "min_confidence"),
    "allowed_hours": ("alerting", "allowed_hours"),
    "max_positions": ("risk", "max_open_positions"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskPolicy(_Strict):
    """How much may be at stake: drawdown halt, total exposure, open positions, risk per trade."""

    max_drawdown: float = Field(gt=0, lt=1, description="Halt new signals past this live drawdown.")
    max_exposure: float = Field(gt=0, le=1, description="Largest summed position size (fraction of equity).")
    max_open_positions: int = Field(default=5, ge=1, le=1000)
    risk_per_trade: float = Field(gt=0, lt=1, description="Equity lost if a trade hits its stop.")


class ExecutionPolicy(_Strict):
    """How a signal is entered, sized and bracketed."""

    slippage_bps: float = Field(default=5.0, ge=0, lt=1000, description="Per fill, against the trader.")
    sizing: Literal["risk", "fixed"] = Field(
        default="risk", description="risk: size = risk_per_trade / stop distance; fixed: `size`."
    )
    size: float = Field(default=0.1, gt=0, le=1, description="Position size when sizing is fixed.")
    momentum_bars: int | None = Field(
        default=None, ge=1, description="Long only after a positive N-bar return, short after a negative one."
    )
    atr_period: int = Field(default=14, ge=1, le=500)
    stop_atr: float = Field(default=1.0, gt=0, le=50, description="Stop distance in ATRs.")
    target_atr: float = Field(default=2.0, gt=0, le=100, description="Target distance in ATRs.")
    time_stop_bars: int | None = Field(default=None, ge=1, description="Default: the model's label horizon.")
    min_reward_risk: float = Field(default=1.0, ge=0, le=100)
    entry: Literal["next_open", "close"] = "next_open"


class OptionsPolicy(_Strict):
    """How an options overlay picks its contract."""

    target_delta: float = Field(default=0.40, gt=0, lt=1)
    days_to_expiry: int = Field(default=0, ge=0, le=730)
    min_open_interest: int = Field(default=0, ge=0)
    min_volume: int = Field(default=0, ge=0)
    spread_width: float = Field(default=5.0, gt=0, description="Strike distance of a vertical's legs.")
    allow_weeklies: bool = True


class AlertingPolicy(_Strict):
    """When a signal may go out: cooldown, daily cap, hours, confidence."""

    cooldown_bars: int = Field(
        default=0, ge=0, description="Bars after a ticker's signal before the next one."
    )
    max_signals_per_day: int = Field(default=10, ge=1, le=10_000)
    allowed_hours: list[int] | None = Field(default=None, description="New York hours (0-23), intraday only.")
    min_confidence: float = Field(ge=0.5, le=1.0)

    @field_validator("allowed_hours")
    @classmethod
    def _hours(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            bad = [h for h in value if not 0 <= h <= 23]
            if bad or not value:
                raise ValueError(f"hours must be New York hours 0-23 (non-empty), got {value}")
        return value


class Policy(_Strict):
    """A model's signal policy; numbers left out come from ``risk_profile``."""

    name: str = Field(default="default", pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    risk_profile: RiskProfileName = "balanced"
    direction: Literal["long", "short", "both"] = "both"
    risk: RiskPolicy
    execution: ExecutionPolicy = Field(default_factory=ExecutionPolicy)
    options: OptionsPolicy = Field(default_factory=OptionsPolicy)
    alerting: AlertingPolicy

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = copy.deepcopy(dict(data))
        for key, (section, name) in _SHORTHANDS.items():
            if key in out:
                value = out.pop(key)
                part = out.setdefault(section, {})
                if isinstance(part, dict):
                    part.setdefault(name, value)
        profile = profile_defaults(str(out.get("risk_profile", "balanced")))
        if profile is not None:
            for section, keys in (
                ("risk", ("risk_per_trade", "max_exposure", "max_drawdown")),
                ("alerting", ("min_confidence",)),
            ):
                part = out.setdefault(section, {})
                if isinstance(part, dict):
                    for key in keys:
                        part.setdefault(key, profile[key])
        return out


def profile_defaults(name: str) -> dict[str, float] | None:
    """The numbers risk profile ``name`` fills in, with an admin's stored overrides; ``None`` if unknown.

    Read through :func:`sigma_lab.backtest.gate.risk_profile`, the one place overrides are merged.
    """
    if name not in RISK_PROFILES:
        return None
    from sigma_lab.backtest.gate import risk_profile

    profile = risk_profile(name)
    return {key: getattr(profile, key) for key in RISK_PROFILES[name]}


def parse_policy(spec: Mapping[str, Any] | Policy | None = None) -> Policy:
    """``spec`` (a policy document, a pack template dump, or ``None`` for the defaults) as a :class:`Policy`.

    Raises :class:`~sigma_lab.modelstore.SpecError` listing every problem.
    """
    if isinstance(spec, Policy):
        return spec
    try:
        return Policy.model_validate(dict(spec or {}))
    except ValidationError as exc:
        from sigma_lab.modelstore import SpecError

        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise SpecError("policy", errors) from None


def policy_warnings(policy: Policy, model: Any | None = None) -> list[str]:
    """Things that are valid but probably not meant, for ``policy`` (and ``model``, a ModelConfig)."""
    ex, risk = policy.execution, policy.risk
    warnings = []
    reward_risk = ex.target_atr / ex.stop_atr
    if reward_risk < ex.min_reward_risk:
        warnings.append(
            f"target_atr / stop_atr = {reward_risk:.2f} is below min_reward_risk {ex.min_reward_risk}: "
            "every signal would be rejected"
        )
    if risk.risk_per_trade > risk.max_exposure:
        warnings.append(
            f"risk_per_trade {risk.risk_per_trade} exceeds max_exposure {risk.max_exposure}: "
            "a stopped-out trade loses more than the whole allowed exposure"
        )
    if model is None:
        return warnings
    if policy.alerting.min_confidence < model.backtest.threshold:
        warnings.append(
            f"min_confidence {policy.alerting.min_confidence} is below the backtest threshold "
            f"{model.backtest.threshold}: live signals would act on scores the backtest never traded"
        )
    if policy.direction != "long" and not model.backtest.allow_short:
        warnings.append(
            f"direction {policy.direction!r} allows shorts but the model's backtest is long-only; "
            "short candidates are rejected"
        )
    if model.cadence == "daily" and policy.alerting.allowed_hours:
        warnings.append("allowed_hours has no effect on a daily model")
    return warnings


def explain_policy(spec: Mapping[str, Any], model: Any | None = None) -> dict[str, Any]:
    """The policy with defaults filled in, plus its validation errors and warnings (for ``model``)."""
    from sigma_lab.modelstore import SpecError

    try:
        policy = parse_policy(spec)
    except SpecError as exc:
        return {"valid": False, "policy": dict(spec), "errors": exc.errors, "warnings": []}
    return {
        "valid": True,
        "policy": policy.model_dump(mode="json"),
        "errors": [],
        "warnings": policy_warnings(policy, model),
    }


def risk_profile_policy(profile: str) -> Policy:
    """The default policy of a risk profile."""
    if profile not in RISK_PROFILES:
        raise ConfigError(f"unknown risk_profile {profile!r}; use one of {sorted(RISK_PROFILES)}")
    return parse_policy({"risk_profile": profile})


# --- enforcement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A model's proposal for one ticker at one bar, with its brackets."""

    ticker: str
    asof: dt.datetime
    side: str
    confidence: float
    entry: float
    stop: float
    target: float
    momentum: float | None = None
    intraday: bool = False

    @property
    def reward_risk(self) -> float:
        """Target distance over stop distance."""
        risk = abs(self.entry - self.stop)
        return abs(self.target - self.entry) / risk if risk > 0 else float("nan")

    @property
    def stop_fraction(self) -> float:
        """The stop distance as a fraction of the entry price."""
        return abs(self.entry - self.stop) / self.entry


@dataclass
class PolicyState:
    """What enforcement needs to know about the model's live book at the candidate's bar.

    ``bars_since_last`` maps a ticker to the bars since its last accepted signal;
    ``open_sizes`` are the sizes of the open (untracked-out) positions; ``signals_today`` counts
    the accepted signals of the candidate's date; ``drawdown`` is the live drawdown (<= 0).
    """

    bars_since_last: dict[str, int] = field(default_factory=dict)
    open_sizes: list[float] = field(default_factory=list)
    signals_today: int = 0
    drawdown: float = 0.0


def position_size(policy: Policy, candidate: Candidate) -> float:
    """The fraction of equity a candidate commits: risk-based (capped at max exposure) or fixed."""
    ex = policy.execution
    if ex.sizing == "fixed":
        return ex.size
    stop = candidate.stop_fraction
    if not stop > 0:
        return policy.risk.max_exposure
    return min(policy.risk.risk_per_trade / stop, policy.risk.max_exposure)


def enforce(
    policy: Policy, candidate: Candidate, state: PolicyState, *, allow_short: bool = True
) -> str | None:
    """``None`` when ``candidate`` passes every rule of ``policy``, else the first failing rule's reason."""
    side = candidate.side
    if side not in ("long", "short"):
        return "no_side"
    if (policy.direction != "both" and side != policy.direction) or (side == "short" and not allow_short):
        return "direction"
    if not candidate.confidence >= policy.alerting.min_confidence:
        return "min_confidence"
    hours = policy.alerting.allowed_hours
    if hours is not None and candidate.intraday:
        ny_hour = candidate.asof.astimezone(dt.UTC).astimezone(_new_york()).hour
        if ny_hour not in hours:
            return "allowed_hours"
    if policy.execution.momentum_bars is not None:
        mom = candidate.momentum
        if mom is None or not (mom > 0 if side == "long" else mom < 0):
            return "momentum"
    if not candidate.reward_risk >= policy.execution.min_reward_risk:
        return "reward_risk"
    since = state.bars_since_last.get(candidate.ticker)
    if since is not None and since <= policy.alerting.cooldown_bars:
        return "cooldown"
    if state.signals_today >= policy.alerting.max_signals_per_day:
        return "daily_cap"
    if -state.drawdown > policy.risk.max_drawdown:
        return "max_drawdown"
    if len(state.open_sizes) >= policy.risk.max_open_positions:
        return "max_open_positions"
    if sum(state.open_sizes) + position_size(policy, candidate) > policy.risk.max_exposure + 1e-12:
        return "max_exposure"
    return None


def _new_york() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")
