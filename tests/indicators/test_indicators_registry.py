"""The catalogue and parameter validation of the indicator registry, and the warm-up contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.errors import ConfigError
from sigma_lab.indicators import catalog, compute, get, registry

OURS = ("trend", "momentum", "volatility", "volume")
PRICE_VOLUME = sorted(n for n, i in registry().items() if i.category in OURS)

FIXED_COLUMNS = {
    "sma": ["sma_20"],
    "ema": ["ema_20"],
    "rsi": ["rsi_14"],
    "atr": ["atr_14"],
    "macd": ["macd_12_26_9", "macd_12_26_9_signal", "macd_12_26_9_hist"],
    "bbands": [f"bbands_20_2_{o}" for o in ("upper", "middle", "lower", "width", "pctb")],
    "donchian": ["donchian_20_upper", "donchian_20_middle", "donchian_20_lower"],
    "adx": ["adx_14", "adx_14_plus_di", "adx_14_minus_di"],
    "roc": ["roc_10"],
    "returns": ["returns_1"],
    "rolling_std": ["rolling_std_20"],
    "realized_vol": ["realized_vol_20"],
    "stoch": ["stoch_14_3_3_k", "stoch_14_3_3_d"],
    "obv": ["obv"],
    "mfi": ["mfi_14"],
    "cmf": ["cmf_20"],
    "volume_zscore": ["volume_zscore_20"],
    "vwap_session": ["vwap_session"],
    "close_vs_vwap": ["close_vs_vwap"],
    "ema_slope": ["ema_slope_20_5"],
    "dist_ema": ["dist_ema_20"],
}


def test_catalog_lists_every_indicator_with_unique_column_names() -> None:
    table = catalog()
    assert sorted(table["name"]) == sorted(registry())
    columns = [c for cols in table["columns"] for c in cols]
    assert len(columns) == len(set(columns))
    assert set(table["category"]) >= set(OURS)


def test_columns_that_others_rely_on_keep_their_names() -> None:
    assert {name: get(name).columns() for name in FIXED_COLUMNS} == FIXED_COLUMNS
    assert [p.name for p in get("stoch").params] == ["k_period", "d_period", "smooth"]
    assert [p.name for p in get("macd").params] == ["fast", "slow", "signal"]


def test_unknown_parameter_error_names_indicator_and_parameter(walk_1h: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"indicator 'rsi' has no parameter 'length'"):
        compute(walk_1h, "rsi", length=14)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rsi", {"period": 0}, r"rsi: period=0 is below its minimum"),
        ("bbands", {"nstd": 50.0}, r"bbands: nstd=50.0 is above its maximum"),
        ("sma", {"period": 2.5}, r"sma: period must be a whole number"),
        ("macd", {"fast": 30, "slow": 26}, r"macd: fast \(30\) must be less than slow \(26\)"),
        ("ultosc", {"mid": 40}, r"ultosc: periods must increase"),
        ("psar", {"step": 0.5, "maximum": 0.2}, r"psar: step \(0.5\) must not exceed maximum"),
    ],
)
def test_invalid_parameter_error_names_indicator_and_parameter(
    walk_1h: pd.DataFrame, name: str, params: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        compute(walk_1h, name, **params)


def test_unknown_indicator_suggests_close_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown indicator 'rsii'; did you mean rsi"):
        get("rsii")


def test_missing_input_column_is_named(walk_1h: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"'obv' needs columns \['volume'\]"):
        compute(walk_1h.drop(columns="volume"), "obv")


@pytest.mark.parametrize("name", PRICE_VOLUME)
def test_first_value_comes_exactly_after_the_declared_warmup(name: str, walk_1h: pd.DataFrame) -> None:
    out = compute(walk_1h, name)
    warm = get(name).warmup_bars()
    values = out.to_numpy()
    assert np.isnan(values[:warm]).all()
    assert np.isfinite(values[warm:]).all(), f"{name}: NaN or inf after warm-up {warm}"


@pytest.mark.parametrize("name", PRICE_VOLUME)
def test_outputs_are_deterministic_and_keep_the_bar_index(name: str, walk_1h: pd.DataFrame) -> None:
    first, second = compute(walk_1h, name), compute(walk_1h, name)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.index.equals(walk_1h.index)
    assert list(first.columns) == get(name).columns()


@pytest.mark.parametrize("name", PRICE_VOLUME)
def test_bars_shorter_than_the_warmup_give_all_nan(name: str, walk_1h: pd.DataFrame) -> None:
    warm = get(name).warmup_bars()
    out = compute(walk_1h.iloc[: max(warm, 1)], name)
    assert out.isna().all().all() or warm == 0
