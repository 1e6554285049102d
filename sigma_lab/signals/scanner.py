"""Rule-based scanner: score a universe's latest bars, gate them, rank them, keep the top N.

Every score is computed on the last bar at or before ``asof`` (no look-ahead: bars after it
are never loaded) from the indicator library's columns, and lies in [0, 1] (1 = strongest
evidence for ``direction``; the short scores mirror the long ones):

- **breakout**: where the close sits in the *previous* bar's Donchian channel,
  ``(close - donchian_N_lower[t-1]) / (donchian_N_upper[t-1] - donchian_N_lower[t-1])`` clipped
  to [0, 1] (the channel of bar t includes bar t, so t-1 is the level to break); 1 is a close
  at or above the prior N-bar high. A channel of zero width scores 0.5.
- **momentum**: ``(momentum_score_M + 1) / 2``, the composite of RSI, volatility-scaled return
  and stochastic %K mapped from [-1, 1].
- **trend**: ``min(adx_P / 50, 1)`` when the directional index agrees with the direction
  (``adx_P_plus_di > adx_P_minus_di`` for long), else 0: strength of a trend going our way.
- **alignment**: the fraction of ``close > ema_fast``, ``ema_fast > ema_mid``,
  ``ema_mid > ema_slow`` that hold (reversed for short).

``total`` is the weighted mean of the four (``weights``, default breakout 0.3, momentum 0.3,
trend 0.2, alignment 0.2). A sub-score whose indicator is undefined at ``asof`` (a constant
series has no ADX) counts as 0: no evidence.

Gates (``gates``; ``None`` switches one off), each a plain threshold that a strong ticker
passes: ``min_dollar_volume`` (mean close x volume over ``volume_period`` bars, default 1e6),
``min_adx`` (trend strength, default 20) and ``min_total`` (default 0.6). An undefined value
fails its gate. Tickers that passed are ranked by total (rank 1 is best) and the first
``top_n`` are ``selected``. Tickers without data, or with too few bars for the indicators'
warm-up, are listed with a ``skipped`` reason instead of failing the scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from sigma_lab.data import get_source, load
from sigma_lab.data.sessions import to_utc
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import ConfigError, DataSourceError, NotFoundError
from sigma_lab.indicators import compute, get

SUB_SCORES: tuple[str, ...] = ("breakout", "momentum", "trend", "alignment")
DEFAULT_WEIGHTS: dict[str, float] = {"breakout": 0.3, "momentum": 0.3, "trend": 0.2, "alignment": 0.2}
DEFAULT_GATES: dict[str, float | None] = {"min_dollar_volume": 1_000_000.0, "min_adx": 20.0, "min_total": 0.6}
DEFAULT_PARAMS: dict[str, Any] = {
    "channel": 20,
    "momentum_period": 20,
    "adx_period": 14,
    "ema_periods": (20, 50, 200),
    "volume_period": 20,
    "history_bars": 600,
}
#: ADX at which the trend sub-score saturates at 1.
ADX_FULL = 50.0
SCAN_COLUMNS = [
    "ticker",
    "asof",
    "close",
    *SUB_SCORES,
    "total",
    "adx",
    "dollar_volume",
    "passed",
    "failed_gates",
    "rank",
    "selected",
    "skipped",
]


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(DEFAULT_WEIGHTS)
    if weights is not None:
        unknown = sorted(set(weights) - set(SUB_SCORES))
        if unknown:
            raise ConfigError(f"scan weights: unknown sub-score {unknown[0]!r}; known: {list(SUB_SCORES)}")
        out.update({k: float(v) for k, v in weights.items()})
    bad = {k: v for k, v in out.items() if not (math.isfinite(v) and v >= 0)}
    if bad:
        raise ConfigError(f"scan weights must be finite and >= 0, got {bad}")
    if sum(out.values()) <= 0:
        raise ConfigError("scan weights must not all be 0")
    return out


def _gates(gates: Mapping[str, float | None] | None) -> dict[str, float | None]:
    out = dict(DEFAULT_GATES)
    if gates is not None:
        unknown = sorted(set(gates) - set(DEFAULT_GATES))
        if unknown:
            raise ConfigError(f"scan gates: unknown gate {unknown[0]!r}; known: {list(DEFAULT_GATES)}")
        for key, value in gates.items():
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ConfigError(f"scan gate {key} must be a number or None, got {value!r}")
            out[key] = None if value is None else float(value)
    return out


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(DEFAULT_PARAMS)
    if params is not None:
        unknown = sorted(set(params) - set(DEFAULT_PARAMS))
        if unknown:
            raise ConfigError(f"scan params: unknown {unknown[0]!r}; known: {list(DEFAULT_PARAMS)}")
        out.update(params)
    fast, mid, slow = (int(p) for p in out["ema_periods"])
    if not fast < mid < slow:
        raise ConfigError(f"scan params: ema_periods must rise (fast < mid < slow), got {out['ema_periods']}")
    out["ema_periods"] = (fast, mid, slow)
    for key in ("channel", "momentum_period", "adx_period", "volume_period", "history_bars"):
        if int(out[key]) < 2:
            raise ConfigError(f"scan params: {key} must be >= 2, got {out[key]}")
        out[key] = int(out[key])
    return out


def required_bars(params: Mapping[str, Any] | None = None) -> int:
    """Bars a ticker needs before ``asof`` for every sub-score to be defined."""
    p = _params(params)
    warm = [
        get("donchian").warmup_bars(period=p["channel"]) + 1,
        get("momentum_score").warmup_bars(period=p["momentum_period"]),
        get("adx").warmup_bars(period=p["adx_period"]),
        get("ema").warmup_bars(period=p["ema_periods"][2]),
        p["volume_period"] - 1,
    ]
    return max(warm) + 1


def _last(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].iloc[-1])


def score_bars(
    bars: pd.DataFrame,
    *,
    direction: Literal["long", "short"] = "long",
    weights: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """The sub-scores, total, ADX and dollar volume of the last bar of ``bars`` (see module doc)."""
    if direction not in ("long", "short"):
        raise ConfigError(f"scan direction must be long or short, got {direction!r}")
    p, w = _params(params), _weights(weights)
    need = required_bars(p)
    if len(bars) < need:
        raise ConfigError(f"scan needs {need} bars for the indicators' warm-up, got {len(bars)}")
    sign = 1.0 if direction == "long" else -1.0
    n, m, a = p["channel"], p["momentum_period"], p["adx_period"]
    close = float(bars["close"].iloc[-1])

    channel = compute(bars, "donchian", period=n)
    upper, lower = (
        float(channel[f"donchian_{n}_upper"].iloc[-2]),
        float(channel[f"donchian_{n}_lower"].iloc[-2]),
    )
    width = upper - lower
    position = 0.5 if width <= 0 else min(max((close - lower) / width, 0.0), 1.0)
    breakout = position if sign > 0 else 1.0 - position

    mom = _last(compute(bars, "momentum_score", period=m), f"momentum_score_{m}")
    momentum = (1.0 + sign * mom) / 2.0

    adx_frame = compute(bars, "adx", period=a)
    adx = _last(adx_frame, f"adx_{a}")
    di_gap = _last(adx_frame, f"adx_{a}_plus_di") - _last(adx_frame, f"adx_{a}_minus_di")
    trend = min(adx / ADX_FULL, 1.0) if sign * di_gap > 0 else 0.0

    emas = [_last(compute(bars, "ema", period=k), f"ema_{k}") for k in p["ema_periods"]]
    ladder = [close, *emas]
    alignment = float(np.mean([sign * (ladder[i] - ladder[i + 1]) > 0 for i in range(3)]))

    scores = {"breakout": breakout, "momentum": momentum, "trend": trend, "alignment": alignment}
    scores = {k: (v if math.isfinite(v) else 0.0) for k, v in scores.items()}
    total = sum(w[k] * scores[k] for k in SUB_SCORES) / sum(w.values())
    tail = bars.iloc[-p["volume_period"] :]
    dollar_volume = float((tail["close"] * tail["volume"]).mean())
    return {"close": close, **scores, "total": total, "adx": adx, "dollar_volume": dollar_volume}


def apply_gates(scores: Mapping[str, float], gates: Mapping[str, float | None] | None = None) -> list[str]:
    """Names of the gates ``scores`` fails (empty: it passes); an undefined value fails its gate."""
    g = _gates(gates)
    measured = {"min_dollar_volume": "dollar_volume", "min_adx": "adx", "min_total": "total"}
    failed = []
    for gate, key in measured.items():
        bound = g[gate]
        value = scores.get(key, math.nan)
        if bound is not None and not (math.isfinite(value) and value >= bound):
            failed.append(gate)
    return failed


def _tickers(universe: str | Iterable[str]) -> list[str]:
    if isinstance(universe, str):
        from sigma_lab.universes import get_universe

        return list(get_universe(universe).tickers)
    out: list[str] = []
    for t in universe:
        name = str(t).strip().upper()
        if not name:
            raise ConfigError("scan universe: an empty ticker was given")
        if name not in out:
            out.append(name)
    if not out:
        raise ConfigError("scan universe: no tickers given")
    return out


def scan(
    universe: str | Iterable[str],
    *,
    asof: str | pd.Timestamp | None = None,
    timeframe: str = "1d",
    source: str = "sample",
    top_n: int = 10,
    weights: Mapping[str, float] | None = None,
    gates: Mapping[str, float | None] | None = None,
    direction: Literal["long", "short"] = "long",
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Score, gate and rank ``universe`` (a universe or watchlist name, or tickers) as of ``asof``.

    One row per ticker (columns :data:`SCAN_COLUMNS`): passed tickers first by rank, then the
    failed ones by total, then the skipped ones with their reason. A date-only ``asof`` includes
    that date's bar; ``None`` scans each ticker's latest bars. Only the last ``history_bars`` bars
    (``params``) are used, so results do not depend on how much older history a source holds.
    """
    tickers = _tickers(universe)
    tf = parse_timeframe(timeframe)
    w, g, p = _weights(weights), _gates(gates), _params(params)
    if direction not in ("long", "short"):
        raise ConfigError(f"scan direction must be long or short, got {direction!r}")
    if int(top_n) < 1:
        raise ConfigError(f"top_n must be >= 1, got {top_n}")
    end = to_utc(asof, "end")
    slack = 1.6 if not tf.intraday else 6.0
    span = tf.offset * p["history_bars"] * slack + pd.Timedelta(days=10)
    if end is None and not get_source(source).remote:
        start = None
    else:
        start = (end if end is not None else pd.Timestamp.now(tz="UTC")) - span
    need = required_bars(p)
    rows: list[dict[str, Any]] = []
    for ticker in tickers:
        row: dict[str, Any] = {"ticker": ticker, "skipped": ""}
        try:
            bars = load(ticker, tf, start, end, source)
        except (NotFoundError, DataSourceError) as exc:
            rows.append({**row, "skipped": f"no data: {exc}"})
            continue
        if end is not None:
            bars = bars[bars.index <= end]
        bars = bars.iloc[-p["history_bars"] :]
        if len(bars) < need:
            rows.append({**row, "skipped": f"needs {need} bars before asof, has {len(bars)}"})
            continue
        scores = score_bars(bars, direction=direction, weights=w, params=p)
        failed = apply_gates(scores, g)
        rows.append(
            {**row, "asof": bars.index[-1], **scores, "passed": not failed, "failed_gates": ",".join(failed)}
        )
    return _rank(pd.DataFrame(rows), int(top_n))


def _rank(frame: pd.DataFrame, top_n: int) -> pd.DataFrame:
    for col in SCAN_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA if col in ("asof", "passed", "failed_gates") else np.nan
    frame["asof"] = pd.to_datetime(frame["asof"], utc=True)
    frame["passed"] = frame["passed"].astype("boolean").fillna(False).astype(bool)
    frame["failed_gates"] = frame["failed_gates"].fillna("").astype(str)
    skipped = frame["skipped"].ne("")
    group = np.where(frame["passed"], 0, np.where(skipped, 2, 1))
    frame = frame.assign(_group=group).sort_values(
        ["_group", "total", "ticker"], ascending=[True, False, True]
    )
    frame = frame.drop(columns="_group").reset_index(drop=True)
    ranks = frame["passed"].cumsum().where(frame["passed"])
    frame["rank"] = ranks.astype("Int64")
    frame["selected"] = (frame["rank"] <= top_n).fillna(False).astype(bool)
    return frame[SCAN_COLUMNS]
