"""The pandas face of the backtest kernel: validate, convert, simulate, build the result.

``run`` takes boolean signal arrays, ``run_strategy`` a named rule strategy and ``run_scores``
model scores; all three end in :func:`simulate_signals` and share the execution keywords of
:class:`~sigma_lab.backtest.settings.ExecutionSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sigma_lab.backtest import kernels
from sigma_lab.backtest.metrics import compute_metrics, per_bar_returns, periods_per_year
from sigma_lab.backtest.settings import ExecutionSettings, execution_settings
from sigma_lab.data.bars import validate_bars
from sigma_lab.errors import ConfigError

if TYPE_CHECKING:
    import plotly.graph_objects as go

TRADE_COLUMNS: tuple[str, ...] = (
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "side",
    "size",
    "pnl",
    "return",
    "fees",
    "exit_reason",
    "bars_held",
)


@dataclass(frozen=True)
class BacktestResult:
    """Equity, positions, trades and metrics of one backtest, with the settings that made it."""

    bars: pd.DataFrame
    equity: pd.Series
    positions: pd.Series
    returns: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    settings: ExecutionSettings
    periods_per_year: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        """Equity at the last bar's close (an open trade marked to market)."""
        return float(self.equity.iloc[-1])

    def plot(self) -> go.Figure:
        """Price with trade markers, equity and drawdown, as one plotly figure
        (:func:`sigma_lab.reports.backtest_figure`)."""
        from sigma_lab.reports import backtest_figure

        return backtest_figure(self)


def _bool_array(values: Any, n: int, name: str, index: pd.DatetimeIndex) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.bool_)
    if isinstance(values, (pd.Series, pd.DataFrame)):
        if isinstance(values, pd.DataFrame):
            if values.shape[1] != 1:
                raise ConfigError(f"{name} must be one column of booleans, got {values.shape[1]} columns")
            values = values.iloc[:, 0]
        if not values.index.equals(index):
            values = values.reindex(index)
        values = values.astype("boolean").fillna(False).to_numpy(dtype=np.bool_)
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ConfigError(f"{name} has shape {arr.shape}; expected one value per bar ({n},)")
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "biuf" or not np.isin(arr[~pd.isna(arr)], (0, 1)).all():
            raise ConfigError(f"{name} must hold booleans, got dtype {arr.dtype}")
        arr = np.nan_to_num(arr.astype(float)).astype(np.bool_)
    return np.ascontiguousarray(arr)


def atr(bars: pd.DataFrame, period: int) -> np.ndarray:
    """Wilder's average true range (a simple mean seeds the first ``period`` true ranges)."""
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    prev = np.concatenate(([np.nan], c[:-1]))
    tr = np.fmax(h - lo, np.fmax(np.abs(h - prev), np.abs(lo - prev)))
    out = np.full(len(c), np.nan)
    if len(c) > period:
        out[period] = np.mean(tr[1 : period + 1])
        for i in range(period + 1, len(c)):
            out[i] = (out[i - 1] * (period - 1) + tr[i]) / period
    return out


def _fractions(bars: pd.DataFrame, s: ExecutionSettings, ppy: float,
               confidence: np.ndarray | None) -> np.ndarray:
    n = len(bars)
    if s.sizing == "fixed":
        return np.full(n, s.size)
    if s.sizing == "confidence":
        if confidence is None:
            raise ConfigError("sizing='confidence' needs model scores; use run_scores(bars, scores, ...)")
        return s.size * np.nan_to_num(confidence)
    logret = np.log(bars["close"]).diff()
    vol = logret.rolling(s.vol_lookback).std(ddof=1).to_numpy() * np.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.minimum(s.vol_target / vol, s.size)
    return np.nan_to_num(frac, nan=0.0, posinf=s.size)


def _config_vector(s: ExecutionSettings) -> np.ndarray:
    cfg = np.zeros(kernels.N_CONFIG)
    cfg[kernels.C_FILL_AT_CLOSE] = 1.0 if s.fill == "close" else 0.0
    cfg[kernels.C_WHOLE] = 1.0 if s.whole_shares else 0.0
    cfg[kernels.C_FEE] = s.fees_bps / 1e4
    cfg[kernels.C_FIXED] = s.fixed_fee
    cfg[kernels.C_SLIP] = s.slippage_bps / 1e4
    cfg[kernels.C_SL] = s.stop_loss or 0.0
    cfg[kernels.C_TP] = s.take_profit or 0.0
    cfg[kernels.C_TRAIL] = s.trailing_stop or 0.0
    cfg[kernels.C_TIME] = float(s.time_stop or 0)
    cfg[kernels.C_ATR] = 1.0 if s.stop_mode == "atr" else 0.0
    return cfg


