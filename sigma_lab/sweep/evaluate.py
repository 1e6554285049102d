"""Evaluate one chunk of configurations with the batched kernels (the unit sent to executors).

A :class:`SweepContext` holds what every chunk needs (bar arrays, strategy or scores, base
execution settings); :func:`evaluate_chunk` turns a DataFrame of configurations into metric rows.
Shared work is done once per chunk: each distinct moving average, signal set, position-fraction
row and ATR row is computed once and the configurations index into them. The numbers depend only
on each configuration, never on the chunk it sits in.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sigma_lab.backtest import batch
from sigma_lab.backtest.engine import _config_vector, _fractions, atr
from sigma_lab.backtest.metrics import periods_per_year, risk_free_per_period
from sigma_lab.backtest.scores import SCORE_KEYS, ScoreParams, score_signals
from sigma_lab.backtest.settings import EXECUTION_KEYS, ExecutionSettings, execution_settings, pydantic_error
from sigma_lab.backtest.strategies import get_strategy
from sigma_lab.errors import ConfigError
from sigma_lab.indicators.registry import compute_into

#: Strategies whose signals are crossings of two moving averages: they run on the shared-table kernel.
CROSS_STRATEGIES: dict[str, str] = {"sma_cross": "sma", "ema_cross": "ema"}
_DIRECTIONS = {"long": batch.DIR_LONG, "short": batch.DIR_SHORT, "both": batch.DIR_BOTH}


@dataclass
class SweepContext:
    """Everything a chunk evaluation needs besides its configurations (picklable for Dask)."""

    bars: pd.DataFrame
    strategy: str | None
    execution: dict[str, Any]
    scores: Any = None
    t0: int = 0
    t1: int | None = None
    n_workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def stop(self) -> int:
        return len(self.bars) if self.t1 is None else self.t1

    def kinds(self, names: list[str]) -> dict[str, str]:
        """Which family each parameter belongs to: ``strategy``, ``execution`` or ``score``."""
        own = {p.name for p in get_strategy(self.strategy).params} if self.strategy else set()
        out: dict[str, str] = {}
        for name in names:
            if name in own:
                out[name] = "strategy"
            elif name in EXECUTION_KEYS:
                out[name] = "execution"
            elif self.strategy is None and name in SCORE_KEYS:
                out[name] = "score"
            else:
                what = f"strategy {self.strategy!r}" if self.strategy else "a score sweep"
                known = sorted(own) if self.strategy else sorted(SCORE_KEYS)
                raise ConfigError(
                    f"unknown sweep parameter {name!r} for {what}; it takes {known} and the "
                    f"execution settings {sorted(EXECUTION_KEYS)}"
                )
        return out


def _records(frame: pd.DataFrame, cols: list[str]) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """Distinct value tuples of ``cols`` and, per row, the index of its tuple."""
    if not cols:
        return [()], np.zeros(len(frame), dtype=np.int64)
    keys = list(zip(*(frame[c].tolist() for c in cols), strict=True))
    uniq: dict[tuple[Any, ...], int] = {}
    idx = np.fromiter((uniq.setdefault(key, len(uniq)) for key in keys), dtype=np.int64, count=len(keys))
    return list(uniq), idx


def _settings(ctx: SweepContext, cols: list[str], values: tuple[Any, ...]) -> ExecutionSettings:
    given = {c: (None if isinstance(v, float) and v != v else v) for c, v in zip(cols, values, strict=True)}
    return execution_settings(ctx.execution, **given)


def evaluate_chunk(ctx: SweepContext, configs: pd.DataFrame) -> np.ndarray:
    """Metric rows (columns :data:`~sigma_lab.backtest.batch.OUT_COLUMNS`) of ``configs``."""
    bars = ctx.bars
    t0, t1 = ctx.t0, ctx.stop
    kinds = ctx.kinds(list(configs.columns))
    exec_cols = [c for c, k in kinds.items() if k == "execution"]
    sig_cols = [c for c, k in kinds.items() if k != "execution"]
    m = len(configs)
    combos, exec_idx = _records(configs, exec_cols)
    settings = [_settings(ctx, exec_cols, v) for v in combos]
    ppy_auto = periods_per_year(bars.index[t0:t1]) if any(not s.periods_per_year for s in settings) else 0.0
    ppys = np.array([float(s.periods_per_year or ppy_auto) for s in settings])
    confidence = None
    if ctx.strategy is None:
        confidence = score_signals(bars, ctx.scores, ScoreParams())[2]
    frac_keys: dict[tuple[Any, ...], int] = {}
    ref_keys: dict[int, int] = {}
    fracs: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    frac_of = np.empty(len(settings), dtype=np.int64)
    ref_of = np.empty(len(settings), dtype=np.int64)
    for i, s in enumerate(settings):
        fkey = (s.sizing, s.size, s.vol_target, s.vol_lookback, ppys[i])
        if fkey not in frac_keys:
            frac_keys[fkey] = len(fracs)
            fracs.append(_fractions(bars, s, float(ppys[i]), confidence))
        frac_of[i] = frac_keys[fkey]
        rkey = s.atr_period if s.stop_mode == "atr" else 0
        if rkey not in ref_keys:
            ref_keys[rkey] = len(refs)
            refs.append(atr(bars, s.atr_period) if rkey else np.ones(len(bars)))
        ref_of[i] = ref_keys[rkey]
    cfgs = np.stack([_config_vector(s) for s in settings])[exec_idx]
    cash = np.array([s.init_cash for s in settings])[exec_idx]
    rf = np.array([risk_free_per_period(s.risk_free, p) for s, p in zip(settings, ppys, strict=True)])[
        exec_idx
    ]
    direction = np.array([_DIRECTIONS[s.direction] for s in settings], dtype=np.int64)[exec_idx]
    frac_tbl = np.stack(fracs)
    ref_tbl = np.stack(refs)
    o, h, lo, c = (
        np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64)) for k in ("open", "high", "low", "close")
    )
    common = (
        frac_tbl,
        frac_of[exec_idx],
        ref_tbl,
        ref_of[exec_idx],
        cfgs,
        cash,
        rf,
        ppys[exec_idx],
        t0,
        t1,
        max(1, ctx.n_workers),
    )
    if m == 0:
        return np.empty((0, batch.N_OUT))
    if ctx.strategy in CROSS_STRATEGIES:
        strat = get_strategy(ctx.strategy)
        params = [strat.resolve(dict(zip(sig_cols, v, strict=True))) for v in _records(configs, sig_cols)[0]]
        _, sig_idx = _records(configs, sig_cols)
        periods = sorted({p[name] for p in params for name in ("fast", "slow")})
        row = {p: i for i, p in enumerate(periods)}
        table = _average_table(bars, CROSS_STRATEGIES[ctx.strategy], periods)
        fast = np.array([row[p["fast"]] for p in params], dtype=np.int64)[sig_idx]
        slow = np.array([row[p["slow"]] for p in params], dtype=np.int64)[sig_idx]
        return batch.sweep_cross(o, h, lo, c, table, fast, slow, direction, *common)
    return _evaluate_signals(ctx, configs, sig_cols, settings, exec_idx, (o, h, lo, c), common)


def _average_table(bars: pd.DataFrame, name: str, periods: list[int]) -> np.ndarray:
    """One row per period of moving average ``name``, filled in place by
    :func:`~sigma_lab.indicators.registry.compute_into` (no DataFrame per period); two threads
    share the rows (the kernels release the GIL)."""
    table = np.empty((len(periods), len(bars)))

    def fill(i: int) -> None:
        compute_into(bars, name, table[i : i + 1], period=int(periods[i]))

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(fill, range(len(periods))))
    return table


def _signal_set(ctx: SweepContext, values: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Long entry, long exit, short entry, short exit of one strategy / score parameter set."""
    if ctx.strategy is not None:
        sig = get_strategy(ctx.strategy).signals(ctx.bars, **values)
        return sig.entries, sig.exits, sig.short_entries, sig.short_exits
    try:
        params = ScoreParams(**values)
    except ValidationError as exc:
        raise pydantic_error(exc, "score parameter") from None
    long_ok, short_ok, _ = score_signals(ctx.bars, ctx.scores, params)
    zero = np.zeros_like(long_ok)
    long_exit = ~long_ok if params.exit_when_off else zero
    short_exit = ~short_ok if params.exit_when_off else zero
    return long_ok, long_exit, short_ok, short_exit


def _evaluate_signals(
    ctx: SweepContext,
    configs: pd.DataFrame,
    sig_cols: list[str],
    settings: list[ExecutionSettings],
    exec_idx: np.ndarray,
    ohlc: tuple[np.ndarray, ...],
    common: tuple[Any, ...],
) -> np.ndarray:
    combos, sig_of = _records(configs, sig_cols)
    sets = [_signal_set(ctx, dict(zip(sig_cols, v, strict=True))) for v in combos]
    dirs = np.array([s.direction for s in settings], dtype=object)[exec_idx]
    pairs, pair_idx = _records(pd.DataFrame({"s": sig_of, "d": dirs}), ["s", "d"])
    n = len(ctx.bars)
    le, lx, se, sx = (np.zeros((len(pairs), n), dtype=np.bool_) for _ in range(4))
    for i, (s, d) in enumerate(pairs):
        a, b, c, e = sets[s]
        if d != "short":
            le[i], lx[i] = a, b
        if d != "long":
            se[i], sx[i] = c, e
    return batch.sweep_signals(*ohlc, le, lx, se, sx, pair_idx, *common)
