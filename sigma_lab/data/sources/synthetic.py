"""The ``synthetic`` source: seeded, reproducible bars at any timeframe for tests and benchmarks.

Bars follow the US session calendar: intraday bars start at 09:30 New York and step by the
timeframe while before 16:00 (DST-correct, weekdays only, no holiday calendar); daily bars
are stamped with each weekday at 00:00 UTC and weekly bars with each Monday.

The price path (a numba kernel) has GARCH(1,1) volatility clustering and a three-state
Markov regime: trend (a persistent drift), mean reversion (pulled back to a slow moving
average) and high volatility (2.5 times the volatility). Session opens gap. Volume rises
with the bar's volatility and the size of its move. The same seed, symbol, timeframe and
range always give the same bars; different symbols get different paths.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
from numba import njit

from sigma_lab.data.bars import validate_bars
from sigma_lab.data.sessions import NEW_YORK, SESSION_WINDOWS
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.timeframes import Timeframe
from sigma_lab.errors import ConfigError

DEFAULT_START = pd.Timestamp("2020-01-02", tz="UTC")
DEFAULT_BARS = 1000
TRADING_DAYS = 252
REGIME_DAYS = 20.0
TREND, MEAN_REVERT, HIGH_VOL = 0, 1, 2


@njit(cache=True)
def synthetic_path(
    normals: np.ndarray,
    uniforms: np.ndarray,
    session_start: np.ndarray,
    sigma: float,
    start_price: float,
    switch_prob: float,
    alpha: float,
    beta: float,
    base_volume: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OHLCV and regime of a GARCH(1,1) path with regime switches.

    ``normals`` is (5, n) standard normals (return, high wick, low wick, volume noise, gap),
    ``uniforms`` is (2, n) uniforms (regime switch, regime choice), ``session_start`` marks
    the first bar of each session, ``sigma`` the per-bar volatility.
    """
    n = normals.shape[1]
    open_ = np.empty(n)
    high = np.empty(n)
    low = np.empty(n)
    close = np.empty(n)
    volume = np.empty(n)
    regime = np.empty(n, dtype=np.int8)
    omega = 1.0 - alpha - beta
    h = 1.0
    eps_prev = 0.0
    state = TREND
    direction = 1.0
    log_price = math.log(start_price)
    anchor = log_price
    prev_close = start_price
    for i in range(n):
        if uniforms[0, i] < switch_prob:
            state = (state + 1 + int(uniforms[1, i] * 2.0)) % 3
            direction = 1.0 if uniforms[1, i] * 4.0 % 1.0 < 0.5 else -1.0
        h = omega + alpha * eps_prev * eps_prev + beta * h
        eps = math.sqrt(h) * normals[0, i]
        eps_prev = eps
        scale = 2.5 if state == HIGH_VOL else 1.0
        drift = 0.0
        if state == TREND:
            drift = direction * 0.08 * sigma
        elif state == MEAN_REVERT:
            drift = -0.05 * (log_price - anchor)
        bar_sigma = sigma * scale * math.sqrt(h)
        o = prev_close
        if session_start[i]:
            o = prev_close * math.exp(0.5 * bar_sigma * normals[4, i])
        c = o * math.exp(drift + sigma * scale * eps)
        high[i] = max(o, c) * math.exp(0.5 * bar_sigma * abs(normals[1, i]))
        low[i] = min(o, c) * math.exp(-0.5 * bar_sigma * abs(normals[2, i]))
        open_[i] = o
        close[i] = c
        volume[i] = (
            math.floor(base_volume * scale * math.sqrt(h) * (0.5 + abs(eps)) * math.exp(0.3 * normals[3, i]))
            + 1.0
        )
        regime[i] = state
        log_price = math.log(c)
        anchor += 0.02 * (log_price - anchor)
        prev_close = c
    return open_, high, low, close, volume, regime


def session_timestamps(
    timeframe: Timeframe,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    n_bars: int | None = None,
) -> pd.DatetimeIndex:
    """Bar timestamps (UTC) of the US sessions: ``n_bars`` from ``start``, ``n_bars`` up to ``end``,
    or all between ``start`` and ``end``."""
    if n_bars is not None and n_bars < 1:
        raise ConfigError(f"n_bars must be positive, got {n_bars}")
    if start is not None and end is not None and n_bars is None:
        return _between(timeframe, start, end)
    if n_bars is None:
        n_bars = DEFAULT_BARS
    per_day = _bars_per_day(timeframe)
    span = pd.Timedelta(days=int(n_bars / per_day * 7 / 5) + 10)
    if end is not None and start is None:
        stamps = _between(timeframe, end - span, end)
        return stamps[-n_bars:]
    start = DEFAULT_START if start is None else start
    stamps = _between(timeframe, start, start + span)
    stamps = stamps[:n_bars]
    return stamps if end is None else stamps[stamps <= end]


