"""Numba kernels for the price and volume indicators.

Every kernel takes and returns float64 NumPy arrays (and scalars), is deterministic, and
only reads bars at or before the bar it writes. Inputs may start with NaN (the warm-up of
an upstream kernel); outputs are NaN until enough valid input has been seen. Where TA-Lib
has the same indicator the kernel follows TA-Lib's seeding (EMA seeded by an SMA, Wilder
averages seeded by a plain mean) so results agree with it after its lookback.

The indicators that matter most for speed have an ``*_into`` form that writes into arrays the
caller provides (rows of the registry's result block), in a single pass with no temporaries;
the plain form allocates its outputs and calls it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ZERO = 1e-8  # TA-Lib's TA_IS_ZERO threshold
RESUM_EVERY = 1024  # running window sums are re-added from scratch this often, so rounding never drifts
#: A sliding update larger than this multiple of what it leaves triggers an exact recompute.
CANCELLATION_LIMIT = 1e4

kernel = njit(cache=True, nogil=True, boundscheck=False, fastmath=False)
"""The decorator of every kernel: cached, GIL released, IEEE arithmetic (no reassociation)."""


@kernel
def first_valid(x: np.ndarray) -> int:
    """Index of the first non-NaN value, or ``len(x)`` when there is none."""
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            return i
    return x.shape[0]


@kernel
def sma_into(x: np.ndarray, period: int, out: np.ndarray) -> None:
    """Write the simple moving average of ``x`` over ``period`` values into ``out``.

    A running sum takes one add per bar; every ``RESUM_EVERY`` bars it is re-added from the
    window itself, so rounding error cannot build up over millions of bars.
    """
    n = x.shape[0]
    first = first_valid(x) + period - 1
    out[: min(first, n)] = np.nan
    total = 0.0
    left = 1
    for i in range(first, n):
        left -= 1
        if left == 0:
            left = RESUM_EVERY
            total = 0.0
            for j in range(i - period + 1, i + 1):
                total += x[j]
        else:
            total += x[i] - x[i - period]
        out[i] = total / period


@kernel
def sma(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average over ``period`` values."""
    out = np.empty(x.shape[0])
    sma_into(x, period, out)
    return out


@kernel
def ema_seeded_into(x: np.ndarray, period: int, seed_end: int, out: np.ndarray) -> None:
    """Write the EMA (k = 2/(period+1)), seeded at ``seed_end`` by the mean of the window ending there.

    Each step is ``prev * (1 - k) + x * k``: TA-Lib's ``(x - prev) * k + prev`` rearranged, equal to
    within a few units in the last place and a shorter dependency chain per bar.
    """
    n = x.shape[0]
    if seed_end >= n or seed_end - period + 1 < 0:
        out[:] = np.nan
        return
    out[:seed_end] = np.nan
    k = 2.0 / (period + 1.0)
    keep = 1.0 - k
    total = 0.0
    for i in range(seed_end - period + 1, seed_end + 1):
        total += x[i]
    prev = total / period
    out[seed_end] = prev
    for i in range(seed_end + 1, n):
        # the weighted form keeps one multiply and one add on the loop-carried chain
        prev = prev * keep + x[i] * k
        out[i] = prev


@kernel
def ema_seeded(x: np.ndarray, period: int, seed_end: int) -> np.ndarray:
    """EMA (k = 2/(period+1)) seeded at ``seed_end`` by the mean of the ``period`` values ending there."""
    out = np.empty(x.shape[0])
    ema_seeded_into(x, period, seed_end, out)
    return out


@kernel
def ema_into(x: np.ndarray, period: int, out: np.ndarray) -> None:
    """Write the EMA seeded by the SMA of the first ``period`` valid values into ``out``."""
    ema_seeded_into(x, period, first_valid(x) + period - 1, out)


@kernel
def ema(x: np.ndarray, period: int) -> np.ndarray:
    """EMA seeded by the SMA of the first ``period`` valid values (TA-Lib's convention)."""
    out = np.empty(x.shape[0])
    ema_into(x, period, out)
    return out


