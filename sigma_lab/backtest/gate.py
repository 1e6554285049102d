"""The gate: does a backtest deserve trust under a risk profile?

Thresholds per profile (the original's Sharpe and drawdown limits, plus a trade count):

============  ==========  ============  ==========
profile       min Sharpe  max drawdown  min trades
============  ==========  ============  ==========
conservative  1.0         5 %           30
balanced      0.7         15 %          20
aggressive    0.5         25 %          10
============  ==========  ============  ==========

and in every profile a total return above zero. Failed checks are reported as reasons:
``min_trades_not_met``, ``poor_sharpe``, ``excessive_drawdown``, ``negative_return``; a metric
that is missing or NaN (no trades, too few bars for a standard deviation) gives
``insufficient_data`` instead of its own reason. The drawdown limit compares against
``|max_drawdown|`` (metrics report drawdown as a negative fraction).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from sigma_lab.errors import ConfigError


@dataclass(frozen=True)
class RiskProfile:
    """Gate thresholds of one risk profile."""

    name: str
    min_sharpe: float
    max_drawdown: float
    min_trades: int


PROFILES: dict[str, RiskProfile] = {
    "conservative": RiskProfile("conservative", 1.0, 0.05, 30),
    "balanced": RiskProfile("balanced", 0.7, 0.15, 20),
    "aggressive": RiskProfile("aggressive", 0.5, 0.25, 10),
}


@dataclass(frozen=True)
class GateResult:
    """Whether the metrics passed, and the reasons they did not."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    profile: str = "balanced"


def _value(metrics: Mapping[str, float], key: str) -> float | None:
    value = metrics.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def gate(metrics: Mapping[str, float], risk_profile: str = "balanced") -> GateResult:
    """Check backtest metrics against a risk profile's thresholds."""
    try:
        profile = PROFILES[risk_profile]
    except KeyError:
        raise ConfigError(f"unknown risk_profile {risk_profile!r}; use one of {sorted(PROFILES)}") from None
    reasons: list[str] = []
    missing = False
    trades = _value(metrics, "trades")
    if trades is None:
        missing = True
    elif trades < profile.min_trades:
        reasons.append("min_trades_not_met")
    sharpe = _value(metrics, "sharpe")
    if sharpe is None:
        missing = True
    elif sharpe < profile.min_sharpe:
        reasons.append("poor_sharpe")
    mdd = _value(metrics, "max_drawdown")
    if mdd is None:
        missing = True
    elif abs(mdd) > profile.max_drawdown:
        reasons.append("excessive_drawdown")
    total = _value(metrics, "total_return")
    if total is None:
        missing = True
    elif total <= 0:
        reasons.append("negative_return")
    if missing:
        reasons.append("insufficient_data")
    return GateResult(passed=not reasons, reasons=reasons, profile=profile.name)
