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

All of these rules live in one bar loop, :func:`run_bars`. Its configuration is read into local
scalars once and its state (cash, position, entry, brackets, pending order) is kept in local
variables, passed through small inlined helpers (:func:`open_position`, :func:`close_position`,
:func:`execute`, :func:`bracket_exit`, :func:`decide`) as tuples, so the compiler holds it in
registers. :func:`simulate` runs the loop keeping equity and positions per bar; the batched
kernels (:mod:`sigma_lab.backtest.batch`) run the very same loop streaming running statistics
instead, and specialise it by passing compile-time constant flags (crossing signals, brackets
on or off), so a feature that is off costs nothing per bar and there is one copy of the rules.
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

# trade record columns
R_ENTRY_IDX, R_EXIT_IDX, R_SIDE, R_REASON = 0, 1, 2, 3
F_ENTRY_PX, F_EXIT_PX, F_SIZE, F_PNL, F_RET, F_FEES = 0, 1, 2, 3, 4, 5


@njit(cache=True, inline="always")
def has_brackets(cfg: np.ndarray) -> bool:
    """Whether the configuration sets a stop-loss, a take-profit or a trailing stop."""
    return cfg[C_SL] > 0 or cfg[C_TP] > 0 or cfg[C_TRAIL] > 0


@njit(cache=True, inline="always")
def open_position(side: float, price: float, frac: float, ref: float, cash: float, cfg: np.ndarray) -> tuple:
    """Enter ``side`` (+1 long, -1 short) at market ``price`` committing ``frac`` of the cash.

    Returns ``(opened, cash, position, fill, fees, stop-loss level, target level, trail)``;
    the levels are NaN when unset, ``trail`` is the trailing distance (a fraction, or an ATR
    amount with ``stop_mode="atr"``).
    """
    nan = np.nan
    if not frac > 0:
        return False, cash, 0.0, nan, nan, nan, nan, nan
    fee, fixed = cfg[C_FEE], cfg[C_FIXED]
    fill = price * (1.0 + side * cfg[C_SLIP])
    shares = (frac * cash - fixed) / (fill * (1.0 + fee))
    if cfg[C_WHOLE] > 0:
        shares = np.floor(shares)
    if not shares > 0:
        return False, cash, 0.0, nan, nan, nan, nan, nan
    fees = fee * shares * fill + fixed
    cash -= side * shares * fill + fees
    atr = cfg[C_ATR] > 0
    sl, tp, trail = cfg[C_SL], cfg[C_TP], cfg[C_TRAIL]
    sl_px, tp_px, trail_amt = nan, nan, nan
    if sl > 0:
        sl_px = fill - side * sl * ref if atr else fill * (1.0 - side * sl)
    if tp > 0:
        tp_px = fill + side * tp * ref if atr else fill * (1.0 + side * tp)
    if trail > 0:
        trail_amt = trail * ref if atr else trail
    return True, cash, side * shares, fill, fees, sl_px, tp_px, trail_amt


@njit(cache=True, inline="always")
def close_position(t: int, price: float, reason: int, pos: float, cash: float, entry_px: float,
                   entry_idx: int, entry_fees: float, k: int, cfg: np.ndarray, rec_i: np.ndarray,
                   rec_f: np.ndarray) -> tuple:
    """Exit position ``pos`` at market ``price`` as trade number ``k`` (recorded when ``rec_i``
    has room); returns ``(cash, traded value)``."""
    side = 1.0 if pos > 0 else -1.0
    shares = abs(pos)
    fill = price * (1.0 - side * cfg[C_SLIP])
    fees = cfg[C_FEE] * shares * fill + cfg[C_FIXED]
    cash += side * shares * fill - fees
    if k < rec_i.shape[0]:
        total_fees = entry_fees + fees
        pnl = side * shares * (fill - entry_px) - total_fees
        rec_i[k, R_ENTRY_IDX] = entry_idx
        rec_i[k, R_EXIT_IDX] = t
        rec_i[k, R_SIDE] = int(side)
        rec_i[k, R_REASON] = reason
        rec_f[k, F_ENTRY_PX] = entry_px
        rec_f[k, F_EXIT_PX] = fill
        rec_f[k, F_SIZE] = shares
        rec_f[k, F_PNL] = pnl
        rec_f[k, F_RET] = pnl / (shares * entry_px)
        rec_f[k, F_FEES] = total_fees
    return cash, shares * fill


