"""Labels: what a model learns to predict, each with a declared horizon.

A label at bar ``t`` may look at bars ``t+1 .. t+horizon`` and never further. Rows whose
outcome is not known yet (the last ``horizon`` rows, warm-up of a trailing-volatility band,
a session boundary inside the window, no option data) are NaN: they are marked, never
filled, and training drops them.

Every label returns a DataFrame with the target in column ``label`` and extra outputs in
``label_<output>`` columns (for example ``label_return``, the forward return the class was
cut from). Classes are encoded as floats so NaN can mark the unknown rows; ``Label.classes``
maps each code to its name.

Labels are registered like indicators: ``get(name)``, ``catalog()``, and
``compute_label(bars, name, **params)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from sigma_lab.data.sessions import NEW_YORK
from sigma_lab.errors import ConfigError
from sigma_lab.indicators.registry import Param

DIRECTION_CLASSES: dict[int, str] = {-1: "DOWN", 0: "FLAT", 1: "UP"}
BARRIER_CLASSES: dict[int, str] = {-1: "STOP_LOSS", 0: "TIMEOUT", 1: "TAKE_PROFIT"}
HEAD_FAKE_CLASSES: dict[int, str] = {0: "FOLLOW_THROUGH", 1: "HEAD_FAKE"}
PIN_CLASSES: dict[int, str] = {0: "AWAY", 1: "TOWARD"}


@dataclass(frozen=True)
class Label:
    """Metadata and implementation of one registered label."""

    name: str
    description: str
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    fn: Callable[..., Mapping[str, np.ndarray]]
    horizon: Callable[..., int]
    task: Callable[..., str]
    classes: Callable[..., dict[int, str] | None]
    needs_options: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in; unknown names and out-of-bounds values rejected."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"label {self.name!r} has no parameter {unknown[0]!r}; it takes {list(known) or 'none'}"
            )
        return {n: _check(self.name, p, params.get(n, p.default)) for n, p in known.items()}

    def horizon_bars(self, **params: Any) -> int:
        """How many bars after ``t`` the label at ``t`` may look at."""
        return int(self.horizon(**self.resolve(params)))

    def task_kind(self, **params: Any) -> str:
        """``classification`` or ``regression`` for these parameters."""
        return self.task(**self.resolve(params))

    def class_names(self, **params: Any) -> dict[int, str] | None:
        """Class code to name, or None for a regression target."""
        return self.classes(**self.resolve(params))

    def columns(self) -> list[str]:
        """Output columns: ``label`` for the target, ``label_<output>`` for the rest."""
        return ["label" if out == "label" else f"label_{out}" for out in self.outputs]


def _check(label_name: str, param: Param, value: Any) -> Any:
    """A parameter value checked against its declaration; flags (bool defaults) take true/false."""
    if isinstance(param.default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"label {label_name}: {param.name} must be true or false, got {value!r}")
        return value
    return param.check(f"label {label_name}", value)


_REGISTRY: dict[str, Label] = {}


def _const(value: Any) -> Callable[..., Any]:
    return lambda **_: value


def label(
    name: str,
    *,
    params: tuple[Param, ...] = (),
    outputs: tuple[str, ...] = ("label",),
    horizon: Callable[..., int],
    task: Callable[..., str] | str = "classification",
    classes: Callable[..., dict[int, str] | None] | dict[int, str] | None = None,
    needs_options: bool = False,
) -> Callable[[Callable[..., Mapping[str, np.ndarray]]], Callable[..., Mapping[str, np.ndarray]]]:
    """Register ``fn(bars, **params) -> {output: array}`` as the label ``name``."""

    def decorate(fn: Callable[..., Mapping[str, np.ndarray]]) -> Callable[..., Mapping[str, np.ndarray]]:
        if name in _REGISTRY:
            raise ValueError(f"label {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Label(
            name=name,
            description=doc[0] if doc else "",
            params=params,
            outputs=outputs,
            fn=fn,
            horizon=horizon,
            task=task if callable(task) else _const(task),
            classes=classes if callable(classes) else _const(classes),
            needs_options=needs_options,
        )
        return fn

    return decorate


def registry() -> Mapping[str, Label]:
    """All registered labels by name."""
    return dict(_REGISTRY)


def get(name: str) -> Label:
    """The label called ``name``; a clear error lists close matches when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known labels: {sorted(_REGISTRY)}"
        raise ConfigError(f"unknown label {name!r}{hint}") from None


