"""Performance metrics of a backtest, and the conventions behind them.

Conventions (the numbers equal empyrical-reloaded's on the same returns and annualization):

- **Returns** are per-bar simple returns of the mark-to-market equity; the first bar's return is
  measured against ``init_cash``.
- **Periods per year**: daily bars (median spacing of a day or more, under five days) 252,
  weekly bars 52; intraday bars ``252 x`` the median number of bars per New York session date.
  ``periods_per_year`` in the execution settings overrides the estimate.
- **Risk-free rate**: ``risk_free`` is annual; per period it is ``(1 + rf) ** (1 / ppy) - 1``.
- **Sharpe** = mean(r - rf_period) / std(r - rf_period, ddof=1) * sqrt(ppy).
- **Sortino** = mean(r - rf_period) * ppy / (sqrt(mean(min(r - rf_period, 0) ** 2)) * sqrt(ppy)).
- **ann_volatility** = std(r, ddof=1) * sqrt(ppy).
- **cagr** = (final / initial equity) ** (ppy / n_bars) - 1 (years = bars / ppy).
- **max_drawdown** is a negative fraction (-0.12 is a 12% fall from the peak);
  **max_drawdown_duration** is the longest stretch, in bars, spent below a previous equity peak
  (an unrecovered drawdown counts up to the last bar). **calmar** = cagr / |max_drawdown|.
- **Trade statistics** use closed trades only (a trade still open at the end is in the ledger
  but not here): ``trades`` counts them; ``win_rate`` is the share with pnl > 0;
  ``profit_factor`` = gross profit / gross loss; ``expectancy`` = mean pnl per trade (currency);
  ``avg_win`` / ``avg_loss`` = mean pnl of winners / losers (currency, avg_loss <= 0);
  ``payoff_ratio`` = avg_win / |avg_loss|; ``sqn`` = sqrt(trades) * mean(pnl) / std(pnl, ddof=1);
  ``best_trade`` / ``worst_trade`` are trade returns (pnl over entry value).
- **exposure** is the share of bars ending with an open position; **turnover** is the traded
  value of all fills divided by mean equity, per year.

Undefined values (no trades, zero variance) are NaN, never an exception.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

METRIC_KEYS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "ann_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration",
    "win_rate",
    "profit_factor",
    "expectancy",
    "avg_win",
    "avg_loss",
    "payoff_ratio",
    "sqn",
    "trades",
    "exposure",
    "turnover",
    "best_trade",
    "worst_trade",
)

#: Metrics that are fractions and read best as percentages.
PERCENT_METRICS = frozenset(
    {
        "total_return",
        "cagr",
        "ann_volatility",
        "max_drawdown",
        "win_rate",
        "exposure",
        "best_trade",
        "worst_trade",
    }
)

_DAY_NS = 86_400 * 10**9


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year estimated from the bar spacing and New York trading sessions."""
    if len(index) < 2:
        return 252.0
    step = float(np.median(np.diff(index.as_unit("ns").asi8)))
    if step >= 5 * _DAY_NS:
        return 52.0
    if step >= 0.8 * _DAY_NS:
        return 252.0
    ny = index.tz_convert("America/New_York") if index.tz is not None else index.tz_localize("UTC")
    dates = pd.Series(ny.date)
    per_session = float(dates.groupby(dates).size().median())
    return 252.0 * per_session


