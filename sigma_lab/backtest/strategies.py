"""Named rule strategies built on the indicator library.

A strategy turns bars and its own parameters into four boolean arrays (long entries and exits,
short entries and exits), each decided at the bar's close; the execution direction picks which
of them trade. Parameters are declared with bounds (``Param``) and cross-checks (fast < slow),
so a bad value raises one :class:`~sigma_lab.errors.ConfigError` naming it.

Crossings need two valid bars: ``a`` crosses above ``b`` at t when ``a[t] > b[t]`` and
``a[t-1] <= b[t-1]``, both bars having values (warm-up bars never signal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sigma_lab.backtest.engine import BacktestResult, simulate_signals
from sigma_lab.backtest.settings import EXECUTION_KEYS, execution_settings
from sigma_lab.data.bars import validate_bars
from sigma_lab.errors import ConfigError
from sigma_lab.indicators import compute
from sigma_lab.indicators import get as get_indicator
from sigma_lab.indicators.registry import Param


class Signals(NamedTuple):
    """Boolean arrays, one value per bar."""

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray
    short_exits: np.ndarray


@dataclass(frozen=True)
class Strategy:
    """A registered rule strategy: its parameters, cross-checks and signal function."""

    name: str
    description: str
    params: tuple[Param, ...]
    fn: Callable[..., Signals]
    checks: tuple[tuple[str, str], ...] = ()

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in; unknown names, out-of-bounds values and broken orderings rejected."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"strategy {self.name!r} has no parameter {unknown[0]!r}; it takes {list(known)}"
            )
        out = {n: p.check(self.name, params.get(n, p.default)) for n, p in known.items()}
        for lo, hi in self.checks:
            if not out[lo] < out[hi]:
                raise ConfigError(f"{self.name}: {lo} must be < {hi}, got {lo}={out[lo]}, {hi}={out[hi]}")
        return out

    def signals(self, bars: pd.DataFrame, **params: Any) -> Signals:
        """The strategy's signals on ``bars`` for these parameters."""
        return self.fn(bars, **self.resolve(params))


_STRATEGIES: dict[str, Strategy] = {}


