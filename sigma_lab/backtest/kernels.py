"""The numba backtest kernel: arrays and scalars in, arrays out.

One position at a time (long, short or flat), all-in/all-out trades. Per bar t, in this order:

1. ``fill="next_open"``: the order decided at t-1's close fills at t's open (a reversal exits
   and then enters on the same fill).
2. Brackets are checked intrabar on bar t when a position is open, *including the entry bar
   when the entry filled at its open* (the whole bar then trades after the fill); with
   ``fill="close"`` they are checked from the bar after entry. A bar that opens beyond the stop
   (or target) fills at the open (gap-through); otherwise a bar touching both the stop and the
   target exits at the stop (the stop wins). The stop level is the tighter of the stop-loss
   and the trailing stop; the trailing stop trails the highest high (long) / lowest low
   (short) of the bars *before* the checked bar, starting at the entry price, so a bar's own
   high never tightens the stop that bar is checked against.
3. Signals at t's close decide the next order: exit, enter, or reverse on an opposite entry.
   An entry and an exit of the same side on one bar cancel out (vectorbt's "ignore").
   ``time_stop = N`` exits so that the trade is held exactly N bars (an exit order decided
   at the close N-1 bars after an open entry, or N bars after a close entry).
   With ``fill="close"`` the order fills at t's close.
4. Equity is marked to market at t's close.

A trade still open after the last bar is not closed: its ledger row carries reason ``END``
(marked at the last close, no exit fees) and its value counts in the final equity, as in
vectorbt. Stop levels are fractions of the entry fill price (slippage included) or ATR
multiples of the ATR known at the decision bar.

The state of one simulation is a float64 vector (``S_*`` slots) and its per-bar logic lives in
small jitted helpers (:func:`open_position`, :func:`close_position`, :func:`check_brackets`,
:func:`decide`), so a batched kernel can run many configurations through the same steps and
stream statistics without storing equity. Closed-trade statistics are accumulated in the state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# exit reasons (ledger codes)
SIGNAL, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, TIME_STOP, END = 0, 1, 2, 3, 4, 5
EXIT_REASONS: tuple[str, ...] = ("signal", "stop_loss", "take_profit", "trailing_stop", "time_stop", "end")

# orders
NO_ORDER, GO_LONG, GO_SHORT, GO_FLAT = 0, 1, 2, 3

# configuration vector slots
C_FILL_AT_CLOSE, C_WHOLE, C_FEE, C_FIXED, C_SLIP, C_SL, C_TP, C_TRAIL, C_TIME, C_ATR = range(10)
N_CONFIG = 10

# state vector slots
(
    S_CASH,
    S_POS,
    S_ENTRY_PX,
    S_ENTRY_IDX,
    S_ENTRY_FEES,
    S_EXTREME,
    S_SL_PX,
    S_TP_PX,
    S_TRAIL,
    S_PENDING,
    S_PENDING_REASON,
    S_PENDING_FRAC,
    S_PENDING_REF,
    S_N_TRADES,
    S_N_WINS,
    S_SUM_PNL,
    S_SUMSQ_PNL,
    S_GROSS_WIN,
    S_GROSS_LOSS,
    S_BEST,
    S_WORST,
    S_TRADED,
    S_FEES,
) = range(23)
N_STATE = 23

# trade record columns
R_ENTRY_IDX, R_EXIT_IDX, R_SIDE, R_REASON = 0, 1, 2, 3
F_ENTRY_PX, F_EXIT_PX, F_SIZE, F_PNL, F_RET, F_FEES = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def new_state(init_cash: float) -> np.ndarray:
    """A fresh, flat simulation state holding ``init_cash``."""
    st = np.zeros(N_STATE)
    st[S_CASH] = init_cash
    st[S_SL_PX] = np.nan
    st[S_TP_PX] = np.nan
    st[S_TRAIL] = np.nan
    st[S_BEST] = -np.inf
    st[S_WORST] = np.inf
    return st


@njit(cache=True, inline="always")
def open_position(st: np.ndarray, t: int, side: float, price: float, frac: float, ref: float,
                  cfg: np.ndarray) -> None:
    """Enter ``side`` (+1 long, -1 short) at market ``price`` committing ``frac`` of equity."""
    if not frac > 0:
        return
    fill = price * (1.0 + side * cfg[C_SLIP])
    equity = st[S_CASH]
    shares = (frac * equity - cfg[C_FIXED]) / (fill * (1.0 + cfg[C_FEE]))
    if cfg[C_WHOLE] > 0:
        shares = np.floor(shares)
    if not shares > 0:
        return
    fees = cfg[C_FEE] * shares * fill + cfg[C_FIXED]
    st[S_CASH] -= side * shares * fill + fees
    st[S_POS] = side * shares
    st[S_ENTRY_PX] = fill
    st[S_ENTRY_IDX] = t
    st[S_ENTRY_FEES] = fees
    st[S_EXTREME] = fill
    st[S_TRADED] += shares * fill
    st[S_FEES] += fees
    atr = cfg[C_ATR] > 0
    sl, tp, trail = cfg[C_SL], cfg[C_TP], cfg[C_TRAIL]
    st[S_SL_PX] = np.nan
    st[S_TP_PX] = np.nan
    st[S_TRAIL] = np.nan
    if sl > 0:
        st[S_SL_PX] = fill - side * sl * ref if atr else fill * (1.0 - side * sl)
    if tp > 0:
        st[S_TP_PX] = fill + side * tp * ref if atr else fill * (1.0 + side * tp)
    if trail > 0:
        st[S_TRAIL] = trail * ref if atr else trail


@njit(cache=True, inline="always")
def close_position(st: np.ndarray, t: int, price: float, reason: int, cfg: np.ndarray,
                   rec_i: np.ndarray, rec_f: np.ndarray) -> None:
    """Exit the open position at market ``price``; record the trade when ``rec_i`` has room."""
    pos = st[S_POS]
    side = 1.0 if pos > 0 else -1.0
    shares = abs(pos)
    fill = price * (1.0 - side * cfg[C_SLIP])
    fees = cfg[C_FEE] * shares * fill + cfg[C_FIXED]
    st[S_CASH] += side * shares * fill - fees
    st[S_POS] = 0.0
    st[S_TRADED] += shares * fill
    st[S_FEES] += fees
    entry_px = st[S_ENTRY_PX]
    total_fees = st[S_ENTRY_FEES] + fees
    pnl = side * shares * (fill - entry_px) - total_fees
    ret = pnl / (shares * entry_px)
    k = int(st[S_N_TRADES])
    st[S_N_TRADES] = k + 1
    st[S_SUM_PNL] += pnl
    st[S_SUMSQ_PNL] += pnl * pnl
    if pnl > 0:
        st[S_N_WINS] += 1
        st[S_GROSS_WIN] += pnl
    else:
        st[S_GROSS_LOSS] -= pnl
    st[S_BEST] = max(st[S_BEST], ret)
    st[S_WORST] = min(st[S_WORST], ret)
    if k < rec_i.shape[0]:
        rec_i[k, R_ENTRY_IDX] = int(st[S_ENTRY_IDX])
        rec_i[k, R_EXIT_IDX] = t
        rec_i[k, R_SIDE] = int(side)
        rec_i[k, R_REASON] = reason
        rec_f[k, F_ENTRY_PX] = entry_px
        rec_f[k, F_EXIT_PX] = fill
        rec_f[k, F_SIZE] = shares
        rec_f[k, F_PNL] = pnl
        rec_f[k, F_RET] = ret
        rec_f[k, F_FEES] = total_fees


@njit(cache=True, inline="always")
def execute(st: np.ndarray, t: int, order: int, reason: int, price: float, frac: float, ref: float,
            cfg: np.ndarray, rec_i: np.ndarray, rec_f: np.ndarray) -> None:
    """Carry out ``order`` at market ``price``: exit, enter, or exit then enter (reversal)."""
    pos = st[S_POS]
    if order == GO_FLAT:
        if pos != 0.0:
            close_position(st, t, price, reason, cfg, rec_i, rec_f)
    elif order == GO_LONG:
        if pos < 0.0:
            close_position(st, t, price, SIGNAL, cfg, rec_i, rec_f)
        if st[S_POS] == 0.0:
            open_position(st, t, 1.0, price, frac, ref, cfg)
    elif order == GO_SHORT:
        if pos > 0.0:
            close_position(st, t, price, SIGNAL, cfg, rec_i, rec_f)
        if st[S_POS] == 0.0:
            open_position(st, t, -1.0, price, frac, ref, cfg)


@njit(cache=True, inline="always")
def check_brackets(st: np.ndarray, t: int, o: float, h: float, lo: float, cfg: np.ndarray,
                   rec_i: np.ndarray, rec_f: np.ndarray) -> None:
    """Intrabar stop-loss / trailing stop / take-profit on one bar, then trail the extreme."""
    pos = st[S_POS]
    if pos == 0.0:
        return
    sl, tp, trail = st[S_SL_PX], st[S_TP_PX], st[S_TRAIL]
    atr = cfg[C_ATR] > 0
    if pos > 0:
        stop, reason = -np.inf, STOP_LOSS
        if sl == sl:
            stop = sl
        if trail == trail:
            level = st[S_EXTREME] - trail if atr else st[S_EXTREME] * (1.0 - trail)
            if level > stop:
                stop, reason = level, TRAILING_STOP
        target = tp if tp == tp else np.inf
        if o <= stop:
            close_position(st, t, o, reason, cfg, rec_i, rec_f)
        elif o >= target:
            close_position(st, t, o, TAKE_PROFIT, cfg, rec_i, rec_f)
        elif lo <= stop:
            close_position(st, t, stop, reason, cfg, rec_i, rec_f)
        elif h >= target:
            close_position(st, t, target, TAKE_PROFIT, cfg, rec_i, rec_f)
        else:
            st[S_EXTREME] = max(st[S_EXTREME], h)
    else:
        stop, reason = np.inf, STOP_LOSS
        if sl == sl:
            stop = sl
        if trail == trail:
            level = st[S_EXTREME] + trail if atr else st[S_EXTREME] * (1.0 + trail)
            if level < stop:
                stop, reason = level, TRAILING_STOP
        target = tp if tp == tp else -np.inf
        if o >= stop:
            close_position(st, t, o, reason, cfg, rec_i, rec_f)
        elif o <= target:
            close_position(st, t, o, TAKE_PROFIT, cfg, rec_i, rec_f)
        elif h >= stop:
            close_position(st, t, stop, reason, cfg, rec_i, rec_f)
        elif lo <= target:
            close_position(st, t, target, TAKE_PROFIT, cfg, rec_i, rec_f)
        else:
            st[S_EXTREME] = min(st[S_EXTREME], lo)


@njit(cache=True, inline="always")
def decide(st: np.ndarray, t: int, le: bool, lx: bool, se: bool, sx: bool, cfg: np.ndarray) -> tuple:
    """The order (and its exit reason) decided on bar t's close from the signals and time stop."""
    if le and lx:
        le, lx = False, False
    if se and sx:
        se, sx = False, False
    pos = st[S_POS]
    time_exit = False
    if pos != 0.0 and cfg[C_TIME] > 0:
        held = t - st[S_ENTRY_IDX] + (0.0 if cfg[C_FILL_AT_CLOSE] > 0 else 1.0)
        time_exit = held >= cfg[C_TIME]
    if pos > 0:
        if se:
            return GO_SHORT, SIGNAL
        if lx:
            return GO_FLAT, SIGNAL
        if time_exit:
            return GO_FLAT, TIME_STOP
    elif pos < 0:
        if le:
            return GO_LONG, SIGNAL
        if sx:
            return GO_FLAT, SIGNAL
        if time_exit:
            return GO_FLAT, TIME_STOP
    else:
        if le and not se:
            return GO_LONG, SIGNAL
        if se and not le:
            return GO_SHORT, SIGNAL
    return NO_ORDER, SIGNAL


