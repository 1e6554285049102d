"""Options-flow indicators: call and put volume and premium by distance from the money.

Option minute bars reach the registry in two steps:

1. :func:`attach_option_flow` ``(bars, option_bars)`` aggregates the option minutes into the
   underlying's bar intervals and returns the bars with the :data:`FLOW_COLUMNS` added
   (``opt_<call|put>_<volume|premium>_<itm|atm|otm1_3|otm4p>``).
2. The registered indicators (``option_volume``, ``option_premium``, ``put_call_ratio``,
   ``flow_imbalance``) read those columns; ``compute()`` raises a ConfigError naming the
   missing columns when the flow was not attached.

Aggregation. Bar t covers ``[t, t + bar length)`` (the smallest step between the bars'
timestamps unless ``bar_length`` is given); an option minute stamped m covers
``[m, m + 1 minute)`` and counts in bar t when ``t <= m`` and ``m + 1 minute <= t + bar
length``, so only minutes that ended by the bar's close are used. Minutes that fall in no
bar are dropped. Premium is ``volume * vwap * 100`` (the minute's close when its vwap is
missing).

Moneyness is measured against the close of the underlying bar that holds the minute (known
at that bar's close), in strikes: ``d = (strike - close) / strike_step`` for calls and
``(close - strike) / strike_step`` for puts, so positive is out of the money. Buckets:
``atm`` when ``|d| <= 0.5`` (the nearest strike), ``otm1_3`` when ``0.5 < d <= 3.5``,
``otm4p`` when ``d > 3.5`` and ``itm`` when ``d < -0.5``.

Missing data. A bar is covered once its New York date has an option minute that ended by
the bar's close: covered bars with no trades in their interval get volume and premium 0;
bars before the date's first option minute, and bars on dates without option data, get
NaN. Ratios with a zero denominator are NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.errors import BarValidationError, ConfigError
from sigma_lab.indicators.calendar import NEW_YORK, bar_lengths, epoch_ns, session_dates
from sigma_lab.indicators.registry import Param, indicator

RIGHTS: tuple[str, ...] = ("call", "put")
BUCKETS: tuple[str, ...] = ("itm", "atm", "otm1_3", "otm4p")
MEASURES: tuple[str, ...] = ("volume", "premium")
FLOW_COLUMNS: tuple[str, ...] = tuple(f"opt_{r}_{m}_{b}" for r in RIGHTS for m in MEASURES for b in BUCKETS)
CONTRACT_MULTIPLIER = 100.0
OPTION_BAR = pd.Timedelta(minutes=1)

_OPTION_COLUMNS = ("right", "strike", "close", "volume")


def _option_frame(option_bars: pd.DataFrame, underlying: str | None) -> pd.DataFrame:
    """Option minutes as a flat frame with a UTC ``ts`` (int64 ns) column, checked."""
    if not isinstance(option_bars, pd.DataFrame):
        raise BarValidationError(f"option bars must be a pandas DataFrame, got {type(option_bars).__name__}")
    frame = option_bars
    if "timestamp" not in frame.columns:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise BarValidationError("option bars need a 'timestamp' column or a DatetimeIndex")
        frame = frame.rename_axis("timestamp").reset_index()
    missing = [c for c in _OPTION_COLUMNS if c not in frame.columns]
    if missing:
        raise BarValidationError(
            f"option bars are missing columns {missing}; they need timestamp, {list(_OPTION_COLUMNS)}"
        )
    if underlying is not None:
        if "underlying" not in frame.columns:
            raise BarValidationError("option bars have no 'underlying' column to select by")
        frame = frame[frame["underlying"].astype(str) == underlying]
    elif "underlying" in frame.columns and frame["underlying"].nunique() > 1:
        names = sorted(frame["underlying"].astype(str).unique())
        raise ConfigError(f"option bars hold several underlyings {names}; pass underlying=")
    ts = pd.DatetimeIndex(frame["timestamp"])
    if ts.tz is None:
        raise BarValidationError("option bar timestamps are naive; they need tz-aware UTC timestamps")
    if ts.hasnans:
        raise BarValidationError(
            "option bars have a missing timestamp", row=int(np.flatnonzero(ts.isna())[0])
        )
    right = frame["right"].astype(str).str.upper().str[0].to_numpy()
    bad = ~np.isin(right, ["C", "P"])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BarValidationError(f"option right {frame['right'].iloc[i]!r} is not C or P", row=i)
    out = pd.DataFrame(
        {
            "ts": ts.tz_convert("UTC").as_unit("ns").asi8,
            "call": right == "C",
            "strike": pd.to_numeric(frame["strike"]).to_numpy(dtype="float64"),
            "volume": pd.to_numeric(frame["volume"]).to_numpy(dtype="float64"),
            "close": pd.to_numeric(frame["close"]).to_numpy(dtype="float64"),
            "vwap": (
                pd.to_numeric(frame["vwap"]).to_numpy(dtype="float64") if "vwap" in frame.columns else np.nan
            ),
        }
    )
    for col in ("strike", "volume"):
        vals = out[col].to_numpy()
        broken = ~np.isfinite(vals) | (vals < 0)
        if broken.any():
            raise BarValidationError(
                f"option bars have a missing or negative {col}", row=int(np.flatnonzero(broken)[0])
            )
    return out


def option_flow(
    bars: pd.DataFrame,
    option_bars: pd.DataFrame,
    *,
    strike_step: float = 1.0,
    underlying: str | None = None,
    bar_length: str | pd.Timedelta | None = None,
) -> pd.DataFrame:
    """The :data:`FLOW_COLUMNS` of ``option_bars`` aggregated into the intervals of the underlying's ``bars``.

    ``strike_step`` is the strike spacing in price units (1.0 for SPY); ``underlying`` picks
    one underlying when the option bars hold several; ``bar_length`` (``"1h"``, a Timedelta)
    defaults to the smallest step between the bars' timestamps.
    """
    if (
        not isinstance(bars, pd.DataFrame)
        or not isinstance(bars.index, pd.DatetimeIndex)
        or bars.index.tz is None
    ):
        raise ConfigError("option flow needs underlying bars with a tz-aware UTC DatetimeIndex")
    if "close" not in bars.columns:
        raise ConfigError("option flow needs the underlying bars' 'close' column to measure moneyness")
    if not strike_step > 0:
        raise ConfigError(f"strike_step must be positive, got {strike_step!r}")
    opts = _option_frame(option_bars, underlying)
    n = len(bars)
    starts = epoch_ns(bars.index)
    ends = starts + _bar_length_ns(bars.index, bar_length)
    ts = opts["ts"].to_numpy()
    minute_end = ts + np.int64(OPTION_BAR.value)
    pos = np.searchsorted(starts, ts, side="right") - 1
    inside = pos >= 0
    inside[inside] = minute_end[inside] <= ends[pos[inside]]

    covered = _covered(bars.index, ends, ts, minute_end)
    result = {}
    if inside.any():
        p = pos[inside]
        call = opts["call"].to_numpy()[inside]
        strike = opts["strike"].to_numpy()[inside]
        volume = opts["volume"].to_numpy()[inside]
        vwap = opts["vwap"].to_numpy()[inside]
        price = np.where(np.isfinite(vwap) & (vwap > 0), vwap, opts["close"].to_numpy()[inside])
        premium = volume * price * CONTRACT_MULTIPLIER
        spot = bars["close"].to_numpy(dtype="float64")[p]
        dist = np.where(call, strike - spot, spot - strike) / strike_step
        bucket = np.select([dist < -0.5, dist <= 0.5, dist <= 3.5], [0, 1, 2], default=3)
    for right in RIGHTS:
        for measure in MEASURES:
            for b, name in enumerate(BUCKETS):
                col = np.zeros(n)
                if inside.any():
                    sel = (call == (right == "call")) & (bucket == b)
                    weights = volume[sel] if measure == "volume" else premium[sel]
                    col = np.bincount(p[sel], weights=weights, minlength=n).astype("float64")
                col[~covered] = np.nan
                result[f"opt_{right}_{measure}_{name}"] = col
    return pd.DataFrame(result, index=bars.index)


def _covered(index: pd.DatetimeIndex, ends: np.ndarray, ts: np.ndarray, minute_end: np.ndarray) -> np.ndarray:
    """True for bars whose New York date has an option minute that ended by the bar's close."""
    covered = np.zeros(len(index), dtype=bool)
    if len(ts) == 0:
        return covered
    opt_dates = (
        pd.DatetimeIndex(ts, tz="UTC")
        .tz_convert(NEW_YORK)
        .tz_localize(None)
        .to_numpy()
        .astype("datetime64[D]")
    )
    frame = pd.DataFrame({"date": opt_dates, "end": minute_end}).groupby("date")["end"].min()
    days = frame.index.to_numpy().astype("datetime64[D]")
    first_end = frame.to_numpy()
    bar_dates = session_dates(index)
    pos = np.clip(np.searchsorted(days, bar_dates), 0, len(days) - 1)
    return (days[pos] == bar_dates) & (first_end[pos] <= ends)


