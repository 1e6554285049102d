"""Helpers the signal tests import by name (a module name no other test folder uses)."""

from __future__ import annotations

FAST_MODEL = "aapl_eq_swing_daily_fast"
#: A permissive policy: every rule passes unless a test tightens it.
OPEN_POLICY = {
    "name": "open",
    "risk_profile": "aggressive",
    "risk": {"max_exposure": 1.0, "max_open_positions": 1000, "max_drawdown": 0.99},
    "execution": {"sizing": "fixed", "size": 0.01, "slippage_bps": 10.0},
    "alerting": {"min_confidence": 0.5, "max_signals_per_day": 1000},
}


def make_fast_model() -> str:
    """Store an AAPL daily model on 10-day direction classes with fast settings, and train it."""
    from sigma_lab import modelstore
    from sigma_lab.store import session_scope
    from sigma_lab.train import train

    with session_scope() as session:
        modelstore.create_model(
            session,
            pack="swingsigma",
            ticker="AAPL",
            asset_type="equity",
            horizon="swing",
            cadence="daily",
            variant="fast",
            template="aapl_eq_swing_daily_momentum",
        )
        modelstore.patch_model(
            session,
            FAST_MODEL,
            {
                "data": {"start": "2009-01-01", "end": "2012-12-31"},
                "train": {
                    "estimator": {"params": {"max_iter": 30}},
                    "validation": {"n_splits": 2, "min_train": 0.5, "embargo": 0},
                    "calibration": {"method": None},
                },
                "backtest": {"threshold": 0.40},
            },
        )
    train(FAST_MODEL)
    return FAST_MODEL
