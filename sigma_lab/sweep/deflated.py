"""The deflated Sharpe ratio (Bailey & López de Prado, 2014).

The best Sharpe ratio of N tries is biased upward. The deflated Sharpe ratio is the probability
that the true Sharpe ratio exceeds the one expected from the best of N unskilled tries::

    SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))        (g: Euler-Mascheroni)
    DSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))

with SR the per-period (not annualized) Sharpe ratio of the configuration, V the variance of the
per-period Sharpe ratios across the N tries, T the number of returns, skew and kurt (non-excess)
the skewness and kurtosis of the returns. It is a probability in [0, 1]; 0.95 is a common bar.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """The Sharpe ratio expected from the best of ``n_trials`` unskilled tries (per period)."""
    if n_trials < 2 or not variance > 0:
        return 0.0
    g = EULER_GAMMA
    return math.sqrt(variance) * (
        (1 - g) * norm.ppf(1 - 1 / n_trials) + g * norm.ppf(1 - 1 / (n_trials * math.e))
    )


def deflated_sharpe(
    sharpe: np.ndarray | float,
    n_trials: int,
    variance: float,
    n_returns: int,
    skew: np.ndarray | float = 0.0,
    kurtosis: np.ndarray | float = 3.0,
) -> np.ndarray:
    """Deflated Sharpe ratio of per-period Sharpe ratio(s) ``sharpe`` (see the module docstring)."""
    sr = np.asarray(sharpe, dtype=np.float64)
    sr0 = expected_max_sharpe(n_trials, variance)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(1.0 - np.asarray(skew) * sr + (np.asarray(kurtosis) - 1.0) / 4.0 * sr * sr)
        z = (sr - sr0) * math.sqrt(max(n_returns - 1, 0)) / denom
    return norm.cdf(z)


def deflate_table(
    sharpe_annual: np.ndarray,
    ppy: float,
    n_returns: int,
    skew: np.ndarray,
    kurtosis: np.ndarray,
    n_trials: int | None = None,
) -> np.ndarray:
    """Deflated Sharpe of every row of a sweep: annual Sharpe ratios in, probabilities out.

    ``n_trials`` defaults to the number of configurations; the variance is that of the finite
    per-period Sharpe ratios across them.
    """
    sr = np.asarray(sharpe_annual, dtype=np.float64) / math.sqrt(ppy)
    finite = sr[np.isfinite(sr)]
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    trials = int(n_trials if n_trials is not None else len(sr))
    return deflated_sharpe(sr, trials, variance, n_returns, skew, kurtosis)