def _bar_length_ns(index: pd.DatetimeIndex, bar_length: str | pd.Timedelta | None) -> np.int64:
    if bar_length is None:
        return np.int64(bar_lengths(index)[-1]) if len(index) else np.int64(0)
    try:
        length = pd.Timedelta(bar_length)
    except ValueError:
        raise ConfigError(f"bar_length {bar_length!r} is not a duration such as '1h' or '5min'") from None
    if length <= pd.Timedelta(0):
        raise ConfigError(f"bar_length must be positive, got {bar_length!r}")
    return np.int64(length.value)


def attach_option_flow(
    bars: pd.DataFrame,
    option_bars: pd.DataFrame,
    *,
    strike_step: float = 1.0,
    underlying: str | None = None,
    bar_length: str | pd.Timedelta | None = None,
) -> pd.DataFrame:
    """``bars`` with the :data:`FLOW_COLUMNS` of ``option_bars`` added (replaced when already there)."""
    flow = option_flow(
        bars, option_bars, strike_step=strike_step, underlying=underlying, bar_length=bar_length
    )
    return bars.drop(columns=[c for c in FLOW_COLUMNS if c in bars.columns]).join(flow)


def _flow(bars: pd.DataFrame, right: str, measure: str, moneyness: str) -> np.ndarray:
    buckets = BUCKETS if moneyness == "all" else (moneyness,)
    total = np.zeros(len(bars))
    for b in buckets:
        total = total + bars[f"opt_{right}_{measure}_{b}"].to_numpy(dtype="float64")
    return total


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape[0], np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den != 0)
    out[ok] = num[ok] / den[ok]
    return out


