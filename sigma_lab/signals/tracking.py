"""Tracking: follow each accepted signal on the bars after it, and measure a model's live record.

A signal is followed with the backtest engine's bracket rules (:mod:`sigma_lab.backtest.kernels`):

- ``entry="next_open"``: it fills at the open of the bar after the decision bar, and the
  brackets are checked from that bar on (the whole entry bar trades after the fill);
  ``entry="close"``: it fills at the decision bar's close and the brackets are checked from the
  next bar;
- a bar that opens beyond the stop (or target) exits at that open (gap-through); otherwise a
  bar touching both the stop and the target exits at the stop;
- the time stop holds the trade exactly ``time_stop_bars`` bars: with a next-open entry it exits
  at the open ``time_stop_bars`` bars after the entry bar, with a close entry at the close
  ``time_stop_bars`` bars after the decision bar;
- every fill moves ``slippage_bps`` against the trader.

The realized return is ``side * (exit fill / entry fill - 1)``; the R multiple is that return
over the planned stop distance ``|entry - stop| / entry``. Outcomes: ``target``, ``stop``,
``time_stop``, ``open`` (entered, no exit yet) and ``pending`` (no bar to enter on yet).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from numba import njit
from sqlalchemy.orm import Session

from sigma_lab.store import Signal

OUTCOMES: tuple[str, ...] = ("open", "stop", "target", "time_stop", "pending")
CLOSED: tuple[str, ...] = ("stop", "target", "time_stop")
_OPEN, _STOP, _TARGET, _TIME, _PENDING = range(5)


@njit(cache=True)
def track_kernel(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    start: int,
    side: float,
    stop: float,
    target: float,
    time_stop: int,
    at_close: bool,
    slip: float,
) -> np.ndarray:
    """Follow one trade decided at bar ``start``.

    Returns [outcome code, entry index, exit index, entry fill, exit fill] (NaN where unknown).
    """
    out = np.full(5, np.nan)
    out[0] = _PENDING
    n = len(o)
    entry_idx = start if at_close else start + 1
    if entry_idx >= n:
        return out
    raw = c[entry_idx] if at_close else o[entry_idx]
    entry_fill = raw * (1.0 + side * slip)
    out[0] = _OPEN
    out[1] = entry_idx
    out[3] = entry_fill
    first = entry_idx + 1 if at_close else entry_idx
    for t in range(first, n):
        if not at_close and t == entry_idx + time_stop:
            out[0], out[2], out[4] = _TIME, t, o[t] * (1.0 - side * slip)
            return out
        code = -1
        px = 0.0
        if side > 0:
            if o[t] <= stop:
                code, px = _STOP, o[t]
            elif o[t] >= target:
                code, px = _TARGET, o[t]
            elif lo[t] <= stop:
                code, px = _STOP, stop
            elif h[t] >= target:
                code, px = _TARGET, target
        else:
            if o[t] >= stop:
                code, px = _STOP, o[t]
            elif o[t] <= target:
                code, px = _TARGET, o[t]
            elif h[t] >= stop:
                code, px = _STOP, stop
            elif lo[t] <= target:
                code, px = _TARGET, target
        if code >= 0:
            out[0], out[2], out[4] = code, t, px * (1.0 - side * slip)
            return out
        if at_close and t == entry_idx + time_stop:
            out[0], out[2], out[4] = _TIME, t, c[t] * (1.0 - side * slip)
            return out
    return out


def follow(
    bars: pd.DataFrame,
    decided_at: pd.Timestamp | dt.datetime,
    side: str,
    stop: float,
    target: float,
    time_stop_bars: int,
    *,
    entry: str = "next_open",
    slippage_bps: float = 0.0,
    planned_entry: float | None = None,
) -> dict[str, Any]:
    """The outcome of one signal on ``bars`` (which must contain its decision bar).

    Returns ``outcome``, ``entry_time``, ``entry_price`` (fill), ``exit_time``, ``exit_price``
    (fill), ``realized_return`` and ``r_multiple`` (``None`` while not closed).
    """
    from sigma_lab.errors import ConfigError

    index = bars.index
    decided = pd.Timestamp(decided_at)
    start = int(index.searchsorted(decided))
    if start >= len(index) or index[start] != decided:
        raise ConfigError(f"the bars do not contain the decision bar {decided} of the signal")
    sign = 1.0 if side == "long" else -1.0
    arrays = [
        np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64)) for k in ("open", "high", "low", "close")
    ]
    res = track_kernel(
        *arrays,
        start,
        sign,
        float(stop),
        float(target),
        int(time_stop_bars),
        entry == "close",
        slippage_bps / 1e4,
    )
    outcome = OUTCOMES[int(res[0])]
    out: dict[str, Any] = {
        "outcome": outcome,
        "entry_time": None if math.isnan(res[1]) else index[int(res[1])].to_pydatetime(),
        "entry_price": None if math.isnan(res[3]) else float(res[3]),
        "exit_time": None,
        "exit_price": None,
        "realized_return": None,
        "r_multiple": None,
    }
    if outcome in CLOSED:
        ret = sign * (res[4] / res[3] - 1.0)
        reference = planned_entry if planned_entry is not None else float(bars["close"].iloc[start])
        risk = abs(reference - stop) / reference
        out.update(
            exit_time=index[int(res[2])].to_pydatetime(),
            exit_price=float(res[4]),
            realized_return=float(ret),
            r_multiple=float(ret / risk) if risk > 0 else None,
        )
    return out


def track(model_id: str | None = None, *, asof: Any = None, session: Session | None = None) -> int:
    """Follow every accepted, not yet closed signal (of ``model_id``) on bars up to ``asof``.

    Updates outcome, exit and returns in the store; returns how many signals closed.
    """
    from sigma_lab.store import session_scope

    if session is None:
        with session_scope() as own:
            return track(model_id, asof=asof, session=own)
    from sigma_lab.data.sessions import to_utc
    from sigma_lab.packs import get_model_config
    from sigma_lab.signals.generate import model_bars, resolve_policy

    end = to_utc(asof, "end") if asof is not None else None
    query = sa.select(Signal).where(
        Signal.accepted.is_(True), sa.or_(Signal.outcome.is_(None), Signal.outcome.in_(("open", "pending")))
    )
    if model_id is not None:
        query = query.where(Signal.model_id == model_id)
    closed = 0
    cache: dict[tuple[str, str], pd.DataFrame] = {}
    for row in session.scalars(query.order_by(Signal.asof, Signal.id)).all():
        cfg = get_model_config(row.model_id)
        policy, _ = resolve_policy(session, row.model_id, row.policy_version)
        key = (row.model_id, row.ticker)
        if key not in cache:
            cache[key] = model_bars(cfg, row.ticker, start=row.asof, end=end)
        bars = cache[key]
        bars = bars[bars.index >= pd.Timestamp(row.asof)]
        if len(bars) == 0 or bars.index[0] != pd.Timestamp(row.asof):
            continue
        result = follow(
            bars,
            row.asof,
            row.side,
            row.stop,
            row.target,
            row.time_stop_bars or 1,
            entry=policy.execution.entry,
            slippage_bps=policy.execution.slippage_bps,
            planned_entry=row.entry,
        )
        row.outcome = result["outcome"]
        row.exit_time = result["exit_time"]
        row.exit_price = result["exit_price"]
        row.realized_return = result["realized_return"]
        row.r_multiple = result["r_multiple"]
        closed += result["outcome"] in CLOSED
    session.flush()
    return closed


def _equity_drawdown(returns: np.ndarray) -> np.ndarray:
    equity = np.cumprod(1.0 + returns)
    peak = np.maximum.accumulate(np.concatenate(([1.0], equity)))[1:]
    return equity / peak - 1.0


def performance(session: Session, model_id: str) -> dict[str, Any]:
    """A model's live record from its tracked signals.

    ``hit_rate`` (closed signals with a positive return), ``avg_r``, ``avg_return``, ``sharpe``
    (mean over standard deviation of closed-signal returns, annualized by closed signals per
    year over the span from the first signal to the last exit), ``max_drawdown`` (of the equity
    compounding the returns in exit order, <= 0), ``signals_per_day`` (accepted signals per
    weekday between the first and the last signal date), counts by outcome and of rejections
    by reason.
    """
    rows = session.execute(
        sa.select(
            Signal.date,
            Signal.asof,
            Signal.accepted,
            Signal.reject_reason,
            Signal.outcome,
            Signal.exit_time,
            Signal.realized_return,
            Signal.r_multiple,
        ).where(Signal.model_id == model_id)
    ).all()
    accepted = [r for r in rows if r.accepted]
    closed = sorted(
        (r for r in accepted if r.outcome in CLOSED and r.realized_return is not None),
        key=lambda r: r.exit_time,
    )
    returns = np.array([r.realized_return for r in closed], dtype=float)
    rs = np.array([r.r_multiple for r in closed if r.r_multiple is not None], dtype=float)
    out: dict[str, Any] = {
        "model_id": model_id,
        "signals": len(accepted),
        "rejected": len(rows) - len(accepted),
        "closed": len(closed),
        "open": sum(r.outcome in ("open", "pending", None) for r in accepted),
        "outcomes": {k: sum(r.outcome == k for r in accepted) for k in CLOSED},
        "reject_reasons": {},
        "hit_rate": None,
        "avg_return": None,
        "avg_r": None,
        "sharpe": None,
        "max_drawdown": None,
        "signals_per_day": None,
    }
    for r in rows:
        if not r.accepted:
            out["reject_reasons"][r.reject_reason] = out["reject_reasons"].get(r.reject_reason, 0) + 1
    if accepted:
        dates = sorted(r.date for r in accepted)
        days = int(np.busday_count(dates[0], dates[-1])) + 1
        out["signals_per_day"] = len(accepted) / max(days, 1)
    if len(returns):
        out["hit_rate"] = float((returns > 0).mean())
        out["avg_return"] = float(returns.mean())
        out["avg_r"] = float(rs.mean()) if len(rs) else None
        out["max_drawdown"] = float(min(0.0, _equity_drawdown(returns).min()))
        first = min(r.asof for r in closed)
        span_years = (closed[-1].exit_time - first).total_seconds() / (365.25 * 86400)
        std = returns.std(ddof=1) if len(returns) > 1 else float("nan")
        if span_years > 0 and std > 0:
            out["sharpe"] = float(returns.mean() / std * math.sqrt(len(returns) / span_years))
    return out


def live_drawdown(session: Session, model_id: str, *, asof: dt.datetime | None = None) -> float:
    """The drawdown (<= 0) of the equity compounding the model's closed signal returns.

    Only signals that exited by ``asof`` count, so back-filled dates see the record of their time.
    """
    query = (
        sa.select(Signal.realized_return)
        .where(Signal.model_id == model_id, Signal.accepted.is_(True), Signal.outcome.in_(CLOSED))
        .order_by(Signal.exit_time, Signal.id)
    )
    if asof is not None:
        query = query.where(Signal.exit_time <= asof)
    rows = session.execute(query).all()
    returns = np.array([r.realized_return for r in rows if r.realized_return is not None], dtype=float)
    return float(_equity_drawdown(returns)[-1]) if len(returns) else 0.0