@njit(cache=True, inline="always")
def step(st: np.ndarray, t: int, o: float, h: float, lo: float, c: float, le: bool, lx: bool,
         se: bool, sx: bool, frac: float, ref: float, cfg: np.ndarray, rec_i: np.ndarray,
         rec_f: np.ndarray) -> None:
    """Advance one simulation by bar t: pending fill, brackets, decision (and close fill)."""
    at_close = cfg[C_FILL_AT_CLOSE] > 0
    if not at_close and st[S_PENDING] != NO_ORDER:
        execute(st, t, int(st[S_PENDING]), int(st[S_PENDING_REASON]), o, st[S_PENDING_FRAC],
                st[S_PENDING_REF], cfg, rec_i, rec_f)
        st[S_PENDING] = NO_ORDER
    if st[S_POS] != 0.0 and (not at_close or st[S_ENTRY_IDX] < t):
        check_brackets(st, t, o, h, lo, cfg, rec_i, rec_f)
    order, reason = decide(st, t, le, lx, se, sx, cfg)
    if order != NO_ORDER:
        if at_close:
            execute(st, t, order, reason, c, frac, ref, cfg, rec_i, rec_f)
        else:
            st[S_PENDING] = order
            st[S_PENDING_REASON] = reason
            st[S_PENDING_FRAC] = frac
            st[S_PENDING_REF] = ref


