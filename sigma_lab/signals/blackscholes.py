"""Black-Scholes prices, greeks and implied volatility for European options without dividends.

A thin layer over ``vollib`` (Peter Jaeckel's *Let's Be Rational* for the implied volatility,
which is exact to machine precision even for hours-to-expiry options, and the analytical
greeks). Conventions: ``right`` is ``"C"``/``"P"`` (``"call"``/``"put"`` accepted), ``t`` is the
time to expiry in years (see :func:`year_fraction`), ``r`` the continuously compounded rate,
``sigma`` the annual volatility. Greeks are in vollib's units: delta per 1.00 of underlying,
gamma per 1.00, vega per one volatility point (0.01), theta per calendar day.

:func:`implied_vol` returns NaN, never raises, when no volatility reproduces the price: a price
at or below the intrinsic value (no time value left) or at or above the no-arbitrage maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from py_lets_be_rational.exceptions import VolatilityValueException
from vollib.black_scholes import black_scholes as _vollib_price
from vollib.black_scholes.greeks import analytical as _greeks
from vollib.black_scholes.implied_volatility import implied_volatility as _vollib_iv

from sigma_lab.errors import ConfigError

#: Seconds in the ACT/365 year used for time to expiry.
YEAR_SECONDS = 365.0 * 24.0 * 3600.0
_RIGHTS = {"c": "c", "call": "c", "p": "p", "put": "p"}


def _flag(right: str) -> str:
    flag = _RIGHTS.get(str(right).strip().lower())
    if flag is None:
        raise ConfigError(f"option right must be 'C' or 'P' (or call/put), got {right!r}")
    return flag


def _check(s: float, k: float, t: float, sigma: float | None = None) -> None:
    if not (s > 0 and k > 0):
        raise ConfigError(f"underlying price and strike must be > 0, got S={s}, K={k}")
    if not t > 0:
        raise ConfigError(f"time to expiry must be > 0 years, got t={t}")
    if sigma is not None and not sigma > 0:
        raise ConfigError(f"volatility must be > 0, got sigma={sigma}")


def year_fraction(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Years from ``start`` to ``end`` on an ACT/365 calendar-time basis (hours count for 0DTE)."""
    return (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / YEAR_SECONDS


def bs_price(right: str, s: float, k: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes price of a European call or put."""
    _check(s, k, t, sigma)
    return float(_vollib_price(_flag(right), float(s), float(k), float(t), float(r), float(sigma)))


def bs_greeks(right: str, s: float, k: float, t: float, r: float, sigma: float) -> dict[str, float]:
    """Delta, gamma, vega (per vol point), theta (per day) and rho (per rate point)."""
    _check(s, k, t, sigma)
    args = (_flag(right), float(s), float(k), float(t), float(r), float(sigma))
    return {
        "delta": float(_greeks.delta(*args)),
        "gamma": float(_greeks.gamma(*args)),
        "vega": float(_greeks.vega(*args)),
        "theta": float(_greeks.theta(*args)),
        "rho": float(_greeks.rho(*args)),
    }


def bs_delta(right: str, s: float, k: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes delta: N(d1) for a call, N(d1) - 1 for a put."""
    _check(s, k, t, sigma)
    return float(_greeks.delta(_flag(right), float(s), float(k), float(t), float(r), float(sigma)))


def implied_vol(price: float, s: float, k: float, t: float, r: float, right: str) -> float:
    """The volatility whose Black-Scholes price is ``price``; NaN when none exists (see module doc)."""
    _check(s, k, t)
    flag = _flag(right)
    if not (price > 0 and math.isfinite(price)):
        return math.nan
    try:
        sigma = float(_vollib_iv(float(price), float(s), float(k), float(t), float(r), flag))
    except (VolatilityValueException, ArithmeticError, ValueError):
        return math.nan
    return sigma if math.isfinite(sigma) and sigma > 0 else math.nan


def implied_vols(
    prices: Sequence[float] | np.ndarray,
    s: float,
    strikes: Sequence[float] | np.ndarray,
    t: float,
    r: float,
    rights: Sequence[str] | np.ndarray,
) -> np.ndarray:
    """:func:`implied_vol` for each (price, strike, right) of one expiry; NaN where unsolvable."""
    p, k = np.asarray(prices, dtype="float64"), np.asarray(strikes, dtype="float64")
    rt = np.asarray(rights, dtype=object)
    if not (p.shape == k.shape == rt.shape):
        raise ConfigError(f"prices, strikes and rights differ in length: {p.shape}, {k.shape}, {rt.shape}")
    return np.array([implied_vol(pi, s, ki, t, r, ri) for pi, ki, ri in zip(p, k, rt, strict=True)])


def bs_deltas(
    s: float,
    strikes: Sequence[float] | np.ndarray,
    t: float,
    r: float,
    sigmas: Sequence[float] | np.ndarray,
    rights: Sequence[str] | np.ndarray,
) -> np.ndarray:
    """:func:`bs_delta` for each (strike, volatility, right); NaN where the volatility is NaN."""
    k, sig = np.asarray(strikes, dtype="float64"), np.asarray(sigmas, dtype="float64")
    rt = np.asarray(rights, dtype=object)
    return np.array(
        [
            bs_delta(ri, s, ki, t, r, si) if math.isfinite(si) and si > 0 else math.nan
            for ki, si, ri in zip(k, sig, rt, strict=True)
        ]
    )
