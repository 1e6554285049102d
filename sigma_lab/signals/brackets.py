"""Brackets of a signal: entry, stop, target and time stop from the ATR known at the decision bar.

The entry reference is the decision bar's close (with ``entry="next_open"`` the order fills at
the next bar's open; the levels stay where they were set, as a bracket order's would). The
stop is ``stop_atr`` ATRs against the trade and the target ``target_atr`` ATRs with it, the ATR
being the backtest engine's Wilder ATR (:func:`sigma_lab.backtest.engine.atr`) over the bars up
to and including the decision bar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from sigma_lab.backtest.engine import atr
from sigma_lab.errors import ConfigError
from sigma_lab.signals.policy import ExecutionPolicy


@dataclass(frozen=True)
class Brackets:
    """The levels of one signal."""

    entry: float
    stop: float
    target: float
    time_stop_bars: int
    reward_risk: float
    atr: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_brackets(
    bars: pd.DataFrame, side: str, execution: ExecutionPolicy, *, time_stop_bars: int
) -> Brackets:
    """The brackets of a ``side`` ("long"/"short") signal decided at the last bar of ``bars``."""
    if side not in ("long", "short"):
        raise ConfigError(f"brackets need a long or short side, got {side!r}")
    if len(bars) <= execution.atr_period:
        raise ConfigError(
            f"brackets need more than atr_period={execution.atr_period} bars before the decision bar, "
            f"got {len(bars)}"
        )
    value = float(atr(bars, execution.atr_period)[-1])
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"the ATR at {bars.index[-1]} is {value}; cannot place brackets")
    entry = float(bars["close"].iloc[-1])
    sign = 1.0 if side == "long" else -1.0
    stop = entry - sign * execution.stop_atr * value
    target = entry + sign * execution.target_atr * value
    return Brackets(
        entry=entry,
        stop=stop,
        target=target,
        time_stop_bars=int(execution.time_stop_bars or time_stop_bars),
        reward_risk=execution.target_atr / execution.stop_atr,
        atr=value,
    )
