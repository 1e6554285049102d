"""Every indicator with a TA-Lib twin matches TA-Lib after its warm-up, on real and synthetic bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sigma_lab.indicators import compute, get, registry

talib = pytest.importorskip("talib")

pytestmark = pytest.mark.peers

Adapter = Callable[[pd.DataFrame, dict[str, Any]], dict[str, np.ndarray]]


def _a(bars: pd.DataFrame, *cols: str) -> list[np.ndarray]:
    return [bars[c].to_numpy(dtype="float64") for c in cols]


def _hlc(bars: pd.DataFrame) -> list[np.ndarray]:
    return _a(bars, "high", "low", "close")


def _close(bars: pd.DataFrame) -> np.ndarray:
    return _a(bars, "close")[0]


def _adx(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    return {
        "": talib.ADX(*_hlc(b), p["period"]),
        "plus_di": talib.PLUS_DI(*_hlc(b), p["period"]),
        "minus_di": talib.MINUS_DI(*_hlc(b), p["period"]),
    }


def _aroon(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    down, up = talib.AROON(*_a(b, "high", "low"), p["period"])
    return {"up": up, "down": down, "osc": talib.AROONOSC(*_a(b, "high", "low"), p["period"])}


def _kama(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    assert (p["fast"], p["slow"]) == (2, 30), "TA-Lib's KAMA fixes fast=2 and slow=30"
    return {"": talib.KAMA(_close(b), p["period"])}


def _macd(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    line, sig, hist = talib.MACD(_close(b), p["fast"], p["slow"], p["signal"])
    return {"": line, "signal": sig, "hist": hist}


def _stoch(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    k, d = talib.STOCH(*_hlc(b), p["k_period"], p["smooth"], 0, p["d_period"], 0)
    return {"k": k, "d": d}


def _stochrsi(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    k, d = talib.STOCHRSI(_close(b), p["period"], p["k_period"], p["d_period"], 0)
    return {"k": k, "d": d}


def _bbands(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    upper, middle, lower = talib.BBANDS(_close(b), p["period"], p["nstd"], p["nstd"], 0)
    return {"upper": upper, "middle": middle, "lower": lower}


def _donchian(b: pd.DataFrame, p: dict[str, Any]) -> dict[str, np.ndarray]:
    high, low = _a(b, "high", "low")
    return {
        "upper": talib.MAX(high, p["period"]),
        "middle": talib.MIDPRICE(high, low, p["period"]),
        "lower": talib.MIN(low, p["period"]),
    }


# name -> (TA-Lib call, a non-default parameter set); compared outputs are the adapter's keys
TALIB: dict[str, tuple[Adapter, dict[str, Any]]] = {
    "sma": (lambda b, p: {"": talib.SMA(_close(b), p["period"])}, {"period": 7}),
    "ema": (lambda b, p: {"": talib.EMA(_close(b), p["period"])}, {"period": 50}),
    "kama": (_kama, {"period": 30}),
    "adx": (_adx, {"period": 9}),
    "aroon": (_aroon, {"period": 14}),
    "psar": (
        lambda b, p: {"": talib.SAR(*_a(b, "high", "low"), acceleration=p["step"], maximum=p["maximum"])},
        {"step": 0.01, "maximum": 0.1},
    ),
    "rsi": (lambda b, p: {"": talib.RSI(_close(b), p["period"])}, {"period": 5}),
    "stochrsi": (_stochrsi, {"period": 10, "k_period": 5, "d_period": 4}),
    "stoch": (_stoch, {"k_period": 5, "d_period": 2, "smooth": 4}),
    "willr": (lambda b, p: {"": talib.WILLR(*_hlc(b), p["period"])}, {"period": 30}),
    "cci": (lambda b, p: {"": talib.CCI(*_hlc(b), p["period"])}, {"period": 14}),
    "macd": (_macd, {"fast": 5, "slow": 35, "signal": 5}),
    "ppo": (lambda b, p: {"": talib.PPO(_close(b), p["fast"], p["slow"], matype=1)}, {"fast": 3, "slow": 10}),
    "roc": (lambda b, p: {"": talib.ROC(_close(b), p["period"])}, {"period": 3}),
    "momentum": (lambda b, p: {"": talib.MOM(_close(b), p["period"])}, {"period": 25}),
    "trix": (lambda b, p: {"": talib.TRIX(_close(b), p["period"])}, {"period": 30}),
    "ultosc": (
        lambda b, p: {"": talib.ULTOSC(*_hlc(b), p["fast"], p["mid"], p["slow"])},
        {"fast": 5, "mid": 10, "slow": 20},
    ),
    "atr": (lambda b, p: {"": talib.ATR(*_hlc(b), p["period"])}, {"period": 5}),
    "bbands": (_bbands, {"period": 10, "nstd": 1.5}),
    "donchian": (_donchian, {"period": 55}),
    "obv": (lambda b, p: {"": talib.OBV(*_a(b, "close", "volume"))}, {}),
    "mfi": (lambda b, p: {"": talib.MFI(*_hlc(b), *_a(b, "volume"), p["period"])}, {"period": 20}),
}

TWINS = sorted(name for name, ind in registry().items() if ind.talib)


def test_every_talib_twin_has_a_comparison() -> None:
    assert sorted(TALIB) == TWINS


@pytest.mark.parametrize("alternate", [False, True], ids=["defaults", "alternate"])
@pytest.mark.parametrize("name", TWINS)
def test_indicator_matches_talib_after_warmup(name: str, alternate: bool, dataset: pd.DataFrame) -> None:
    assert name in TALIB, f"{name} declares TA-Lib twin {get(name).talib} but has no comparison here"
    adapter, alt = TALIB[name]
    ind = get(name)
    params = ind.resolve(alt if alternate else {})
    ours = compute(dataset, name, **params)
    theirs = adapter(dataset, params)
    warm = ind.warmup_bars(**params)
    for out, reference in theirs.items():
        column = ours.columns[ind.outputs.index(out)]
        mine = ours[column].to_numpy()
        talib_first = int(np.flatnonzero(~np.isnan(reference))[0])
        assert warm >= talib_first, (
            f"{column}: warm-up {warm} claims values before TA-Lib's first ({talib_first})"
        )
        assert np.isnan(mine[:warm]).all()
        scale = max(1.0, float(np.nanmax(np.abs(reference))))
        np.testing.assert_allclose(
            mine[warm:], reference[warm:], rtol=1e-9, atol=1e-9 * scale, err_msg=column
        )