def strategy(name: str, params: tuple[Param, ...], checks: tuple[tuple[str, str], ...] = ()
             ) -> Callable[[Callable[..., Signals]], Callable[..., Signals]]:
    """Register ``fn(bars, **params) -> Signals`` as the strategy ``name``."""

    def decorate(fn: Callable[..., Signals]) -> Callable[..., Signals]:
        if name in _STRATEGIES:
            raise ValueError(f"strategy {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _STRATEGIES[name] = Strategy(name, doc[0] if doc else "", params, fn, checks)
        return fn

    return decorate


def strategies() -> Mapping[str, Strategy]:
    """All registered strategies by name."""
    return dict(_STRATEGIES)


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; an unknown name lists the known ones."""
    try:
        return _STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown strategy {name!r}; known: {sorted(_STRATEGIES)}") from None


def indicator_values(bars: pd.DataFrame, name: str, output: str = "", **params: Any) -> np.ndarray:
    """One output of an indicator as a float array."""
    frame = compute(bars, name, **params)
    return frame.iloc[:, get_indicator(name).outputs.index(output)].to_numpy(dtype=np.float64)


def cross_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` moves from at or below ``b`` to above it (both bars valid)."""
    out = np.zeros(len(a), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def cross_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` moves from at or above ``b`` to below it (both bars valid)."""
    return cross_above(b, a)


def _trend(fast: np.ndarray, slow: np.ndarray) -> Signals:
    up, down = cross_above(fast, slow), cross_below(fast, slow)
    return Signals(up, down, down, up)


def _period(name: str, default: int, low: int = 1) -> Param:
    return Param(name, default, low, 100_000)


@strategy("sma_cross", (_period("fast", 10), _period("slow", 30, 2)), checks=(("fast", "slow"),))
def sma_cross(bars: pd.DataFrame, fast: int, slow: int) -> Signals:
    """Long while SMA(fast) is above SMA(slow): enter on the cross up, leave on the cross down."""
    return _trend(indicator_values(bars, "sma", period=fast), indicator_values(bars, "sma", period=slow))


@strategy("ema_cross", (_period("fast", 12), _period("slow", 26, 2)), checks=(("fast", "slow"),))
def ema_cross(bars: pd.DataFrame, fast: int, slow: int) -> Signals:
    """Long while EMA(fast) is above EMA(slow): enter on the cross up, leave on the cross down."""
    return _trend(indicator_values(bars, "ema", period=fast), indicator_values(bars, "ema", period=slow))


@strategy(
    "rsi_reversion",
    (_period("period", 14, 2), Param("lower", 30.0, 0.0, 100.0), Param("upper", 70.0, 0.0, 100.0)),
    checks=(("lower", "upper"),),
)
def rsi_reversion(bars: pd.DataFrame, period: int, lower: float, upper: float) -> Signals:
    """Buy when RSI falls below ``lower``, sell when it rises above ``upper`` (shorts mirror)."""
    rsi = indicator_values(bars, "rsi", period=period)
    lo, hi = np.full_like(rsi, lower), np.full_like(rsi, upper)
    down_lo, up_hi = cross_below(rsi, lo), cross_above(rsi, hi)
    return Signals(down_lo, up_hi, up_hi, down_lo)


@strategy("donchian_breakout", (_period("period", 20, 2),))
def donchian_breakout(bars: pd.DataFrame, period: int) -> Signals:
    """Long when the close breaks above the prior bar's upper channel, out below the prior lower."""
    upper = indicator_values(bars, "donchian", "upper", period=period)
    lower = indicator_values(bars, "donchian", "lower", period=period)
    close = bars["close"].to_numpy(dtype=np.float64)
    prev_upper = np.concatenate(([np.nan], upper[:-1]))
    prev_lower = np.concatenate(([np.nan], lower[:-1]))
    with np.errstate(invalid="ignore"):
        up, down = close > prev_upper, close < prev_lower
    return Signals(up, down, down, up)


@strategy("bollinger_reversion", (_period("period", 20, 2), Param("nstd", 2.0, 0.1, 10.0)))
def bollinger_reversion(bars: pd.DataFrame, period: int, nstd: float) -> Signals:
    """Buy when the close crosses below the lower band, exit at the middle band (shorts mirror)."""
    close = bars["close"].to_numpy(dtype=np.float64)
    upper = indicator_values(bars, "bbands", "upper", period=period, nstd=nstd)
    middle = indicator_values(bars, "bbands", "middle", period=period, nstd=nstd)
    lower = indicator_values(bars, "bbands", "lower", period=period, nstd=nstd)
    return Signals(cross_below(close, lower), cross_above(close, middle),
                   cross_above(close, upper), cross_below(close, middle))


@strategy(
    "macd_cross",
    (_period("fast", 12), _period("slow", 26, 2), _period("signal", 9)),
    checks=(("fast", "slow"),),
)
def macd_cross(bars: pd.DataFrame, fast: int, slow: int, signal: int) -> Signals:
    """Long while the MACD line is above its signal line: in on the cross up, out on the cross down."""
    line = indicator_values(bars, "macd", "", fast=fast, slow=slow, signal=signal)
    sig = indicator_values(bars, "macd", "signal", fast=fast, slow=slow, signal=signal)
    return _trend(line, sig)


def run_strategy(bars: pd.DataFrame, name: str, **params_and_execution: Any) -> BacktestResult:
    """Backtest the rule strategy ``name``; its parameters sit beside the execution keywords.

    ``run_strategy(bars, "sma_cross", fast=10, slow=30, fees_bps=1)``. A keyword that is neither
    a parameter of the strategy nor an execution setting raises ConfigError naming it.
    """
    strat = get_strategy(name)
    own = {p.name for p in strat.params}
    unknown = sorted(set(params_and_execution) - own - EXECUTION_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown keyword {unknown[0]!r} for strategy {name!r}; it takes {sorted(own)} "
            f"and the execution settings {sorted(EXECUTION_KEYS)}"
        )
    params = strat.resolve({k: v for k, v in params_and_execution.items() if k in own})
    settings = execution_settings(**{k: v for k, v in params_and_execution.items() if k not in own})
    bars = validate_bars(bars)
    sig = strat.fn(bars, **params)
    short = settings.direction != "long"
    return simulate_signals(bars, sig.entries, sig.exits, sig.short_entries if short else None,
                            sig.short_exits if short else None, settings=settings,
                            params={"strategy": name, **params}, validated=True)