_RIGHT = Param("right", "call", choices=RIGHTS, description="option right")
_MONEYNESS = Param("moneyness", "all", choices=("all", *BUCKETS), description="strike-distance bucket")


@indicator(
    "option_volume",
    "options_flow",
    params=(_RIGHT, _MONEYNESS),
    inputs=FLOW_COLUMNS,
    requires="attach_option_flow",
)
def option_volume(bars: pd.DataFrame, right: str, moneyness: str) -> dict[str, np.ndarray]:
    """Option contracts traded in the bar, for one right and strike-distance bucket."""
    return {"": _flow(bars, right, "volume", moneyness)}


@indicator(
    "option_premium",
    "options_flow",
    params=(_RIGHT, _MONEYNESS),
    inputs=FLOW_COLUMNS,
    requires="attach_option_flow",
)
def option_premium(bars: pd.DataFrame, right: str, moneyness: str) -> dict[str, np.ndarray]:
    """Option premium traded in the bar (volume x vwap x 100), for one right and strike-distance bucket."""
    return {"": _flow(bars, right, "premium", moneyness)}


@indicator(
    "put_call_ratio", "options_flow", params=(_MONEYNESS,), inputs=FLOW_COLUMNS, requires="attach_option_flow"
)
def put_call_ratio(bars: pd.DataFrame, moneyness: str) -> dict[str, np.ndarray]:
    """Put volume / call volume in the bar; NaN when no calls traded."""
    return {"": _ratio(_flow(bars, "put", "volume", moneyness), _flow(bars, "call", "volume", moneyness))}


@indicator(
    "flow_imbalance", "options_flow", params=(_MONEYNESS,), inputs=FLOW_COLUMNS, requires="attach_option_flow"
)
def flow_imbalance(bars: pd.DataFrame, moneyness: str) -> dict[str, np.ndarray]:
    """(call premium - put premium) / (call premium + put premium) in the bar; NaN when nothing traded."""
    calls = _flow(bars, "call", "premium", moneyness)
    puts = _flow(bars, "put", "premium", moneyness)
    return {"": _ratio(calls - puts, calls + puts)}