def catalog() -> pd.DataFrame:
    """A table of every label: description, parameters, default horizon, task, outputs."""
    rows = []
    for lab in sorted(_REGISTRY.values(), key=lambda x: x.name):
        rows.append(
            {
                "name": lab.name,
                "description": lab.description,
                "params": {p.name: p.default for p in lab.params},
                "bounds": {p.name: (p.choices or (p.low, p.high)) for p in lab.params},
                "horizon": lab.horizon_bars(),
                "task": lab.task_kind(),
                "columns": lab.columns(),
                "needs_options": lab.needs_options,
            }
        )
    return pd.DataFrame(rows)


def compute_label(
    bars: pd.DataFrame, name: str, *, options: pd.DataFrame | None = None, **params: Any
) -> pd.DataFrame:
    """Compute label ``name`` on a bar frame; returns the label columns on the bars' index.

    ``options`` are option minute bars (``strike``, ``volume``, ``timestamp``), needed only by
    labels that declare ``needs_options``.
    """
    lab = get(name)
    resolved = lab.resolve(params)
    if lab.needs_options:
        resolved["options"] = options
    values = lab.fn(bars, **resolved)
    h = lab.horizon(**lab.resolve(params))
    data: dict[str, np.ndarray] = {}
    for out, col in zip(lab.outputs, lab.columns(), strict=True):
        arr = np.array(values[out], dtype="float64")
        if arr.shape != (len(bars),):
            raise RuntimeError(f"label {name!r} output {out!r} has shape {arr.shape}, not {(len(bars),)}")
        if h > 0:
            arr[max(len(arr) - h, 0) :] = np.nan
        data[col] = arr
    return pd.DataFrame(data, index=bars.index)


# --- helpers ---------------------------------------------------------------------------------------


def _shift_forward(values: np.ndarray, n: int) -> np.ndarray:
    """``out[t] = values[t + n]``; NaN where ``t + n`` is beyond the data."""
    out = np.full(len(values), np.nan)
    if n < len(values):
        out[: len(values) - n] = values[n:]
    return out


def _session_codes(index: pd.DatetimeIndex) -> np.ndarray:
    """An integer per New York calendar date, to tell whether two bars share a session."""
    local = index.tz_convert(NEW_YORK)
    return (local.year * 10000 + local.month * 100 + local.day).to_numpy(dtype="int64")


def _mask_cross_session(values: np.ndarray, index: pd.DatetimeIndex, n: int) -> np.ndarray:
    """NaN where bar ``t + n`` is in a later session than bar ``t``."""
    codes = _session_codes(index).astype("float64")
    crosses = _shift_forward(codes, n) != codes
    out = values.copy()
    out[crosses] = np.nan
    return out


def _classify(ret: np.ndarray, band: np.ndarray | float) -> np.ndarray:
    """+1 above ``band``, -1 below ``-band``, 0 inside; NaN where return or band is NaN."""
    band_arr = np.broadcast_to(np.asarray(band, dtype="float64"), ret.shape)
    out = np.where(ret > band_arr, 1.0, np.where(ret < -band_arr, -1.0, 0.0))
    out[np.isnan(ret) | np.isnan(band_arr)] = np.nan
    return out