@njit(cache=True, inline="always")
def execute(t: int, order: int, reason: int, price: float, frac: float, ref: float, state: tuple,
            cfg: np.ndarray, rec_i: np.ndarray, rec_f: np.ndarray) -> tuple:
    """Carry out ``order`` at market ``price``: exit, enter, or exit then enter (reversal).

    ``state`` (and the result) is ``(cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px,
    tp_px, trail, traded, n_trades)``.
    """
    cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px, tp_px, trail, traded, n_trades = state
    flat = order == GO_FLAT
    if pos != 0.0 and (flat or (order == GO_LONG and pos < 0.0) or (order == GO_SHORT and pos > 0.0)):
        cash, value = close_position(t, price, reason if flat else SIGNAL, pos, cash, entry_px, entry_idx,
                                     entry_fees, n_trades, cfg, rec_i, rec_f)
        pos = 0.0
        traded += value
        n_trades += 1
    if (order == GO_LONG or order == GO_SHORT) and pos == 0.0:
        side = 1.0 if order == GO_LONG else -1.0
        opened, new_cash, new_pos, fill, fees, new_sl, new_tp, new_trail = open_position(
            side, price, frac, ref, cash, cfg
        )
        if opened:
            cash, pos, entry_px, entry_idx, entry_fees, extreme = new_cash, new_pos, fill, t, fees, fill
            sl_px, tp_px, trail = new_sl, new_tp, new_trail
            traded += abs(new_pos) * fill
    return cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px, tp_px, trail, traded, n_trades


@njit(cache=True, inline="always")
def bracket_exit(pos: float, o: float, h: float, lo: float, extreme: float, sl_px: float, tp_px: float,
                 trail: float, atr: bool) -> tuple:
    """Intrabar stop-loss / trailing stop / take-profit of an open position on one bar.

    Returns ``(hit, exit price, reason, extreme)``: the extreme is trailed only when no level
    is hit.
    """
    if pos > 0:
        stop, reason = -np.inf, STOP_LOSS
        if sl_px == sl_px:
            stop = sl_px
        if trail == trail:
            level = extreme - trail if atr else extreme * (1.0 - trail)
            if level > stop:
                stop, reason = level, TRAILING_STOP
        target = tp_px if tp_px == tp_px else np.inf
        if o <= stop:
            return True, o, reason, extreme
        if o >= target:
            return True, o, TAKE_PROFIT, extreme
        if lo <= stop:
            return True, stop, reason, extreme
        if h >= target:
            return True, target, TAKE_PROFIT, extreme
        return False, 0.0, SIGNAL, max(extreme, h)
    stop, reason = np.inf, STOP_LOSS
    if sl_px == sl_px:
        stop = sl_px
    if trail == trail:
        level = extreme + trail if atr else extreme * (1.0 + trail)
        if level < stop:
            stop, reason = level, TRAILING_STOP
    target = tp_px if tp_px == tp_px else -np.inf
    if o >= stop:
        return True, o, reason, extreme
    if o <= target:
        return True, o, TAKE_PROFIT, extreme
    if h >= stop:
        return True, stop, reason, extreme
    if lo <= target:
        return True, target, TAKE_PROFIT, extreme
    return False, 0.0, SIGNAL, min(extreme, lo)