def _direct(s: ExecutionSettings, le: np.ndarray, lx: np.ndarray, se: np.ndarray, sx: np.ndarray,
            shorts_given: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map signals onto the direction: long uses entries/exits; short uses short_* (or, when none
    are given, entries/exits as the short signals); both uses all four."""
    none = np.zeros_like(le)
    if s.direction == "long":
        return le, lx, none, none
    if s.direction == "short":
        return (none, none, se, sx) if shorts_given else (none, none, le, lx)
    return le, lx, se, sx


def simulate_signals(bars: pd.DataFrame, entries: Any = None, exits: Any = None, short_entries: Any = None,
                     short_exits: Any = None, *, settings: ExecutionSettings,
                     confidence: np.ndarray | None = None, params: dict[str, Any] | None = None,
                     validated: bool = False) -> BacktestResult:
    """Run the kernel on validated settings; the shared end of ``run``, strategies and scores."""
    s = settings
    if not validated:
        bars = validate_bars(bars)
    n = len(bars)
    idx = bars.index
    le = _bool_array(entries, n, "entries", idx)
    lx = _bool_array(exits, n, "exits", idx)
    se = _bool_array(short_entries, n, "short_entries", idx)
    sx = _bool_array(short_exits, n, "short_exits", idx)
    shorts_given = short_entries is not None or short_exits is not None
    if s.direction == "long" and shorts_given and (se.any() or sx.any()):
        raise ConfigError("short_entries/short_exits were given but direction='long'; set direction='both'")
    le, lx, se, sx = _direct(s, le, lx, se, sx, shorts_given)
    ppy = float(s.periods_per_year or periods_per_year(idx))
    frac = _fractions(bars, s, ppy, confidence)
    ref = atr(bars, s.atr_period) if s.stop_mode == "atr" else np.ones(n)
    cfg = _config_vector(s)
    o, h, lo, c = (np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64))
                   for k in ("open", "high", "low", "close"))
    equity, position, rec_i, rec_f, traded = kernels.simulate(o, h, lo, c, le, lx, se, sx, frac, ref, cfg,
                                                          float(s.init_cash))
    trades = _ledger(idx, rec_i, rec_f)
    closed = trades["exit_reason"] != "end"
    metrics = compute_metrics(equity, position, trades.loc[closed, "pnl"].to_numpy(),
                              trades.loc[closed, "return"].to_numpy(), float(traded),
                              float(s.init_cash), ppy, s.risk_free)
    return BacktestResult(
        bars=bars,
        equity=pd.Series(equity, index=idx, name="equity"),
        positions=pd.Series(position, index=idx, name="position"),
        returns=pd.Series(per_bar_returns(equity, float(s.init_cash)), index=idx, name="returns"),
        trades=trades,
        metrics=metrics,
        settings=s,
        periods_per_year=ppy,
        params=dict(params or {}),
    )


def _ledger(idx: pd.DatetimeIndex, rec_i: np.ndarray, rec_f: np.ndarray) -> pd.DataFrame:
    reasons = np.asarray(kernels.EXIT_REASONS, dtype=object)
    entry_i, exit_i = rec_i[:, kernels.R_ENTRY_IDX], rec_i[:, kernels.R_EXIT_IDX]
    return pd.DataFrame(
        {
            "entry_time": idx[entry_i],
            "exit_time": idx[exit_i],
            "entry_price": rec_f[:, kernels.F_ENTRY_PX],
            "exit_price": rec_f[:, kernels.F_EXIT_PX],
            "side": rec_i[:, kernels.R_SIDE],
            "size": rec_f[:, kernels.F_SIZE],
            "pnl": rec_f[:, kernels.F_PNL],
            "return": rec_f[:, kernels.F_RET],
            "fees": rec_f[:, kernels.F_FEES],
            "exit_reason": pd.Series(reasons[rec_i[:, kernels.R_REASON]], dtype="str").to_numpy(),
            "bars_held": exit_i - entry_i,
        },
        columns=list(TRADE_COLUMNS),
    )


def run(bars: pd.DataFrame, entries: Any = None, exits: Any = None, short_entries: Any = None,
        short_exits: Any = None, **execution: Any) -> BacktestResult:
    """Backtest boolean signal arrays (one value per bar, decided at that bar's close).

    ``direction="long"`` trades ``entries``/``exits``; ``"short"`` trades ``short_entries``/
    ``short_exits`` (or ``entries``/``exits`` as the short signals when no short ones are
    given); ``"both"`` trades all four, an opposite entry reversing the position. Execution
    keywords are those of :class:`ExecutionSettings`; an unknown or invalid one raises
    :class:`~sigma_lab.errors.ConfigError` naming it.
    """
    settings = execution_settings(**execution)
    return simulate_signals(bars, entries, exits, short_entries, short_exits, settings=settings)