@njit(cache=True)
def _trailing_std_kernel(x: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation of ``x[t-window+1 .. t]``; NaN until a full window without NaN."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        s = 0.0
        ok = True
        for j in range(t - window + 1, t + 1):
            if np.isnan(x[j]):
                ok = False
                break
            s += x[j]
        if not ok:
            continue
        mean = s / window
        ss = 0.0
        for j in range(t - window + 1, t + 1):
            ss += (x[j] - mean) ** 2
        out[t] = np.sqrt(ss / (window - 1))
    return out


@njit(cache=True)
def _atr_kernel(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range; the first value at bar ``period`` (TA-Lib convention)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    s = 0.0
    for t in range(1, period + 1):
        s += max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
    atr = s / period
    out[period] = atr
    for t in range(period + 1, n):
        tr = max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
        atr = (atr * (period - 1) + tr) / period
        out[t] = atr
    return out


@njit(cache=True)
def _triple_barrier_kernel(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    tp_dist: np.ndarray,
    sl_dist: np.ndarray,
    max_hold: int,
    direction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome (+1 take-profit, -1 stop-loss, 0 timeout), realized return and bars held.

    Entry at ``close[t]``; bars ``t+1 .. t+max_hold`` are scanned in order. A bar that
    touches both barriers counts as a stop. A bar that opens beyond a barrier exits at
    its open (gap-through).
    """
    n = close.shape[0]
    outcome = np.full(n, np.nan)
    ret = np.full(n, np.nan)
    held = np.full(n, np.nan)
    for t in range(n - max_hold):
        entry = close[t]
        if np.isnan(tp_dist[t]) or np.isnan(sl_dist[t]):
            continue
        tp = entry + direction * tp_dist[t]
        sl = entry - direction * sl_dist[t]
        done = False
        for j in range(t + 1, t + max_hold + 1):
            if direction > 0:
                fav = high[j] >= tp
                adv = low[j] <= sl
                gap_sl = open_[j] <= sl
                gap_tp = open_[j] >= tp
            else:
                fav = low[j] <= tp
                adv = high[j] >= sl
                gap_sl = open_[j] >= sl
                gap_tp = open_[j] <= tp
            if adv or gap_sl:
                exit_px = open_[j] if gap_sl else sl
                outcome[t] = -1.0
                ret[t] = direction * (exit_px / entry - 1.0)
                held[t] = j - t
                done = True
                break
            if fav or gap_tp:
                exit_px = open_[j] if gap_tp else tp
                outcome[t] = 1.0
                ret[t] = direction * (exit_px / entry - 1.0)
                held[t] = j - t
                done = True
                break
        if not done:
            outcome[t] = 0.0
            ret[t] = direction * (close[t + max_hold] / entry - 1.0)
            held[t] = max_hold
    return outcome, ret, held


@njit(cache=True)
def _head_fake_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breakout side (+1/-1/0, known at t), head-fake flag and breakout level per bar."""
    n = close.shape[0]
    side = np.full(n, np.nan)
    fake = np.full(n, np.nan)
    level = np.full(n, np.nan)
    for t in range(lookback, n):
        hi = high[t - lookback]
        lo = low[t - lookback]
        for j in range(t - lookback + 1, t):
            hi = max(hi, high[j])
            lo = min(lo, low[j])
        if close[t] > hi:
            side[t] = 1.0
            level[t] = hi
        elif close[t] < lo:
            side[t] = -1.0
            level[t] = lo
        else:
            side[t] = 0.0
            continue
        if t + horizon >= n:
            continue
        fake[t] = 0.0
        for j in range(t + 1, t + horizon + 1):
            if (side[t] > 0 and close[j] < level[t]) or (side[t] < 0 and close[j] > level[t]):
                fake[t] = 1.0
                break
    return side, fake, level


def _close(bars: pd.DataFrame) -> np.ndarray:
    return bars["close"].to_numpy(dtype="float64")


# --- the labels ------------------------------------------------------------------------------------

_BAND_PARAMS = (
    Param("band_kind", "fixed", choices=("fixed", "sigma"), description="fixed return band or k-sigma band"),
    Param("band", 0.0, 0.0, 1.0, description="fixed band: |return| <= band is FLAT"),
    Param("k", 0.5, 0.0, 10.0, description="sigma band: band = k * trailing std of 1-bar returns"),
    Param("vol_window", 20, 2, 5000, description="sigma band: bars in the trailing std window"),
)


def _band(bars: pd.DataFrame, band_kind: str, band: float, k: float, vol_window: int, horizon: int) -> Any:
    """The FLAT band: fixed, or k x trailing 1-bar return std x sqrt(horizon) from bars <= t."""
    if band_kind == "fixed":
        return band
    close = _close(bars)
    r1 = np.full(len(close), np.nan)
    r1[1:] = close[1:] / close[:-1] - 1.0
    return k * _trailing_std_kernel(r1, vol_window) * np.sqrt(horizon)


@label(
    "next_bar_direction",
    params=(*_BAND_PARAMS, Param("same_session", False, description="unknown when t+1 is a later session")),
    outputs=("label", "return"),
    horizon=_const(1),
    classes=DIRECTION_CLASSES,
)
def next_bar_direction(
    bars: pd.DataFrame, band_kind: str, band: float, k: float, vol_window: int, same_session: bool
) -> dict[str, np.ndarray]:
    """Direction of the next bar's close-to-close return: UP (+1), DOWN (-1) or FLAT (0).

    ``band_kind="fixed"``: FLAT when ``|r| <= band``. ``band_kind="sigma"``: the band is
    ``k`` times the standard deviation of the last ``vol_window`` one-bar returns ending at
    bar ``t`` (trailing only; NaN during its warm-up). ``same_session`` leaves the label
    unknown when bar ``t+1`` falls on a later New York session date (no overnight moves).
    """
    close = _close(bars)
    ret = _shift_forward(close, 1) / close - 1.0
    if same_session:
        ret = _mask_cross_session(ret, bars.index, 1)
    return {"label": _classify(ret, _band(bars, band_kind, band, k, vol_window, 1)), "return": ret}


@label(
    "forward_return",
    params=(
        Param("horizon", 5, 1, 1000, description="bars ahead"),
        Param("mode", "regression", choices=("regression", "classes"), description="target kind"),
        *_BAND_PARAMS,
        Param("same_session", False, description="unknown when t+horizon is a later session"),
    ),
    outputs=("label", "return"),
    horizon=lambda horizon, **_: horizon,
    task=lambda mode, **_: "regression" if mode == "regression" else "classification",
    classes=lambda mode, **_: None if mode == "regression" else DIRECTION_CLASSES,
)
def forward_return(
    bars: pd.DataFrame,
    horizon: int,
    mode: str,
    band_kind: str,
    band: float,
    k: float,
    vol_window: int,
    same_session: bool,
) -> dict[str, np.ndarray]:
    """Return from close ``t`` to close ``t+horizon``: the value (regression) or UP/DOWN/FLAT.

    In ``classes`` mode the FLAT band is fixed, or ``k`` x trailing one-bar std x
    ``sqrt(horizon)`` (sigma band, trailing bars only).
    """
    close = _close(bars)
    ret = _shift_forward(close, horizon) / close - 1.0
    if same_session:
        ret = _mask_cross_session(ret, bars.index, horizon)
    if mode == "regression":
        return {"label": ret, "return": ret}
    return {"label": _classify(ret, _band(bars, band_kind, band, k, vol_window, horizon)), "return": ret}


@label(
    "close_to_open",
    params=(
        Param("mode", "classes", choices=("regression", "classes"), description="target kind"),
        Param("band", 0.0, 0.0, 1.0, description="|gap| <= band is FLAT"),
    ),
    outputs=("label", "return"),
    horizon=_const(1),
    task=lambda mode, **_: "regression" if mode == "regression" else "classification",
    classes=lambda mode, **_: None if mode == "regression" else DIRECTION_CLASSES,
)
def close_to_open(bars: pd.DataFrame, mode: str, band: float) -> dict[str, np.ndarray]:
    """The overnight gap: return from close ``t`` to open ``t+1`` (value or UP/DOWN/FLAT)."""
    close = _close(bars)
    ret = _shift_forward(bars["open"].to_numpy(dtype="float64"), 1) / close - 1.0
    target = ret if mode == "regression" else _classify(ret, band)
    return {"label": target, "return": ret}


@label(
    "triple_barrier",
    params=(
        Param("take_profit", 2.0, 0.0001, 1000.0, description="take-profit distance (percent or ATRs)"),
        Param("stop_loss", 1.0, 0.0001, 1000.0, description="stop-loss distance (percent or ATRs)"),
        Param("max_hold", 10, 1, 1000, description="maximum holding period in bars (the horizon)"),
        Param("units", "percent", choices=("percent", "atr"), description="barrier units"),
        Param("atr_period", 14, 1, 1000, description="ATR period when units=atr"),
        Param("side", "long", choices=("long", "short"), description="position side"),
    ),
    outputs=("label", "return", "hold_bars"),
    horizon=lambda max_hold, **_: max_hold,
    classes=BARRIER_CLASSES,
)
def triple_barrier(
    bars: pd.DataFrame,
    take_profit: float,
    stop_loss: float,
    max_hold: int,
    units: str,
    atr_period: int,
    side: str,
) -> dict[str, np.ndarray]:
    """Which barrier a position entered at close ``t`` hits first within ``max_hold`` bars.

    +1 take-profit, -1 stop-loss, 0 neither (timeout, exit at close ``t+max_hold``).
    Barriers are ``take_profit``/``stop_loss`` percent of the entry price, or multiples of
    Wilder's ATR(``atr_period``) at bar ``t``. Conservative conventions: when one bar
    touches both barriers the stop-loss wins; a bar opening beyond a barrier exits at its
    open. ``label_return`` is the realized return of the side, ``label_hold_bars`` the
    bars until exit.
    """
    o, h, lo, c = (bars[col].to_numpy(dtype="float64") for col in ("open", "high", "low", "close"))
    if units == "percent":
        tp_dist = c * take_profit / 100.0
        sl_dist = c * stop_loss / 100.0
    else:
        atr = _atr_kernel(h, lo, c, atr_period)
        tp_dist = atr * take_profit
        sl_dist = atr * stop_loss
    outcome, ret, held = _triple_barrier_kernel(
        o, h, lo, c, tp_dist, sl_dist, max_hold, 1.0 if side == "long" else -1.0
    )
    return {"label": outcome, "return": ret, "hold_bars": held}


@label(
    "head_fake",
    params=(
        Param("lookback", 20, 1, 5000, description="bars defining the prior range"),
        Param("horizon", 3, 1, 1000, description="bars in which a failed breakout must reverse"),
    ),
    outputs=("label", "breakout", "level"),
    horizon=lambda horizon, **_: horizon,
    classes=HEAD_FAKE_CLASSES,
)
def head_fake(bars: pd.DataFrame, lookback: int, horizon: int) -> dict[str, np.ndarray]:
    """Whether a breakout at bar ``t`` reverses into the prior range within ``horizon`` bars.

    Breakout: close ``t`` above the highest high (up, ``label_breakout=+1``) or below the
    lowest low (down, ``-1``) of the ``lookback`` bars before ``t``; that extreme is the
    breakout ``label_level``. Head-fake (1): some close in ``t+1 .. t+horizon`` is back
    below the level (up breakouts) or above it (down breakouts); otherwise follow-through
    (0). Bars without a breakout have no label (NaN, so training skips them).
    """
    h, lo, c = (bars[col].to_numpy(dtype="float64") for col in ("high", "low", "close"))
    side, fake, level = _head_fake_kernel(h, lo, c, lookback, horizon)
    return {"label": fake, "breakout": side, "level": level}


def pin_strikes(bars: pd.DataFrame, options: pd.DataFrame) -> np.ndarray:
    """Per bar, the strike with the most option volume traded that session up to the bar's end.

    Only option minutes stamped before the bar's end (``t`` + the bar length, inferred from
    the smallest gap between bars) count, so the strike is known at bar ``t``'s close.
    Ties go to the strike closest to the bar's close. NaN on sessions without option
    volume so far.
    """
    out = np.full(len(bars), np.nan)
    if options is None or len(options) == 0 or len(bars) == 0:
        return out
    opts = options.reset_index() if "timestamp" not in options.columns else options
    ts = pd.DatetimeIndex(opts["timestamp"]).tz_convert("UTC")
    steps = np.diff(bars.index.as_unit("ns").asi8)
    bar_len = pd.Timedelta(int(steps[steps > 0].min()), "ns") if (steps > 0).any() else pd.Timedelta(0)
    opt_session = _session_codes(ts)
    strikes = opts["strike"].to_numpy(dtype="float64")
    volume = opts["volume"].to_numpy(dtype="float64")
    bar_session = _session_codes(bars.index)
    bar_end = (bars.index + bar_len).as_unit("ns").asi8
    opt_ts = ts.as_unit("ns").asi8
    close = _close(bars)
    for code in np.unique(bar_session):
        in_day = opt_session == code
        if not in_day.any():
            continue
        day_ts, day_k, day_v = opt_ts[in_day], strikes[in_day], volume[in_day]
        levels = np.unique(day_k)
        for i in np.flatnonzero(bar_session == code):
            seen = day_ts < bar_end[i]
            if not seen.any():
                continue
            slots = np.searchsorted(levels, day_k[seen])
            totals = np.bincount(slots, weights=day_v[seen], minlength=len(levels))
            if totals.max() <= 0:
                continue
            best = levels[totals == totals.max()]
            out[i] = best[np.argmin(np.abs(best - close[i]))]
    return out


@label(
    "pin_drift",
    params=(Param("horizon", 1, 1, 1000, description="bars ahead, within the same session"),),
    outputs=("label", "return", "strike", "distance"),
    horizon=lambda horizon, **_: horizon,
    classes=PIN_CLASSES,
    needs_options=True,
)
def pin_drift(bars: pd.DataFrame, horizon: int, options: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Whether price moves toward the session's pin strike over the next ``horizon`` bars.

    The pin strike is the strike with the most option volume (calls and puts) traded that
    session up to bar ``t``'s end: a proxy for open interest, which minute bars do not
    carry. Label 1 when ``|close[t+h] - K| < |close[t] - K|`` (drift toward the pin),
    else 0. Unknown (NaN) on sessions without option data, before the first option trade
    of the session, and when ``t+h`` falls on a later session. ``label_distance`` is
    ``(close[t] - K) / close[t]``, ``label_return`` the forward return.
    """
    close = _close(bars)
    strike = pin_strikes(bars, options) if options is not None else np.full(len(close), np.nan)
    future = _mask_cross_session(_shift_forward(close, horizon), bars.index, horizon)
    now_dist = np.abs(close - strike)
    toward = np.where(np.abs(future - strike) < now_dist, 1.0, 0.0)
    toward[np.isnan(future) | np.isnan(strike)] = np.nan
    return {
        "label": toward,
        "return": future / close - 1.0,
        "strike": strike,
        "distance": (close - strike) / close,
    }