@kernel
def rolling_max(x: np.ndarray, period: int) -> np.ndarray:
    """Highest value of the last ``period`` values (the current one included)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    best_i = -1
    for i in range(period - 1, n):
        lo = i - period + 1
        if best_i < lo:
            best_i = lo
            for j in range(lo + 1, i + 1):
                if x[j] >= x[best_i]:
                    best_i = j
        elif x[i] >= x[best_i]:
            best_i = i
        out[i] = x[best_i]
    return out


@kernel
def rolling_min(x: np.ndarray, period: int) -> np.ndarray:
    """Lowest value of the last ``period`` values (the current one included)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    best_i = -1
    for i in range(period - 1, n):
        lo = i - period + 1
        if best_i < lo:
            best_i = lo
            for j in range(lo + 1, i + 1):
                if x[j] <= x[best_i]:
                    best_i = j
        elif x[i] <= x[best_i]:
            best_i = i
        out[i] = x[best_i]
    return out


@kernel
def rolling_std(x: np.ndarray, period: int, ddof: int) -> np.ndarray:
    """Standard deviation of the last ``period`` values (sliding Welford update)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first_valid(x)
    if start + period > n or period - ddof <= 0:
        return out
    mean = 0.0
    m2 = 0.0
    for j in range(start, start + period):
        count = j - start + 1
        delta = x[j] - mean
        mean += delta / count
        m2 += delta * (x[j] - mean)
    out[start + period - 1] = np.sqrt(max(m2, 0.0) / (period - ddof))
    for i in range(start + period, n):
        old = x[i - period]
        new = x[i]
        new_mean = mean + (new - old) / period
        m2 += (new - old) * (new - new_mean + old - mean)
        mean = new_mean
        out[i] = np.sqrt(max(m2, 0.0) / (period - ddof))
    return out


@kernel
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range; NaN on the first bar, which has no previous close."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        pc = close[i - 1]
        out[i] = max(high[i], pc) - min(low[i], pc)
    return out


@kernel
def atr_into(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, out: np.ndarray) -> None:
    """Write Wilder's ATR into ``out`` in one pass: true range and smoothing fused, no temporary array.

    Seeded by the mean of the first ``period`` true ranges (bars 1..period), as TA-Lib does.
    """
    n = high.shape[0]
    out[: min(period, n)] = np.nan
    if period >= n:
        return
    total = 0.0
    for i in range(1, period + 1):
        pc = close[i - 1]
        total += max(high[i], pc) - min(low[i], pc)
    prev = total / period
    out[period] = prev
    keep = (period - 1.0) / period
    inv = 1.0 / period
    for i in range(period + 1, n):
        pc = close[i - 1]
        prev = prev * keep + (max(high[i], pc) - min(low[i], pc)) * inv
        out[i] = prev


@kernel
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range, seeded by the mean of the first ``period`` true ranges."""
    out = np.empty(high.shape[0])
    atr_into(high, low, close, period, out)
    return out