def _bars_per_day(timeframe: Timeframe) -> float:
    if timeframe.unit == "w":
        return 0.2 / timeframe.count
    if timeframe.unit == "d":
        return 1.0 / timeframe.count
    open_, close = SESSION_WINDOWS["regular"]
    return float(math.ceil((close - open_) / timeframe.minutes))


def _between(timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    first = start.tz_convert(NEW_YORK if timeframe.intraday else "UTC").tz_localize(None).normalize()
    last = end.tz_convert(NEW_YORK if timeframe.intraday else "UTC").tz_localize(None).normalize()
    if timeframe.unit == "w":
        monday = first - pd.Timedelta(days=first.day_of_week)
        days = pd.date_range(monday, last, freq=f"{timeframe.count}W-MON")
        stamps = days.tz_localize("UTC")
    elif timeframe.unit == "d":
        stamps = pd.bdate_range(first, last, freq=f"{timeframe.count}B").tz_localize("UTC")
    else:
        days = pd.bdate_range(first, last)
        open_, close = SESSION_WINDOWS["regular"]
        opens = (days + pd.Timedelta(minutes=open_)).tz_localize(NEW_YORK).tz_convert("UTC").as_unit("ns")
        step = int(timeframe.minutes)
        offsets = np.arange(0, close - open_, step, dtype="int64") * 60_000_000_000
        values = (opens.asi8[:, None] + offsets[None, :]).ravel()
        stamps = pd.DatetimeIndex(pd.to_datetime(values, unit="ns", utc=True))
    stamps = stamps.as_unit("ns")
    return stamps[(stamps >= start) & (stamps <= end)].rename("timestamp")


def _per_bar_sigma(timeframe: Timeframe, annual_vol: float) -> float:
    if timeframe.intraday:
        minutes_per_year = TRADING_DAYS * (SESSION_WINDOWS["regular"][1] - SESSION_WINDOWS["regular"][0])
        return annual_vol * math.sqrt(timeframe.minutes / minutes_per_year)
    days = 5.0 * timeframe.count if timeframe.unit == "w" else float(timeframe.count)
    return annual_vol * math.sqrt(days / TRADING_DAYS)


class SyntheticSource(BarSource):
    """Seeded synthetic bars, configured in the constructor: ``SyntheticSource(seed=7, n_bars=10_000)``."""

    name = "synthetic"
    description = "Seeded synthetic bars with sessions, volatility clustering and regimes."

    def __init__(
        self,
        seed: int = 0,
        n_bars: int | None = None,
        start_price: float = 100.0,
        annual_vol: float = 0.2,
        base_volume: float = 100_000.0,
        garch_alpha: float = 0.08,
        garch_beta: float = 0.9,
    ) -> None:
        if not (garch_alpha >= 0 and garch_beta >= 0 and garch_alpha + garch_beta < 1):
            raise ConfigError(
                f"GARCH needs alpha, beta >= 0 and alpha + beta < 1, got {garch_alpha}, {garch_beta}"
            )
        if start_price <= 0 or annual_vol <= 0 or base_volume <= 0:
            raise ConfigError("start_price, annual_vol and base_volume must be positive")
        self.seed = int(seed)
        self.n_bars = n_bars
        self.start_price = float(start_price)
        self.annual_vol = float(annual_vol)
        self.base_volume = float(base_volume)
        self.garch_alpha = float(garch_alpha)
        self.garch_beta = float(garch_beta)

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self.generate(symbol, timeframe, start, end, regimes=False)

    def generate(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        *,
        regimes: bool = True,
    ) -> pd.DataFrame:
        """The bars, plus an integer ``regime`` column (0 trend, 1 mean-revert, 2 high-vol) if asked."""
        index = session_timestamps(timeframe, start, end, self.n_bars)
        n = len(index)
        rng = np.random.default_rng(
            [self.seed, zlib.crc32(symbol.encode()), zlib.crc32(timeframe.name.encode())]
        )
        normals = rng.standard_normal((5, n))
        uniforms = rng.random((2, n))
        if timeframe.intraday:
            dates = index.tz_convert(NEW_YORK).tz_localize(None).normalize().as_unit("ns").asi8
            session_start = np.r_[True, dates[1:] != dates[:-1]] if n else np.zeros(0, dtype=bool)
        else:
            session_start = np.ones(n, dtype=bool)
        per_day = _bars_per_day(timeframe)
        o, h, lo, c, v, regime = synthetic_path(
            normals,
            uniforms,
            session_start,
            _per_bar_sigma(timeframe, self.annual_vol),
            self.start_price,
            min(1.0, 1.0 / (REGIME_DAYS * per_day)),
            self.garch_alpha,
            self.garch_beta,
            self.base_volume * max(per_day, 1.0) ** -0.5,
        )
        bars = validate_bars(
            pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=index),
            allow_empty=True,
        )
        if regimes:
            bars["regime"] = regime
        return bars