@njit(cache=True)
def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    long_entry: np.ndarray,
    long_exit: np.ndarray,
    short_entry: np.ndarray,
    short_exit: np.ndarray,
    frac: np.ndarray,
    ref: np.ndarray,
    cfg: np.ndarray,
    init_cash: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run one backtest over all bars.

    ``frac[t]`` is the fraction of equity an entry decided at t commits, ``ref[t]`` the ATR
    known at t (for ATR-multiple brackets), ``cfg`` the configuration vector (``C_*`` slots).
    Returns equity and position (signed shares) per bar, integer and float trade records
    (closed trades, then the open one with reason END, if any) and the final state.
    """
    n = close.shape[0]
    equity = np.empty(n)
    position = np.empty(n)
    rec_i = np.zeros((n + 1, 4), dtype=np.int64)
    rec_f = np.zeros((n + 1, 6))
    st = new_state(init_cash)
    for t in range(n):
        step(st, t, open_[t], high[t], low[t], close[t], long_entry[t], long_exit[t], short_entry[t],
             short_exit[t], frac[t], ref[t], cfg, rec_i, rec_f)
        pos = st[S_POS]
        position[t] = pos
        equity[t] = st[S_CASH] + pos * close[t]
    k = int(st[S_N_TRADES])
    if st[S_POS] != 0.0 and n > 0:
        pos = st[S_POS]
        side = 1.0 if pos > 0 else -1.0
        shares = abs(pos)
        entry_px = st[S_ENTRY_PX]
        pnl = side * shares * (close[n - 1] - entry_px) - st[S_ENTRY_FEES]
        rec_i[k, R_ENTRY_IDX] = int(st[S_ENTRY_IDX])
        rec_i[k, R_EXIT_IDX] = n - 1
        rec_i[k, R_SIDE] = int(side)
        rec_i[k, R_REASON] = END
        rec_f[k, F_ENTRY_PX] = entry_px
        rec_f[k, F_EXIT_PX] = close[n - 1]
        rec_f[k, F_SIZE] = shares
        rec_f[k, F_PNL] = pnl
        rec_f[k, F_RET] = pnl / (shares * entry_px)
        rec_f[k, F_FEES] = st[S_ENTRY_FEES]
        k += 1
    return equity, position, rec_i[:k].copy(), rec_f[:k].copy(), st
