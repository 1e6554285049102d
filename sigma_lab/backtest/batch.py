"""Batched backtest kernels: many configurations per call, metrics streamed, no equity stored.

Each configuration runs through the same per-bar helpers as the single-run kernel
(:func:`sigma_lab.backtest.kernels.step`), so its fills, trades and equity are bit-for-bit those
of :func:`~sigma_lab.backtest.kernels.simulate`. Instead of keeping the equity curve, the kernel
folds every bar into running statistics (sums of shifted excess returns and their powers, the
downside sum, the running peak and the longest stretch under water, the exposure count, the
equity sum) and writes one row of :data:`OUT_COLUMNS` per configuration. Memory is therefore
O(bars) per worker thread plus O(configurations) for the output, never bars x configurations.

Signals come either from two rows of a shared indicator table (``a`` crossing ``b``, as the
trend strategies do: every distinct moving average is computed once and each configuration
indexes into the table) or from rows of a shared table of boolean signal sets. Position
fractions and ATR references are shared tables as well. Configurations are spread over
``n_workers`` threads with ``prange``; each thread owns one trade buffer that it reuses.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sigma_lab.backtest import kernels as k
from sigma_lab.backtest.metrics import METRIC_KEYS

#: Columns of the kernel's output rows: the backtest metrics, then what multiple-testing needs.
OUT_COLUMNS: tuple[str, ...] = (*METRIC_KEYS, "final_equity", "skew", "kurtosis")
N_OUT = len(OUT_COLUMNS)
_COL = {name: i for i, name in enumerate(OUT_COLUMNS)}
(
    O_TOTAL,
    O_CAGR,
    O_VOL,
    O_SHARPE,
    O_SORTINO,
    O_CALMAR,
    O_MDD,
    O_MDD_DUR,
    O_WIN,
    O_PF,
    O_EXPECT,
    O_AVG_WIN,
    O_AVG_LOSS,
    O_PAYOFF,
    O_SQN,
    O_TRADES,
    O_EXPOSURE,
    O_TURNOVER,
    O_BEST,
    O_WORST,
    O_FINAL,
    O_SKEW,
    O_KURT,
) = (_COL[name] for name in OUT_COLUMNS)

#: Direction codes of the ``direction`` argument (which of the four signals trade).
DIR_LONG, DIR_SHORT, DIR_BOTH = 0, 1, 2


@njit(cache=True, inline="always")
def _nan_div(a: float, b: float) -> float:
    if b != 0.0 and b == b:
        return a / b
    return np.nan


@njit(cache=True, inline="always")
def stream_one(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    le_row: np.ndarray,
    lx_row: np.ndarray,
    se_row: np.ndarray,
    sx_row: np.ndarray,
    cross: bool,
    direction: int,
    frac: np.ndarray,
    ref: np.ndarray,
    cfg: np.ndarray,
    init_cash: float,
    rf: float,
    ppy: float,
    t0: int,
    t1: int,
    rec_i: np.ndarray,
    rec_f: np.ndarray,
    out: np.ndarray,
) -> None:
    """Simulate one configuration over bars ``[t0, t1)`` and write its metrics into ``out``.

    With ``cross`` the signals are the crossings of ``a`` over ``b`` (entries up, exits down,
    short entries down, short exits up) filtered by ``direction``; otherwise they are the given
    boolean rows, already mapped to the direction. ``rec_i``/``rec_f`` are scratch trade buffers
    with at least ``t1 - t0 + 1`` rows. The bar loop is :func:`~sigma_lab.backtest.kernels.run_bars`,
    compiled once with brackets and once without, so bracket checks cost nothing when unset.
    """
    long_ok = direction != DIR_SHORT
    short_ok = direction != DIR_LONG
    none = np.zeros(0)
    if k.has_brackets(cfg):
        res = k.run_bars(o, h, lo, c, a, b, le_row, lx_row, se_row, sx_row, cross, long_ok, short_ok, frac,
                         ref, cfg, init_cash, rf, t0, t1, True, False, none, none, rec_i, rec_f)
    else:
        res = k.run_bars(o, h, lo, c, a, b, le_row, lx_row, se_row, sx_row, cross, long_ok, short_ok, frac,
                         ref, cfg, init_cash, rf, t0, t1, False, False, none, none, rec_i, rec_f)
    _finish(res, rec_f, t1 - t0, init_cash, ppy, out)


@njit(cache=True, inline="always")
def _finish(res: tuple, rec_f: np.ndarray, n: int, init_cash: float, ppy: float, out: np.ndarray) -> None:
    """Turn one configuration's running sums (the result of ``run_bars``) into its metric row,
    with the conventions of :mod:`sigma_lab.backtest.metrics`."""
    traded, m, final, mdd, longest, exposed, eq_sum = res[5], res[6], res[7], res[8], res[9], res[10], res[11]
    shift, s1, s2, s3, s4, down2 = res[12], res[13], res[14], res[15], res[16], res[17]
    sq = np.sqrt(ppy)
    mean = shift + s1 / n
    m1 = s1 / n
    var = np.nan
    skew = np.nan
    kurt = np.nan
    if n > 1:
        var = max((s2 - s1 * m1) / (n - 1), 0.0)
        c2 = s2 / n - m1 * m1
        if c2 > 0.0:
            c3 = s3 / n - 3.0 * m1 * s2 / n + 2.0 * m1 * m1 * m1
            c4 = s4 / n - 4.0 * m1 * s3 / n + 6.0 * m1 * m1 * s2 / n - 3.0 * m1 * m1 * m1 * m1
            skew = c3 / c2**1.5
            kurt = c4 / (c2 * c2)
    std = np.sqrt(var)
    total = final / init_cash - 1.0
    cagr = (final / init_cash) ** (ppy / n) - 1.0 if final > 0 else -1.0
    downside = np.sqrt(down2 / n) * sq
    out[O_TOTAL] = total
    out[O_CAGR] = cagr
    out[O_VOL] = std * sq
    out[O_SHARPE] = _nan_div(mean, std) * sq
    out[O_SORTINO] = _nan_div(mean * ppy, downside)
    out[O_CALMAR] = _nan_div(cagr, abs(mdd))
    out[O_MDD] = mdd
    out[O_MDD_DUR] = longest
    out[O_EXPOSURE] = exposed / n
    out[O_TURNOVER] = _nan_div(traded, eq_sum / n) / (n / ppy)
    out[O_FINAL] = final
    out[O_SKEW] = skew
    out[O_KURT] = kurt
    out[O_TRADES] = m
    if m == 0:
        for j in (O_WIN, O_PF, O_EXPECT, O_AVG_WIN, O_AVG_LOSS, O_PAYOFF, O_SQN, O_BEST, O_WORST):
            out[j] = np.nan
        return
    wins = 0
    gross_win = 0.0
    gross_loss = 0.0
    total_pnl = 0.0
    best = -np.inf
    worst = np.inf
    for i in range(m):
        p = rec_f[i, k.F_PNL]
        total_pnl += p
        if p > 0:
            wins += 1
            gross_win += p
        else:
            gross_loss -= p
        best = max(best, rec_f[i, k.F_RET])
        worst = min(worst, rec_f[i, k.F_RET])
    mean_pnl = total_pnl / m
    sqdev = 0.0
    for i in range(m):
        dev = rec_f[i, k.F_PNL] - mean_pnl
        sqdev += dev * dev
    avg_win = gross_win / wins if wins > 0 else np.nan
    avg_loss = -gross_loss / (m - wins) if m > wins else np.nan
    pnl_std = np.sqrt(sqdev / (m - 1)) if m > 1 else np.nan
    out[O_WIN] = wins / m
    if gross_loss > 0:
        out[O_PF] = gross_win / gross_loss
    else:
        out[O_PF] = np.inf if gross_win > 0 else np.nan
    out[O_EXPECT] = mean_pnl
    out[O_AVG_WIN] = avg_win
    out[O_AVG_LOSS] = avg_loss
    out[O_PAYOFF] = _nan_div(avg_win, abs(avg_loss))
    out[O_SQN] = _nan_div(np.sqrt(m) * mean_pnl, pnl_std)
    out[O_BEST] = best
    out[O_WORST] = worst


@njit(cache=True, parallel=True)
def sweep_cross(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    table: np.ndarray,
    fast_idx: np.ndarray,
    slow_idx: np.ndarray,
    direction: np.ndarray,
    frac_tbl: np.ndarray,
    frac_idx: np.ndarray,
    ref_tbl: np.ndarray,
    ref_idx: np.ndarray,
    cfgs: np.ndarray,
    init_cash: np.ndarray,
    rf: np.ndarray,
    ppy: np.ndarray,
    t0: int,
    t1: int,
    n_workers: int,
) -> np.ndarray:
    """Metrics of crossover configurations: ``table[fast_idx[j]]`` crossing ``table[slow_idx[j]]``.

    Per configuration ``j``: ``direction[j]`` (``DIR_*``), fraction row ``frac_tbl[frac_idx[j]]``,
    ATR row ``ref_tbl[ref_idx[j]]``, config vector ``cfgs[j]``, ``init_cash[j]``, per-period
    risk-free ``rf[j]`` and ``ppy[j]``. Returns an array of shape (configs, ``N_OUT``).
    """
    m = fast_idx.shape[0]
    out = np.empty((m, N_OUT))
    no_sig = np.zeros(0, dtype=np.bool_)
    workers = max(1, min(n_workers, m))
    for w in prange(workers):
        rec_i = np.empty((t1 - t0 + 1, 4), dtype=np.int64)
        rec_f = np.empty((t1 - t0 + 1, 6))
        for j in range(w, m, workers):
            stream_one(
                o,
                h,
                lo,
                c,
                table[fast_idx[j]],
                table[slow_idx[j]],
                no_sig,
                no_sig,
                no_sig,
                no_sig,
                True,
                direction[j],
                frac_tbl[frac_idx[j]],
                ref_tbl[ref_idx[j]],
                cfgs[j],
                init_cash[j],
                rf[j],
                ppy[j],
                t0,
                t1,
                rec_i,
                rec_f,
                out[j],
            )
    return out


@njit(cache=True, parallel=True)
def sweep_signals(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    le: np.ndarray,
    lx: np.ndarray,
    se: np.ndarray,
    sx: np.ndarray,
    sig_idx: np.ndarray,
    frac_tbl: np.ndarray,
    frac_idx: np.ndarray,
    ref_tbl: np.ndarray,
    ref_idx: np.ndarray,
    cfgs: np.ndarray,
    init_cash: np.ndarray,
    rf: np.ndarray,
    ppy: np.ndarray,
    t0: int,
    t1: int,
    n_workers: int,
) -> np.ndarray:
    """Metrics of configurations trading shared signal sets: row ``sig_idx[j]`` of the four tables.

    The signal rows are already mapped to each configuration's direction; the other arguments
    are those of :func:`sweep_cross`.
    """
    m = sig_idx.shape[0]
    out = np.empty((m, N_OUT))
    no_val = np.zeros(0)
    workers = max(1, min(n_workers, m))
    for w in prange(workers):
        rec_i = np.empty((t1 - t0 + 1, 4), dtype=np.int64)
        rec_f = np.empty((t1 - t0 + 1, 6))
        for j in range(w, m, workers):
            s = sig_idx[j]
            stream_one(
                o,
                h,
                lo,
                c,
                no_val,
                no_val,
                le[s],
                lx[s],
                se[s],
                sx[s],
                False,
                DIR_BOTH,
                frac_tbl[frac_idx[j]],
                ref_tbl[ref_idx[j]],
                cfgs[j],
                init_cash[j],
                rf[j],
                ppy[j],
                t0,
                t1,
                rec_i,
                rec_f,
                out[j],
            )
    return out
