"""Numba kernels for the price and volume indicators.

Every kernel takes and returns float64 NumPy arrays (and scalars), is deterministic, and
only reads bars at or before the bar it writes. Inputs may start with NaN (the warm-up of
an upstream kernel); outputs are NaN until enough valid input has been seen. Where TA-Lib
has the same indicator the kernel follows TA-Lib's seeding (EMA seeded by an SMA, Wilder
averages seeded by a plain mean) so results agree with it after its lookback.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ZERO = 1e-8  # TA-Lib's TA_IS_ZERO threshold


@njit(cache=True)
def first_valid(x: np.ndarray) -> int:
    """Index of the first non-NaN value, or ``len(x)`` when there is none."""
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            return i
    return x.shape[0]


@njit(cache=True)
def sma(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average over ``period`` values (running sum)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first_valid(x)
    if start + period > n:
        return out
    total = 0.0
    for i in range(start, start + period - 1):
        total += x[i]
    for i in range(start + period - 1, n):
        total += x[i]
        out[i] = total / period
        total -= x[i - period + 1]
    return out


@njit(cache=True)
def ema_seeded(x: np.ndarray, period: int, seed_end: int) -> np.ndarray:
    """EMA (k = 2/(period+1)) seeded at ``seed_end`` by the mean of the ``period`` values ending there."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if seed_end >= n or seed_end - period + 1 < 0:
        return out
    k = 2.0 / (period + 1.0)
    total = 0.0
    for i in range(seed_end - period + 1, seed_end + 1):
        total += x[i]
    prev = total / period
    out[seed_end] = prev
    for i in range(seed_end + 1, n):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


@njit(cache=True)
def ema(x: np.ndarray, period: int) -> np.ndarray:
    """EMA seeded by the SMA of the first ``period`` valid values (TA-Lib's convention)."""
    return ema_seeded(x, period, first_valid(x) + period - 1)


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range; NaN on the first bar, which has no previous close."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        pc = close[i - 1]
        out[i] = max(high[i], pc) - min(low[i], pc)
    return out


@njit(cache=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range, seeded by the mean of the first ``period`` true ranges."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    tr = true_range(high, low, close)
    if period == 1:
        return tr
    if period >= n:
        return out
    total = 0.0
    for i in range(1, period + 1):
        total += tr[i]
    prev = total / period
    out[period] = prev
    keep = (period - 1.0) / period
    inv = 1.0 / period
    for i in range(period + 1, n):
        prev = prev * keep + tr[i] * inv
        out[i] = prev
    return out


@njit(cache=True)
def rsi(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI on valid input starting anywhere; 0 when there was no movement at all."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first_valid(x)
    if start + period >= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(start + 1, start + period + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= period
    loss /= period
    i = start + period
    total = gain + loss
    out[i] = 100.0 * gain / total if abs(total) >= _ZERO else 0.0
    keep = (period - 1.0) / period
    inv = 1.0 / period
    for i in range(start + period + 1, n):
        d = x[i] - x[i - 1]
        gain *= keep
        loss *= keep
        if d < 0:
            loss -= d * inv
        else:
            gain += d * inv
        total = gain + loss
        out[i] = 100.0 * gain / total if abs(total) >= _ZERO else 0.0
    return out


@njit(cache=True)
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int):
    """ADX with +DI and -DI, Wilder smoothing seeded like TA-Lib: returns ``(adx, plus_di, minus_di)``."""
    n = high.shape[0]
    out_adx = np.full(n, np.nan)
    out_pdi = np.full(n, np.nan)
    out_mdi = np.full(n, np.nan)
    if period >= n:
        return out_adx, out_pdi, out_mdi
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
    return out_adx, out_pdi, out_mdi


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume starting from the first bar's volume (TA-Lib's convention)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    total = volume[0]
    out[0] = total
    for i in range(1, n):
        if close[i] > close[i - 1]:
            total += volume[i]
        elif close[i] < close[i - 1]:
            total -= volume[i]
        out[i] = total
    return out


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def macd(x: np.ndarray, fast: int, slow: int, signal: int):
    """MACD line, signal and histogram; both EMAs seeded on bar ``slow - 1`` as in TA-Lib's MACD."""
    start = first_valid(x) + slow - 1
    f = ema_seeded(x, fast, start)
    s = ema_seeded(x, slow, start)
    line = f - s
    sig = ema(line, signal)
    return line, sig, line - sig


@njit(cache=True)
def bbands(x: np.ndarray, period: int, nstd: float):
    """Bollinger bands on population std: ``(upper, middle, lower, width, pctb)``; %B 0.5 when flat."""
    n = x.shape[0]
    upper = np.full(n, np.nan)
    middle = np.full(n, np.nan)
    lower = np.full(n, np.nan)
    width = np.full(n, np.nan)
    pctb = np.full(n, np.nan)
    sd = rolling_std(x, period, 0)
    mean = sma(x, period)
    for i in range(n):
        if np.isnan(sd[i]):
            continue
        dev = nstd * sd[i]
        m = mean[i]
        upper[i] = m + dev
        middle[i] = m
        lower[i] = m - dev
        width[i] = 2.0 * dev / m
        pctb[i] = (x[i] - (m - dev)) / (2.0 * dev) if dev > 0.0 else 0.5
    return upper, middle, lower, width, pctb
