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


@njit(cache=True)
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
    with at least ``t1 - t0 + 1`` rows.
    """
    st = k.new_state(init_cash)
    n = t1 - t0
    prev = init_cash
    peak = init_cash
    mdd = 0.0
    under = 0
    longest = 0
    exposed = 0
    eq_sum = 0.0
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    down2 = 0.0
    eq = init_cash
    long_ok = direction != DIR_SHORT
    short_ok = direction != DIR_LONG
    for t in range(t0, t1):
        if cross:
            up = False
            dn = False
            if t > 0:
                at, bt, ap, bp = a[t], b[t], a[t - 1], b[t - 1]
                up = at > bt and ap <= bp
                dn = at < bt and ap >= bp
            le = up and long_ok
            lx = dn and long_ok
            se = dn and short_ok
            sx = up and short_ok
        else:
            le, lx, se, sx = le_row[t], lx_row[t], se_row[t], sx_row[t]
        k.step(st, t, o[t], h[t], lo[t], c[t], le, lx, se, sx, frac[t], ref[t], cfg, rec_i, rec_f)
        pos = st[k.S_POS]
        eq = st[k.S_CASH] + pos * c[t]
        x = (eq / prev - 1.0) - rf
        prev = eq
        if t == t0:
            shift = x
        d = x - shift
        d2 = d * d
        s1 += d
        s2 += d2
        s3 += d2 * d
        s4 += d2 * d2
        if x < 0.0:
            down2 += x * x
        eq_sum += eq
        if pos != 0.0:
            exposed += 1
        if eq >= peak:
            peak = eq
            under = 0
        else:
            dd = eq / peak - 1.0
            if dd < 0.0:
                under += 1
                if under > longest:
                    longest = under
                if dd < mdd:
                    mdd = dd
            else:
                under = 0
    _finish(
        st, rec_f, n, eq, init_cash, ppy, mdd, longest, exposed, eq_sum, shift, s1, s2, s3, s4, down2, out
    )


@njit(cache=True, inline="always")
def _finish(
    st: np.ndarray,
    rec_f: np.ndarray,
    n: int,
    final: float,
    init_cash: float,
    ppy: float,
    mdd: float,
    longest: int,
    exposed: int,
    eq_sum: float,
    shift: float,
    s1: float,
    s2: float,
    s3: float,
    s4: float,
    down2: float,
    out: np.ndarray,
) -> None:
    """Turn one configuration's running sums into the metric row (conventions of ``metrics``)."""
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
    out[O_TURNOVER] = _nan_div(st[k.S_TRADED], eq_sum / n) / (n / ppy)
    out[O_FINAL] = final
    out[O_SKEW] = skew
    out[O_KURT] = kurt
    m = int(st[k.S_N_TRADES])
    out[O_TRADES] = m
    if m == 0:
        for j in (O_WIN, O_PF, O_EXPECT, O_AVG_WIN, O_AVG_LOSS, O_PAYOFF, O_SQN, O_BEST, O_WORST):
            out[j] = np.nan
        return
    wins = 0
    gross_win = 0.0
    gross_loss = 0.0
    total_pnl = 0.0
    for i in range(m):
        p = rec_f[i, k.F_PNL]
        total_pnl += p
        if p > 0:
            wins += 1
            gross_win += p
        else:
            gross_loss -= p
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
    out[O_BEST] = st[k.S_BEST]
    out[O_WORST] = st[k.S_WORST]


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