@njit(cache=True, inline="always")
def decide(pos: float, le: bool, lx: bool, se: bool, sx: bool, time_exit: bool) -> tuple:
    """The order (and its exit reason) decided on a bar's close from the signals and time stop."""
    if le and lx:
        le, lx = False, False
    if se and sx:
        se, sx = False, False
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
def run_bars(
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
    long_ok: bool,
    short_ok: bool,
    frac: np.ndarray,
    ref: np.ndarray,
    cfg: np.ndarray,
    init_cash: float,
    rf: float,
    t0: int,
    t1: int,
    brackets: bool,
    keep: bool,
    equity: np.ndarray,
    position: np.ndarray,
    rec_i: np.ndarray,
    rec_f: np.ndarray,
) -> tuple:
    """Simulate one configuration over bars ``[t0, t1)``: the execution rules, once.

    Signals: with ``cross`` the crossings of ``a`` over ``b`` (up: long entry and short exit;
    down: long exit and short entry) gated by ``long_ok``/``short_ok``; otherwise the boolean
    rows. ``brackets`` may be False only when ``cfg`` sets no bracket (:func:`has_brackets`).
    With ``keep`` the equity and position at each bar's close are written to ``equity[t]`` and
    ``position[t]``; otherwise the per-bar returns (excess of the per-period rate ``rf``) are
    folded into running statistics. Closed trades are written to ``rec_i``/``rec_f`` while they
    have room. Callers pass ``cross``, ``brackets`` and ``keep`` as constants, so each caller
    compiles only the branches it uses.

    Returns ``(cash, pos, entry_px, entry_idx, entry_fees, traded, n_trades, final equity,
    max drawdown, longest drawdown, exposed bars, equity sum, shift, s1, s2, s3, s4, downside
    sum of squares)``, where ``s1..s4`` are the sums of powers of the excess returns minus
    ``shift`` (the first one); the statistics are zero with ``keep``.
    """
    at_close = cfg[C_FILL_AT_CLOSE] > 0
    atr = cfg[C_ATR] > 0
    time_n = int(cfg[C_TIME])
    time_on = time_n > 0
    held_extra = 0 if at_close else 1
    nan = np.nan
    state = (init_cash, 0.0, nan, 0, nan, nan, nan, nan, nan, 0.0, 0)
    pending = NO_ORDER
    pending_reason = SIGNAL
    pending_frac = 0.0
    pending_ref = 0.0
    prev = init_cash
    eq = init_cash
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
        if not at_close and pending != NO_ORDER:
            state = execute(t, pending, pending_reason, o[t], pending_frac, pending_ref, state, cfg, rec_i,
                            rec_f)
            pending = NO_ORDER
        cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px, tp_px, trail, traded, n_trades = state
        if brackets and pos != 0.0 and (not at_close or entry_idx < t):
            hit, price, reason, extreme = bracket_exit(pos, o[t], h[t], lo[t], extreme, sl_px, tp_px, trail,
                                                       atr)
            if hit:
                cash, value = close_position(t, price, reason, pos, cash, entry_px, entry_idx, entry_fees,
                                             n_trades, cfg, rec_i, rec_f)
                pos = 0.0
                traded += value
                n_trades += 1
            state = (cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px, tp_px, trail, traded,
                     n_trades)
        time_exit = time_on and pos != 0.0 and t - entry_idx + held_extra >= time_n
        order, reason = decide(pos, le, lx, se, sx, time_exit)
        if order != NO_ORDER:
            if at_close:
                state = execute(t, order, reason, c[t], frac[t], ref[t], state, cfg, rec_i, rec_f)
                cash, pos = state[0], state[1]
            else:
                pending = order
                pending_reason = reason
                pending_frac = frac[t]
                pending_ref = ref[t]
        eq = cash + pos * c[t]
        if keep:
            equity[t] = eq
            position[t] = pos
        else:
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
    cash, pos, entry_px, entry_idx, entry_fees, extreme, sl_px, tp_px, trail, traded, n_trades = state
    return (cash, pos, entry_px, entry_idx, entry_fees, traded, n_trades, eq, mdd, longest, exposed,
            eq_sum, shift, s1, s2, s3, s4, down2)


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Run one backtest over all bars.

    ``frac[t]`` is the fraction of equity an entry decided at t commits, ``ref[t]`` the ATR
    known at t (for ATR-multiple brackets), ``cfg`` the configuration vector (``C_*`` slots).
    Returns equity and position (signed shares) per bar, integer and float trade records
    (closed trades, then the open one with reason END, if any) and the traded value of all fills.
    """
    n = close.shape[0]
    equity = np.empty(n)
    position = np.empty(n)
    rec_i = np.zeros((n + 1, 4), dtype=np.int64)
    rec_f = np.zeros((n + 1, 6))
    none = np.zeros(0)
    res = run_bars(open_, high, low, close, none, none, long_entry, long_exit, short_entry, short_exit, False,
                   True, True, frac, ref, cfg, init_cash, 0.0, 0, n, has_brackets(cfg), True, equity,
                   position, rec_i, rec_f)
    pos, entry_px, entry_idx, entry_fees, traded, k = res[1], res[2], res[3], res[4], res[5], res[6]
    if pos != 0.0 and n > 0:
        side = 1.0 if pos > 0 else -1.0
        shares = abs(pos)
        pnl = side * shares * (close[n - 1] - entry_px) - entry_fees
        rec_i[k, R_ENTRY_IDX] = entry_idx
        rec_i[k, R_EXIT_IDX] = n - 1
        rec_i[k, R_SIDE] = int(side)
        rec_i[k, R_REASON] = END
        rec_f[k, F_ENTRY_PX] = entry_px
        rec_f[k, F_EXIT_PX] = close[n - 1]
        rec_f[k, F_SIZE] = shares
        rec_f[k, F_PNL] = pnl
        rec_f[k, F_RET] = pnl / (shares * entry_px)
        rec_f[k, F_FEES] = entry_fees
        k += 1
    return equity, position, rec_i[:k].copy(), rec_f[:k].copy(), traded