def risk_free_per_period(risk_free: float, ppy: float) -> float:
    """The annual risk-free rate compounded down to one period."""
    return (1.0 + risk_free) ** (1.0 / ppy) - 1.0


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Drawdown per bar as a non-positive fraction of the running peak."""
    peak = np.maximum.accumulate(equity)
    return equity / peak - 1.0


def _max_duration(underwater: np.ndarray) -> int:
    longest = run = 0
    for flag in underwater:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def _nan_div(a: float, b: float) -> float:
    return a / b if b != 0 and not math.isnan(b) else math.nan


def return_metrics(
    returns: np.ndarray, equity: np.ndarray, init_cash: float, ppy: float, risk_free: float = 0.0
) -> dict[str, float]:
    """Equity-curve metrics: total return, CAGR, volatility, Sharpe, Sortino, Calmar, drawdown."""
    n = len(returns)
    nan = math.nan
    if n == 0:
        return dict.fromkeys(
            ("total_return", "cagr", "ann_volatility", "sharpe", "sortino", "calmar", "max_drawdown"), nan
        ) | {"max_drawdown_duration": 0}
    rf = risk_free_per_period(risk_free, ppy)
    excess = returns - rf
    total = equity[-1] / init_cash - 1.0
    cagr = (equity[-1] / init_cash) ** (ppy / n) - 1.0 if equity[-1] > 0 else -1.0
    std = float(np.std(returns, ddof=1)) if n > 1 else nan
    ex_std = float(np.std(excess, ddof=1)) if n > 1 else nan
    sharpe = _nan_div(float(np.mean(excess)), ex_std) * math.sqrt(ppy)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * math.sqrt(ppy)
    sortino = _nan_div(float(np.mean(excess)) * ppy, downside)
    curve = np.concatenate(([init_cash], equity))
    dd = drawdown(curve)
    mdd = float(dd.min())
    return {
        "total_return": float(total),
        "cagr": float(cagr),
        "ann_volatility": std * math.sqrt(ppy),
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": _nan_div(float(cagr), abs(mdd)),
        "max_drawdown": mdd,
        "max_drawdown_duration": _max_duration(dd[1:] < 0),
    }


def trade_metrics(pnl: np.ndarray, returns: np.ndarray) -> dict[str, float]:
    """Statistics over closed trades' pnl (currency) and returns (fractions)."""
    n = len(pnl)
    nan = math.nan
    if n == 0:
        keys = (
            "win_rate",
            "profit_factor",
            "expectancy",
            "avg_win",
            "avg_loss",
            "payoff_ratio",
            "sqn",
            "best_trade",
            "worst_trade",
        )
        return dict.fromkeys(keys, nan) | {"trades": 0}
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    gross_win, gross_loss = float(wins.sum()), float(-losses.sum())
    avg_win = float(wins.mean()) if len(wins) else nan
    avg_loss = float(losses.mean()) if len(losses) else nan
    std = float(np.std(pnl, ddof=1)) if n > 1 else nan
    return {
        "win_rate": len(wins) / n,
        "profit_factor": gross_win / gross_loss if gross_loss > 0 else (math.inf if gross_win > 0 else nan),
        "expectancy": float(pnl.mean()),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "payoff_ratio": _nan_div(avg_win, abs(avg_loss)),
        "sqn": _nan_div(math.sqrt(n) * float(pnl.mean()), std),
        "trades": n,
        "best_trade": float(returns.max()),
        "worst_trade": float(returns.min()),
    }


def compute_metrics(
    equity: np.ndarray,
    position: np.ndarray,
    trade_pnl: np.ndarray,
    trade_returns: np.ndarray,
    traded_value: float,
    init_cash: float,
    ppy: float,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """Every metric of :data:`METRIC_KEYS` from the arrays of one backtest."""
    returns = per_bar_returns(equity, init_cash)
    out = return_metrics(returns, equity, init_cash, ppy, risk_free) | trade_metrics(trade_pnl, trade_returns)
    n = len(equity)
    out["exposure"] = float(np.mean(position != 0)) if n else math.nan
    mean_equity = float(np.mean(equity)) if n else math.nan
    out["turnover"] = _nan_div(traded_value, mean_equity) / (n / ppy) if n else math.nan
    return {k: out[k] for k in METRIC_KEYS}


def per_bar_returns(equity: np.ndarray, init_cash: float) -> np.ndarray:
    """Simple returns per bar, the first against ``init_cash``."""
    prev = np.concatenate(([init_cash], equity[:-1]))
    return equity / prev - 1.0
