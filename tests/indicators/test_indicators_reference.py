"""Price/volume indicators without a TA-Lib twin match plain pandas references written here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sigma_lab.indicators import compute, get, registry

OURS = ("trend", "momentum", "volatility", "volume")


def ema_ref(s: pd.Series, p: int) -> pd.Series:
    """EMA with alpha 2/(p+1) started from the SMA of the first p valid values."""
    valid = s.dropna()
    x = valid.iloc[p - 1 :].copy()
    x.iloc[0] = valid.iloc[:p].mean()
    return x.ewm(span=p, adjust=False).mean().reindex(s.index)


def wilder_ref(s: pd.Series, p: int) -> pd.Series:
    """Wilder average (alpha 1/p) started from the mean of the first p valid values."""
    valid = s.dropna()
    x = valid.iloc[p - 1 :].copy()
    x.iloc[0] = valid.iloc[:p].mean()
    return x.ewm(alpha=1.0 / p, adjust=False).mean().reindex(s.index)


def atr_ref(b: pd.DataFrame, p: int) -> pd.Series:
    pc = b["close"].shift()
    tr = pd.concat([b["high"], pc], axis=1).max(axis=1) - pd.concat([b["low"], pc], axis=1).min(axis=1)
    tr.iloc[0] = np.nan
    return wilder_ref(tr, p)


def rsi_ref(close: pd.Series, p: int) -> pd.Series:
    d = close.diff()
    gain, loss = wilder_ref(d.clip(lower=0), p), wilder_ref(-d.clip(upper=0), p)
    return 100 * gain / (gain + loss)


def mid_ref(b: pd.DataFrame, p: int) -> pd.Series:
    return (b["high"].rolling(p).max() + b["low"].rolling(p).min()) / 2


def supertrend_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    a = atr_ref(b, p["period"]).to_numpy()
    mid = ((b["high"] + b["low"]) / 2).to_numpy()
    close = b["close"].to_numpy()
    line, direction = np.full(len(b), np.nan), np.full(len(b), np.nan)
    upper = lower = trend = None
    for i in range(len(b)):
        if np.isnan(a[i]):
            continue
        bu, bl = mid[i] + p["multiplier"] * a[i], mid[i] - p["multiplier"] * a[i]
        if upper is None:
            upper, lower, trend = bu, bl, (1 if close[i] > mid[i] else -1)
        else:
            upper = bu if bu < upper or close[i - 1] > upper else upper
            lower = bl if bl > lower or close[i - 1] < lower else lower
            if trend == -1 and close[i] > upper:
                trend = 1
            elif trend == 1 and close[i] < lower:
                trend = -1
        line[i] = lower if trend == 1 else upper
        direction[i] = trend
    return {"": pd.Series(line, b.index), "direction": pd.Series(direction, b.index)}


def fisher_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    mid = (b["high"] + b["low"]) / 2
    lo, hi = mid.rolling(p["period"]).min(), mid.rolling(p["period"]).max()
    pos = ((mid - lo) / (hi - lo)).where(hi > lo, 0.5).to_numpy()
    value, fish = 0.0, 0.0
    out, trig = np.full(len(b), np.nan), np.full(len(b), np.nan)
    for i in range(p["period"] - 1, len(b)):
        value = min(max(0.66 * (pos[i] - 0.5) + 0.67 * value, -0.999), 0.999)
        trig[i] = fish
        fish = 0.5 * np.log((1 + value) / (1 - value)) + 0.5 * fish
        out[i] = fish
    return {"": pd.Series(out, b.index), "signal": pd.Series(trig, b.index)}


def r2_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    t = np.arange(p["period"], dtype=float)

    def r2(w: np.ndarray) -> float:
        return 0.0 if np.ptp(w) == 0 else np.corrcoef(t, w)[0, 1] ** 2

    return {"": b["close"].rolling(p["period"]).apply(r2, raw=True)}


def tsi_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    d = b["close"].diff()
    num = ema_ref(ema_ref(d, p["long"]), p["short"])
    den = ema_ref(ema_ref(d.abs(), p["long"]), p["short"])
    return {"": 100 * num / den}


def score_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    n = p["period"]
    logret = np.log(b["close"]).diff()
    vol = logret.rolling(n).std() * np.sqrt(n)
    trend = np.tanh(np.log(b["close"] / b["close"].shift(n)) / vol)
    lo, hi = b["low"].rolling(n).min(), b["high"].rolling(n).max()
    stoch = 2 * (b["close"] - lo) / (hi - lo) - 1
    return {"": ((rsi_ref(b["close"], n) - 50) / 50 + trend + stoch) / 3}


def ppy_ref(index: pd.DatetimeIndex) -> pd.Series:
    """Bars per year: 252 for daily bars; for intraday, 252 x median bars in the last 5 completed sessions."""
    days = pd.Series(index.tz_convert("America/New_York").date, index=index)
    spacing = pd.Series(index, index=index).diff().median()
    if spacing >= pd.Timedelta(hours=20):
        return pd.Series(252.0, index=index)
    counts = days.value_counts().sort_index()
    out = []
    for i, day in enumerate(days):
        done = counts[counts.index < day].iloc[-5:]
        out.append(252.0 * (done.median() if len(done) else (days.iloc[: i + 1] == day).sum()))
    return pd.Series(out, index=index)


def session_vwap_ref(b: pd.DataFrame) -> pd.Series:
    price = b["vwap"] if "vwap" in b else (b["high"] + b["low"] + b["close"]) / 3
    day = b.index.tz_convert("America/New_York").date
    pv = (price * b["volume"]).groupby(day).cumsum()
    return pv / b["volume"].groupby(day).cumsum()


def cmf_ref(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, pd.Series]:
    rng = b["high"] - b["low"]
    mfv = (((b["close"] - b["low"]) - (b["high"] - b["close"])) / rng).where(rng > 0, 0.0) * b["volume"]
    return {"": mfv.rolling(p["period"]).sum() / b["volume"].rolling(p["period"]).sum()}


Reference = Callable[[pd.DataFrame, dict[str, Any]], dict[str, pd.Series]]

REFERENCES: dict[str, Reference] = {
    "ema_slope": lambda b, p: {
        "": (ema_ref(b["close"], p["period"]).pct_change(p["lookback"], fill_method=None)) / p["lookback"]
    },
    "dist_ema": lambda b, p: {"": b["close"] / ema_ref(b["close"], p["period"]) - 1},
    "ichimoku": lambda b, p: {
        "tenkan": mid_ref(b, p["tenkan"]),
        "kijun": mid_ref(b, p["kijun"]),
        "senkou_a": ((mid_ref(b, p["tenkan"]) + mid_ref(b, p["kijun"])) / 2).shift(p["kijun"]),
        "senkou_b": mid_ref(b, p["senkou"]).shift(p["kijun"]),
    },
    "supertrend": supertrend_ref,
    "linreg_r2": r2_ref,
    "elder_ray": lambda b, p: {
        "bull": b["high"] - ema_ref(b["close"], p["period"]),
        "bear": b["low"] - ema_ref(b["close"], p["period"]),
    },
    "dpo": lambda b, p: {"": b["close"].shift(p["period"] // 2 + 1) - b["close"].rolling(p["period"]).mean()},
    "qstick": lambda b, p: {"": (b["close"] - b["open"]).rolling(p["period"]).mean()},
    "returns": lambda b, p: {"": b["close"].pct_change(p["period"])},
    "tsi": tsi_ref,
    "fisher": fisher_ref,
    "momentum_score": score_ref,
    "rolling_std": lambda b, p: {"": b["close"].pct_change().rolling(p["period"]).std()},
    "realized_vol": lambda b, p: {
        "": np.log(b["close"]).diff().rolling(p["period"]).std() * np.sqrt(ppy_ref(b.index))
    },
    "keltner": lambda b, p: {
        "upper": ema_ref(b["close"], p["period"]) + p["multiplier"] * atr_ref(b, p["atr_period"]),
        "middle": ema_ref(b["close"], p["period"]),
        "lower": ema_ref(b["close"], p["period"]) - p["multiplier"] * atr_ref(b, p["atr_period"]),
    },
    "cmf": cmf_ref,
    "volume_zscore": lambda b, p: {
        "": (b["volume"] - b["volume"].rolling(p["period"]).mean()) / b["volume"].rolling(p["period"]).std()
    },
    "vwap_session": lambda b, p: {"": session_vwap_ref(b)},
    "close_vs_vwap": lambda b, p: {"": b["close"] / session_vwap_ref(b) - 1},
}

# outputs without a TA-Lib twin on indicators that have one, checked against pandas too
EXTRA_OUTPUTS: dict[str, Reference] = {
    "bbands": lambda b, p: {
        "width": 2
        * p["nstd"]
        * b["close"].rolling(p["period"]).std(ddof=0)
        / b["close"].rolling(p["period"]).mean(),
        "pctb": (b["close"] - b["close"].rolling(p["period"]).mean())
        / (2 * p["nstd"] * b["close"].rolling(p["period"]).std(ddof=0))
        + 0.5,
    },
    "ppo": lambda b, p: {
        "signal": ema_ref(
            100 * (ema_ref(b["close"], p["fast"]) / ema_ref(b["close"], p["slow"]) - 1), p["signal"]
        ),
    },
}

WITHOUT_TWIN = sorted(n for n, i in registry().items() if i.category in OURS and not i.talib)
ALTERNATE = {"ema_slope": {"period": 5, "lookback": 1}, "ichimoku": {"tenkan": 5, "kijun": 10, "senkou": 20}}


def test_every_indicator_without_a_twin_has_a_reference() -> None:
    assert sorted(REFERENCES) == WITHOUT_TWIN


def _check(bars: pd.DataFrame, name: str, params: dict[str, Any], refs: dict[str, pd.Series]) -> None:
    ind = get(name)
    ours = compute(bars, name, **params)
    warm = ind.warmup_bars(**params)
    for out, ref in refs.items():
        column = ours.columns[ind.outputs.index(out)]
        mine, expected = ours[column].to_numpy(), ref.to_numpy(dtype="float64")
        assert np.isnan(mine[:warm]).all(), column
        np.testing.assert_allclose(mine[warm:], expected[warm:], rtol=1e-8, atol=1e-9, err_msg=column)


@pytest.mark.parametrize("name", WITHOUT_TWIN)
def test_indicator_matches_pandas_reference(name: str, dataset: pd.DataFrame) -> None:
    assert name in REFERENCES, f"{name} has neither a TA-Lib twin nor a pandas reference"
    for params in ({}, ALTERNATE.get(name)):
        if params is not None:
            resolved = get(name).resolve(params)
            _check(dataset, name, resolved, REFERENCES[name](dataset, resolved))


@pytest.mark.parametrize("name", sorted(EXTRA_OUTPUTS))
def test_outputs_beyond_the_talib_twin_match_pandas(name: str, dataset: pd.DataFrame) -> None:
    params = get(name).resolve({})
    _check(dataset, name, params, EXTRA_OUTPUTS[name](dataset, params))


def test_realized_vol_annualizes_daily_bars_by_252(aapl_1d: pd.DataFrame) -> None:
    vol = compute(aapl_1d, "realized_vol", period=20)["realized_vol_20"]
    std = np.log(aapl_1d["close"]).diff().rolling(20).std()
    np.testing.assert_allclose(vol.iloc[20:], std.iloc[20:] * np.sqrt(252), rtol=1e-9)


def test_realized_vol_annualizes_extended_hours_by_bars_per_session(spy_1h: pd.DataFrame) -> None:
    vol = compute(spy_1h, "realized_vol", period=20)["realized_vol_20"]
    std = np.log(spy_1h["close"]).diff().rolling(20).std()
    assert np.nanmedian(vol / std) == pytest.approx(np.sqrt(252 * 16))


def test_session_vwap_restarts_each_new_york_day(spy_1h: pd.DataFrame) -> None:
    vwap = compute(spy_1h, "vwap_session")["vwap_session"]
    ny = spy_1h.index.tz_convert("America/New_York")
    first = ~pd.Series(ny.date).duplicated().to_numpy()
    np.testing.assert_allclose(vwap[first], spy_1h["vwap"][first])
