"""The bundled real data through ``load``, the option bars and the source registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data import get_source, list_sources, load, load_option_bars, validate_bars
from sigma_lab.data.sources.sample import sample_path
from sigma_lab.errors import ConfigError, DataSourceError, NotFoundError


def raw_stock(symbol: str) -> pd.DataFrame:
    frame = pd.read_parquet(sample_path("stocks_1d.parquet"))
    return frame[frame["symbol"] == symbol].reset_index(drop=True)


def test_aapl_daily_are_the_bundled_bars_adjusted(workspace: Path) -> None:
    bars = load("AAPL", timeframe="1d", source="sample")
    raw = raw_stock("AAPL")
    assert validate_bars(bars).equals(bars)
    assert len(bars) == len(raw) == 3270
    expected_index = pd.DatetimeIndex(raw["date"]).tz_localize("UTC")
    assert (bars.index == expected_index).all()
    ratio = (raw["adj_close"] / raw["close"]).to_numpy()
    np.testing.assert_allclose(bars["close"].to_numpy(), raw["adj_close"].to_numpy(), rtol=1e-12)
    for col in ("open", "high", "low"):
        np.testing.assert_allclose(bars[col].to_numpy(), raw[col].to_numpy() * ratio, rtol=1e-12)
    np.testing.assert_allclose(bars["volume"].to_numpy(), raw["volume"].to_numpy() / ratio, rtol=1e-12)


def test_adjusted_aapl_has_no_split_jump_but_raw_does(workspace: Path) -> None:
    adjusted = load("AAPL", "1d", start="2005-02-25", end="2005-03-01")
    raw = load("AAPL", "1d", start="2005-02-25", end="2005-03-01", adjust=False)
    raw_rows = raw_stock("AAPL").set_index("date").loc["2005-02-25":"2005-03-01"]
    np.testing.assert_array_equal(raw["close"].to_numpy(), raw_rows["close"].to_numpy())
    assert abs(np.log(adjusted["close"]).diff().iloc[1:]).max() < 0.1
    assert abs(np.log(raw["close"]).diff().iloc[1:]).max() > 0.5


def test_spy_hourly_equals_the_bundled_bars(workspace: Path) -> None:
    bars = load("SPY", timeframe="1h", source="sample")
    raw = pd.read_parquet(sample_path("spy_1h.parquet")).set_index("timestamp")
    assert len(bars) == 1214
    pd.testing.assert_frame_equal(
        bars, raw[["open", "high", "low", "close", "volume", "vwap"]], check_freq=False
    )


def test_spy_daily_is_one_regular_session_bar_per_date(workspace: Path) -> None:
    daily = load("SPY", "1d")
    hourly = load("SPY", "1h")
    ny = hourly.index.tz_convert("America/New_York")
    day = hourly[(ny.strftime("%Y-%m-%d") == "2023-03-15") & (ny.hour >= 9) & (ny.hour < 16)]
    bar = daily.loc["2023-03-15"]
    assert bar["open"] == day["open"].iloc[0] and bar["close"] == day["close"].iloc[-1]
    assert bar["high"] == day["high"].max() and bar["low"] == day["low"].min()
    assert bar["volume"] == day["volume"].sum()
    assert (daily.index == daily.index.normalize()).all()
    regular_dates = set(ny[(ny.hour >= 9) & (ny.hour < 16)].date)
    assert daily.index.is_unique and set(daily.index.date) == regular_dates


def test_weekly_bars_resample_daily_bars(workspace: Path) -> None:
    weekly = load("MSFT", "1w", start="2010-01-04", end="2010-01-15")
    daily = load("MSFT", "1d", start="2010-01-04", end="2010-01-15")
    assert list(weekly.index.strftime("%Y-%m-%d")) == ["2010-01-04", "2010-01-11"]
    assert weekly["volume"].sum() == pytest.approx(daily["volume"].sum())
    assert weekly["close"].iloc[-1] == daily["close"].iloc[-1]


def test_range_is_inclusive_and_date_only_end_covers_the_day(workspace: Path) -> None:
    bars = load("SPY", "1h", start="2023-01-04", end="2023-01-04")
    assert len(bars) > 10
    assert set(bars.index.strftime("%Y-%m-%d")) == {"2023-01-04"}


def test_unknown_sample_symbol_lists_the_available_ones(workspace: Path) -> None:
    with pytest.raises(
        NotFoundError, match="'TSLA' is not in the sample data; available: AAPL, MSFT, IBM, GOOG, SPY"
    ):
        load("TSLA")


def test_daily_symbol_refuses_intraday_timeframes(workspace: Path) -> None:
    with pytest.raises(DataSourceError, match="daily bars"):
        load("IBM", "1h")


def test_registry_lists_all_sources_with_descriptions() -> None:
    sources = list_sources()
    assert set(sources) >= {"sample", "synthetic", "csv", "parquet", "polygon"}
    assert all(isinstance(text, str) and text for text in sources.values())


def test_unknown_source_names_the_available_ones() -> None:
    with pytest.raises(NotFoundError, match="unknown data source 'nope'; available: csv, parquet"):
        get_source("nope")


def test_bad_source_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bad options for data source 'sample'"):
        get_source("sample", colour="red")


def test_option_bars_are_valid_per_contract_and_in_range(workspace: Path) -> None:
    bars = load_option_bars("SPY")
    assert len(bars) == 30024 and bars["contract"].nunique() == 120
    assert set(bars["right"]) == {"C", "P"}
    assert str(bars["timestamp"].dt.tz) == "UTC"
    for _, rows in bars.groupby("contract"):
        validate_bars(rows.set_index("timestamp"))
    day = load_option_bars("SPY", start="2024-07-03", end="2024-07-03")
    assert set(day["expiry"].dt.strftime("%Y-%m-%d")) == {"2024-07-03"}
    assert day["timestamp"].max() < pd.Timestamp("2024-07-03 13:15", tz="America/New_York")


def test_option_bars_for_unknown_underlying_say_which_exist(workspace: Path) -> None:
    with pytest.raises(NotFoundError, match="available: SPY"):
        load_option_bars("QQQ")
