"""Signals: the policy engine, generation from trained models, brackets and live tracking.

``generate(model_id, asof=...)`` turns a trained model's score of the latest bar into a stored,
policy-checked signal with brackets (delivered by webhook and Redis); ``track()`` follows
signals on later bars; ``performance(session, model_id)`` is a model's live record.
"""

from sigma_lab.signals.blackscholes import bs_delta, bs_greeks, bs_price, implied_vol
from sigma_lab.signals.brackets import Brackets, compute_brackets
from sigma_lab.signals.generate import (
    CHANNEL,
    generate,
    get_signal,
    list_signals,
    model_bars,
    resolve_policy,
    summary,
)
from sigma_lab.signals.options import (
    OptionPlan,
    list_option_signals,
    occ_symbol,
    option_chain,
    option_overlay,
    parse_occ,
    store_option_signal,
)
from sigma_lab.signals.policy import (
    REJECT_REASONS,
    RISK_PROFILES,
    Candidate,
    Policy,
    PolicyState,
    enforce,
    explain_policy,
    parse_policy,
    position_size,
    risk_profile_policy,
)
from sigma_lab.signals.scanner import scan, score_bars
from sigma_lab.signals.tracking import follow, live_drawdown, performance, track

__all__ = [
    "CHANNEL",
    "REJECT_REASONS",
    "RISK_PROFILES",
    "Brackets",
    "Candidate",
    "OptionPlan",
    "Policy",
    "PolicyState",
    "bs_delta",
    "bs_greeks",
    "bs_price",
    "compute_brackets",
    "enforce",
    "explain_policy",
    "follow",
    "generate",
    "get_signal",
    "implied_vol",
    "list_option_signals",
    "list_signals",
    "live_drawdown",
    "model_bars",
    "occ_symbol",
    "option_chain",
    "option_overlay",
    "parse_occ",
    "parse_policy",
    "performance",
    "position_size",
    "resolve_policy",
    "risk_profile_policy",
    "scan",
    "score_bars",
    "store_option_signal",
    "summary",
    "track",
]