@kernel
def rsi_into(x: np.ndarray, period: int, out: np.ndarray) -> None:
    """Write Wilder's RSI into ``out``; valid input may start anywhere; 0 when nothing moved."""
    n = x.shape[0]
    start = first_valid(x)
    first = start + period
    out[: min(first, n)] = np.nan
    if first >= n:
        return
    gain = 0.0
    loss = 0.0
    for i in range(start + 1, first + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= period
    loss /= period
    total = gain + loss
    out[first] = 100.0 * gain / total if abs(total) >= _ZERO else 0.0
    keep = (period - 1.0) / period
    inv = 1.0 / period
    for i in range(first + 1, n):
        d = x[i] - x[i - 1]
        # selects rather than branches (bit-identical: adding 0.0 changes nothing)
        up = 0.0 if d < 0 else d
        down = -d if d < 0 else 0.0
        gain = gain * keep + up * inv
        loss = loss * keep + down * inv
        total = gain + loss
        out[i] = 100.0 * gain / total if abs(total) >= _ZERO else 0.0


@kernel
def rsi(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI on valid input starting anywhere; 0 when there was no movement at all."""
    out = np.empty(x.shape[0])
    rsi_into(x, period, out)
    return out


@kernel
def adx_into(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int,
    out_adx: np.ndarray,
    out_pdi: np.ndarray,
    out_mdi: np.ndarray,
) -> None:
    """Write ADX, +DI and -DI in one pass (Wilder smoothing seeded like TA-Lib)."""
    n = high.shape[0]
    if period >= n:
        out_adx[:] = np.nan
        out_pdi[:] = np.nan
        out_mdi[:] = np.nan
        return
    out_adx[: min(2 * period - 1, n)] = np.nan
    out_pdi[:period] = np.nan
    out_mdi[:period] = np.nan
    pdm = 0.0
    mdm = 0.0
    trs = 0.0
    sum_dx = 0.0
    adx_value = 0.0
    for i in range(1, n):
        up = high[i] - high[i - 1]
        down = low[i - 1] - low[i]
        p = 0.0
        m = 0.0
        if down > 0 and up < down:
            m = down
        elif up > 0 and up > down:
            p = up
        pc = close[i - 1]
        tr = max(high[i], pc) - min(low[i], pc)
        if i < period:
            pdm += p
            mdm += m
            trs += tr
            continue
        pdm = pdm - pdm / period + p
        mdm = mdm - mdm / period + m
        trs = trs - trs / period + tr
        dx = np.nan
        if abs(trs) >= _ZERO:
            pdi = 100.0 * pdm / trs
            mdi = 100.0 * mdm / trs
            out_pdi[i] = pdi
            out_mdi[i] = mdi
            s = pdi + mdi
            if abs(s) >= _ZERO:
                dx = 100.0 * abs(pdi - mdi) / s
        else:
            out_pdi[i] = 0.0
            out_mdi[i] = 0.0
        if i < 2 * period:
            if not np.isnan(dx):
                sum_dx += dx
            if i == 2 * period - 1:
                adx_value = sum_dx / period
                out_adx[i] = adx_value
        else:
            if not np.isnan(dx):
                adx_value = (adx_value * (period - 1) + dx) / period
            out_adx[i] = adx_value


@kernel
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int):
    """ADX with +DI and -DI, Wilder smoothing seeded like TA-Lib: returns ``(adx, plus_di, minus_di)``."""
    n = high.shape[0]
    out_adx = np.empty(n)
    out_pdi = np.empty(n)
    out_mdi = np.empty(n)
    adx_into(high, low, close, period, out_adx, out_pdi, out_mdi)
    return out_adx, out_pdi, out_mdi


@kernel
def kama(x: np.ndarray, period: int, fast: int, slow: int) -> np.ndarray:
    """Kaufman adaptive moving average (efficiency ratio over ``period``), seeded like TA-Lib."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period >= n:
        return out
    sc_slow = 2.0 / (slow + 1.0)
    sc_diff = 2.0 / (fast + 1.0) - sc_slow
    noise = 0.0
    for i in range(1, period + 1):
        noise += abs(x[i - 1] - x[i])
    prev = x[period - 1]
    for i in range(period, n):
        if i > period:
            noise -= abs(x[i - period - 1] - x[i - period])
            noise += abs(x[i] - x[i - 1])
        change = x[i] - x[i - period]
        if noise <= change or abs(noise) < _ZERO:
            er = 1.0
        else:
            er = abs(change / noise)
        sc = er * sc_diff + sc_slow
        sc *= sc
        prev = (x[i] - prev) * sc + prev
        out[i] = prev
    return out


@kernel
def aroon(high: np.ndarray, low: np.ndarray, period: int):
    """Aroon up and down over ``period + 1`` bars (ties go to the most recent bar)."""
    n = high.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    hi_i = -1
    lo_i = -1
    for i in range(period, n):
        lo = i - period
        if hi_i < lo:
            hi_i = lo
            for j in range(lo + 1, i + 1):
                if high[j] >= high[hi_i]:
                    hi_i = j
        elif high[i] >= high[hi_i]:
            hi_i = i
        if lo_i < lo:
            lo_i = lo
            for j in range(lo + 1, i + 1):
                if low[j] <= low[lo_i]:
                    lo_i = j
        elif low[i] <= low[lo_i]:
            lo_i = i
        up[i] = 100.0 * (period - (i - hi_i)) / period
        down[i] = 100.0 * (period - (i - lo_i)) / period
    return up, down


@kernel
def sar(high: np.ndarray, low: np.ndarray, step: float, maximum: float) -> np.ndarray:
    """Wilder's parabolic SAR, started like TA-Lib (direction from the first bar's directional movement)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    af = step
    if af > maximum:
        af = maximum
        step = maximum
    up = high[1] - high[0]
    down = low[0] - low[1]
    is_long = not (down > 0 and up < down)
    if is_long:
        ep = high[1]
        s = low[0]
    else:
        ep = low[1]
        s = high[0]
    new_low = low[1]
    new_high = high[1]
    for i in range(1, n):
        prev_low = new_low
        prev_high = new_high
        new_low = low[i]
        new_high = high[i]
        if is_long:
            if new_low <= s:
                is_long = False
                s = max(ep, prev_high, new_high)
                out[i] = s
                af = step
                ep = new_low
                s = max(s + af * (ep - s), prev_high, new_high)
            else:
                out[i] = s
                if new_high > ep:
                    ep = new_high
                    af = min(af + step, maximum)
                s = min(s + af * (ep - s), prev_low, new_low)
        else:
            if new_high >= s:
                is_long = True
                s = min(ep, prev_low, new_low)
                out[i] = s
                af = step
                ep = new_high
                s = min(s + af * (ep - s), prev_low, new_low)
            else:
                out[i] = s
                if new_low < ep:
                    ep = new_low
                    af = min(af + step, maximum)
                s = max(s + af * (ep - s), prev_high, new_high)
    return out


@kernel
def supertrend(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, multiplier: float):
    """Supertrend line and direction (+1 up, -1 down) on Wilder ATR bands around the bar midpoint."""
    n = high.shape[0]
    line = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    a = atr(high, low, close, period)
    upper = np.nan
    lower = np.nan
    trend = 1.0
    for i in range(n):
        if np.isnan(a[i]):
            continue
        mid = (high[i] + low[i]) / 2.0
        basic_upper = mid + multiplier * a[i]
        basic_lower = mid - multiplier * a[i]
        if np.isnan(upper):
            upper = basic_upper
            lower = basic_lower
            trend = 1.0 if close[i] > mid else -1.0
        else:
            pc = close[i - 1]
            upper = basic_upper if (basic_upper < upper or pc > upper) else upper
            lower = basic_lower if (basic_lower > lower or pc < lower) else lower
            if trend < 0 and close[i] > upper:
                trend = 1.0
            elif trend > 0 and close[i] < lower:
                trend = -1.0
        line[i] = lower if trend > 0 else upper
        direction[i] = trend
    return line, direction


@kernel
def linreg_r2(x: np.ndarray, period: int) -> np.ndarray:
    """R² of a least-squares line through the last ``period`` values against time; 0 for a flat window."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    t_mean = (period - 1) / 2.0
    stt = 0.0
    for j in range(period):
        stt += (j - t_mean) ** 2
    for i in range(period - 1, n):
        lo = i - period + 1
        mean = 0.0
        for j in range(period):
            mean += x[lo + j]
        mean /= period
        sty = 0.0
        syy = 0.0
        for j in range(period):
            d = x[lo + j] - mean
            sty += (j - t_mean) * d
            syy += d * d
        out[i] = sty * sty / (stt * syy) if syy > 0.0 else 0.0
    return out


@kernel
def cci(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Commodity channel index on the typical price with mean absolute deviation (TA-Lib's form)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    tp = (high + low + close) / 3.0
    for i in range(period - 1, n):
        lo = i - period + 1
        mean = 0.0
        for j in range(lo, i + 1):
            mean += tp[j]
        mean /= period
        dev = 0.0
        for j in range(lo, i + 1):
            dev += abs(tp[j] - mean)
        dev /= period
        diff = tp[i] - mean
        out[i] = diff / (0.015 * dev) if (diff != 0.0 and dev != 0.0) else 0.0
    return out


@kernel
def stoch_k(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Raw stochastic %K in [0, 100]; 0 when the range is empty (TA-Lib's convention)."""
    hh = rolling_max(high, period)
    ll = rolling_min(low, period)
    n = high.shape[0]
    out = np.full(n, np.nan)
    start = max(period - 1, first_valid(close) + period - 1, first_valid(hh), first_valid(ll))
    for i in range(start, n):
        rng = hh[i] - ll[i]
        out[i] = 100.0 * (close[i] - ll[i]) / rng if rng != 0.0 else 0.0
    return out


@kernel
def willr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Williams %R in [-100, 0]; 0 when the range is empty (TA-Lib's convention)."""
    hh = rolling_max(high, period)
    ll = rolling_min(low, period)
    n = high.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        rng = hh[i] - ll[i]
        out[i] = -100.0 * (hh[i] - close[i]) / rng if rng != 0.0 else 0.0
    return out


@kernel
def ultosc(high: np.ndarray, low: np.ndarray, close: np.ndarray, p1: int, p2: int, p3: int) -> np.ndarray:
    """Ultimate oscillator: weighted (4:2:1) buying pressure over true range on three windows."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    bp = np.zeros(n)
    tr = np.zeros(n)
    for i in range(1, n):
        true_low = min(low[i], close[i - 1])
        bp[i] = close[i] - true_low
        tr[i] = max(high[i], close[i - 1]) - true_low
    longest = max(p1, p2, p3)
    for i in range(longest, n):
        total = 0.0
        weights = (4.0, 2.0, 1.0)
        periods = (p1, p2, p3)
        for w in range(3):
            sb = 0.0
            st = 0.0
            for j in range(i - periods[w] + 1, i + 1):
                sb += bp[j]
                st += tr[j]
            if st != 0.0:
                total += weights[w] * sb / st
        out[i] = 100.0 * total / 7.0
    return out


@kernel
def fisher(high: np.ndarray, low: np.ndarray, period: int):
    """Ehlers' Fisher transform of the bar midpoint's position in its ``period`` range, and its trigger."""
    n = high.shape[0]
    fish = np.full(n, np.nan)
    trigger = np.full(n, np.nan)
    mid = (high + low) / 2.0
    hh = rolling_max(mid, period)
    ll = rolling_min(mid, period)
    value = 0.0
    prev_fish = 0.0
    for i in range(period - 1, n):
        rng = hh[i] - ll[i]
        pos = (mid[i] - ll[i]) / rng if rng != 0.0 else 0.5
        value = 0.66 * (pos - 0.5) + 0.67 * value
        value = min(max(value, -0.999), 0.999)
        f = 0.5 * np.log((1.0 + value) / (1.0 - value)) + 0.5 * prev_fish
        trigger[i] = prev_fish
        fish[i] = f
        prev_fish = f
    return fish, trigger


@kernel
def obv_into(close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    """Write on-balance volume into ``out``, starting from the first bar's volume (TA-Lib's convention)."""
    n = close.shape[0]
    if n == 0:
        return
    total = volume[0]
    out[0] = total
    for i in range(1, n):
        # +1, -1 or 0 by arithmetic, not branches: a random walk defeats the branch predictor
        direction = (close[i] > close[i - 1]) - (close[i] < close[i - 1])
        total += volume[i] * direction
        out[i] = total


@kernel
def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume starting from the first bar's volume (TA-Lib's convention)."""
    out = np.empty(close.shape[0])
    obv_into(close, volume, out)
    return out


@kernel
def mfi(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int) -> np.ndarray:
    """Money flow index over ``period`` typical-price changes; 0 when the total flow is below 1 (TA-Lib).

    A typical-price change smaller than 1e-8 is rounding noise and counts as no change, as in TA-Lib.
    """
    n = high.shape[0]
    out = np.full(n, np.nan)
    tp = (high + low + close) / 3.0
    pos = np.zeros(n)
    neg = np.zeros(n)
    for i in range(1, n):
        flow = tp[i] * volume[i]
        change = tp[i] - tp[i - 1]
        if change >= _ZERO:
            pos[i] = flow
        elif change <= -_ZERO:
            neg[i] = flow
    sp = 0.0
    sn = 0.0
    for i in range(1, n):
        sp += pos[i]
        sn += neg[i]
        if i > period:
            sp -= pos[i - period]
            sn -= neg[i - period]
        if i >= period:
            total = sp + sn
            out[i] = 100.0 * sp / total if total >= 1.0 else 0.0
    return out


@kernel
def cmf(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int) -> np.ndarray:
    """Chaikin money flow: summed money-flow volume over summed volume; 0 when no volume traded."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    mfv = np.zeros(n)
    for i in range(n):
        rng = high[i] - low[i]
        if rng > 0.0:
            mfv[i] = ((close[i] - low[i]) - (high[i] - close[i])) / rng * volume[i]
    for i in range(period - 1, n):
        sm = 0.0
        sv = 0.0
        for j in range(i - period + 1, i + 1):
            sm += mfv[j]
            sv += volume[j]
        out[i] = sm / sv if sv > 0.0 else 0.0
    return out


@kernel
def session_vwap(price: np.ndarray, volume: np.ndarray, session: np.ndarray) -> np.ndarray:
    """Volume-weighted average price accumulated within each session (``session`` codes change at a new one).

    Until a session has traded volume the VWAP is the bar's own price.
    """
    n = price.shape[0]
    out = np.full(n, np.nan)
    pv = 0.0
    vol = 0.0
    for i in range(n):
        if i == 0 or session[i] != session[i - 1]:
            pv = 0.0
            vol = 0.0
        pv += price[i] * volume[i]
        vol += volume[i]
        out[i] = pv / vol if vol > 0.0 else price[i]
    return out


@kernel
def periods_per_year(ts_ns: np.ndarray, day: np.ndarray, window: int, days_per_year: float) -> np.ndarray:
    """Bars per year at each bar, from timestamps at or before it only.

    Daily bars (median spacing of the last ``window`` intervals between 20 hours and 4 days)
    give ``days_per_year``; longer spacings give calendar periods per year; intraday bars give
    ``days_per_year`` times the median bar count of the last five completed sessions (the
    current session's count so far before any session has completed).
    """
    n = ts_ns.shape[0]
    out = np.full(n, np.nan)
    hour = 3600.0 * 1e9
    year = 365.25 * 24.0 * hour
    counts = np.zeros(5)
    n_done = 0
    current = 0
    gaps = np.empty(window)
    for i in range(n):
        if i > 0 and day[i] != day[i - 1]:
            counts[n_done % 5] = current
            n_done += 1
            current = 0
        current += 1
        if i < window:
            continue
        for j in range(window):
            gaps[j] = ts_ns[i - window + 1 + j] - ts_ns[i - window + j]
        spacing = np.median(gaps)
        if spacing >= 96.0 * hour:
            out[i] = year / spacing
        elif spacing >= 20.0 * hour:
            out[i] = days_per_year
        elif n_done == 0:
            out[i] = days_per_year * current
        else:
            k = min(n_done, 5)
            out[i] = days_per_year * np.median(counts[:k])
    return out


@kernel
def macd_into(
    x: np.ndarray, fast: int, slow: int, signal: int, line: np.ndarray, sig: np.ndarray, hist: np.ndarray
) -> None:
    """Write the MACD line, signal and histogram in one pass: both EMAs and the signal EMA fused.

    Both price EMAs are seeded on bar ``slow - 1`` of the valid input, as TA-Lib's MACD does;
    the signal EMA is seeded by the mean of the first ``signal`` line values.
    """
    n = x.shape[0]
    start = first_valid(x) + slow - 1
    if start >= n or start - fast + 1 < 0:
        line[:] = np.nan
        sig[:] = np.nan
        hist[:] = np.nan
        return
    sig_start = start + signal - 1
    line[:start] = np.nan
    sig[: min(sig_start, n)] = np.nan
    hist[: min(sig_start, n)] = np.nan
    kf = 2.0 / (fast + 1.0)
    ks = 2.0 / (slow + 1.0)
    kg = 2.0 / (signal + 1.0)
    keep_f = 1.0 - kf
    keep_s = 1.0 - ks
    keep_g = 1.0 - kg
    total = 0.0
    for i in range(start - fast + 1, start + 1):
        total += x[i]
    ef = total / fast
    total = 0.0
    for i in range(start - slow + 1, start + 1):
        total += x[i]
    es = total / slow
    value = ef - es
    line[start] = value
    total = value
    for i in range(start + 1, min(sig_start + 1, n)):
        ef = ef * keep_f + x[i] * kf
        es = es * keep_s + x[i] * ks
        value = ef - es
        line[i] = value
        total += value
    if sig_start >= n:
        return
    g = total / signal
    sig[sig_start] = g
    hist[sig_start] = line[sig_start] - g
    for i in range(sig_start + 1, n):
        ef = ef * keep_f + x[i] * kf
        es = es * keep_s + x[i] * ks
        value = ef - es
        g = g * keep_g + value * kg
        line[i] = value
        sig[i] = g
        hist[i] = value - g


@kernel
def macd(x: np.ndarray, fast: int, slow: int, signal: int):
    """MACD line, signal and histogram; both EMAs seeded on bar ``slow - 1`` as in TA-Lib's MACD."""
    n = x.shape[0]
    line = np.empty(n)
    sig = np.empty(n)
    hist = np.empty(n)
    macd_into(x, fast, slow, signal, line, sig, hist)
    return line, sig, hist


@kernel
def bbands_into(
    x: np.ndarray,
    period: int,
    nstd: float,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
    width: np.ndarray,
    pctb: np.ndarray,
) -> None:
    """Write Bollinger bands on population std in one pass: ``upper, middle, lower, width, pctb``.

    The window's sum and sum of squared deviations slide one bar at a time (Welford's update);
    every ``RESUM_EVERY`` bars both are recomputed from the window (two-pass), so neither drifts,
    and so are they after an update that dwarfs the squared deviations it leaves (a jump in the
    price level), where the sliding update would cancel away the significant digits.
    %B is 0.5 when the bands collapse (a flat window).
    """
    n = x.shape[0]
    start = first_valid(x)
    first = start + period - 1
    head = min(first, n)
    upper[:head] = np.nan
    middle[:head] = np.nan
    lower[:head] = np.nan
    width[:head] = np.nan
    pctb[:head] = np.nan
    if first >= n:
        return
    inv = 1.0 / period
    total = 0.0
    m2 = 0.0
    mean = 0.0
    left = 1
    for i in range(first, n):
        left -= 1
        resum = left == 0
        if not resum:
            new = x[i]
            old = x[i - period]
            total += new - old
            new_mean = total * inv
            step = (new - old) * (new - new_mean + old - mean)
            m2 += step
            mean = new_mean
            resum = abs(step) > CANCELLATION_LIMIT * m2
        if resum:
            left = RESUM_EVERY
            total = 0.0
            for j in range(i - period + 1, i + 1):
                total += x[j]
            mean = total * inv
            m2 = 0.0
            for j in range(i - period + 1, i + 1):
                d = x[j] - mean
                m2 += d * d
        dev = nstd * np.sqrt(max(m2, 0.0) * inv)
        low = mean - dev
        upper[i] = mean + dev
        middle[i] = mean
        lower[i] = low
        width[i] = 2.0 * dev / mean
        pctb[i] = (x[i] - low) / (2.0 * dev) if dev > 0.0 else 0.5


@kernel
def bbands(x: np.ndarray, period: int, nstd: float):
    """Bollinger bands on population std: ``(upper, middle, lower, width, pctb)``; %B 0.5 when flat."""
    n = x.shape[0]
    upper = np.empty(n)
    middle = np.empty(n)
    lower = np.empty(n)
    width = np.empty(n)
    pctb = np.empty(n)
    bbands_into(x, period, nstd, upper, middle, lower, width, pctb)
    return upper, middle, lower, width, pctb
