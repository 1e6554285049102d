"""The bar contract: every kind of bad bars is rejected with an error naming the row and the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data.bars import BAR_COLUMNS, empty_bars, validate_bars
from sigma_lab.errors import BarValidationError


def good_bars(n: int = 5) -> pd.DataFrame:
    index = pd.date_range("2024-01-02 14:30", periods=n, freq="1min", tz="UTC", name="timestamp")
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close, "volume": 10.0},
        index=index,
    )


def with_value(column: str, row: int, value: float) -> pd.DataFrame:
    bars = good_bars()
    bars.iloc[row, bars.columns.get_loc(column)] = value
    return bars


def test_valid_bars_come_back_canonical_float64_utc() -> None:
    bars = good_bars()
    bars["volume"] = bars["volume"].astype("int64")
    bars["extra"] = "x"
    out = validate_bars(bars)
    assert list(out.columns) == list(BAR_COLUMNS)
    assert all(out[c].dtype == "float64" for c in BAR_COLUMNS)
    assert str(out.index.tz) == "UTC" and out.index.name == "timestamp"


def test_non_utc_timezone_is_converted_to_utc() -> None:
    bars = good_bars()
    bars.index = bars.index.tz_convert("America/New_York")
    out = validate_bars(bars)
    assert str(out.index.tz) == "UTC"
    assert out.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")


@pytest.mark.parametrize(
    ("bars", "problem", "row"),
    [
        (with_value("close", 2, np.nan), "NaN in ['close']", 2),
        (with_value("low", 1, 0.0), "non-positive price", 1),
        (with_value("open", 3, -1.0), "non-positive price", 3),
        (with_value("high", 4, 90.0), "high < low", 4),
        (with_value("open", 1, 150.0), "open outside [low, high]", 1),
        (with_value("close", 0, 98.0), "close outside [low, high]", 0),
        (with_value("volume", 2, -5.0), "negative volume", 2),
        (with_value("high", 1, np.inf), "infinite value", 1),
    ],
    ids=[
        "nan",
        "zero-low",
        "negative-open",
        "high-below-low",
        "open-above-high",
        "close-below-low",
        "negative-volume",
        "infinite",
    ],
)
def test_bad_values_are_rejected_naming_row_and_problem(bars: pd.DataFrame, problem: str, row: int) -> None:
    with pytest.raises(BarValidationError) as err:
        validate_bars(bars)
    assert err.value.problem == problem
    assert err.value.row == bars.index[row]
    assert str(bars.index[row]) in str(err.value)


def test_unsorted_timestamps_are_rejected_at_the_first_step_back() -> None:
    bars = good_bars()
    bars = bars.iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(BarValidationError, match="not sorted") as err:
        validate_bars(bars)
    assert err.value.row == good_bars().index[2]


def test_duplicate_timestamps_are_rejected_at_the_repeat() -> None:
    bars = good_bars()
    bars.index = bars.index[[0, 1, 1, 3, 4]]
    with pytest.raises(BarValidationError, match="duplicate timestamp") as err:
        validate_bars(bars)
    assert err.value.row == good_bars().index[1]


def test_naive_timestamps_are_rejected() -> None:
    bars = good_bars()
    bars.index = bars.index.tz_localize(None)
    with pytest.raises(BarValidationError, match="naive"):
        validate_bars(bars)


def test_non_datetime_index_is_rejected() -> None:
    with pytest.raises(BarValidationError, match="DatetimeIndex"):
        validate_bars(good_bars().reset_index(drop=True))


def test_missing_column_is_named() -> None:
    with pytest.raises(BarValidationError, match=r"missing columns \['volume'\]"):
        validate_bars(good_bars().drop(columns="volume"))


def test_non_numeric_column_is_named() -> None:
    bars = good_bars()
    bars["open"] = ["a", "b", "c", "d", "e"]
    with pytest.raises(BarValidationError, match="'open' is not numeric"):
        validate_bars(bars)


def test_empty_frame_is_rejected_unless_allowed() -> None:
    with pytest.raises(BarValidationError, match="empty"):
        validate_bars(empty_bars())
    assert len(validate_bars(empty_bars(), allow_empty=True)) == 0


def test_non_positive_vwap_is_rejected_but_missing_vwap_is_allowed() -> None:
    bars = good_bars()
    bars["vwap"] = [100.0, np.nan, 101.0, 102.0, 103.0]
    assert np.isnan(validate_bars(bars)["vwap"].iloc[1])
    bars["vwap"] = [100.0, 0.0, 101.0, 102.0, 103.0]
    with pytest.raises(BarValidationError, match="non-positive vwap") as err:
        validate_bars(bars)
    assert err.value.row == bars.index[1]
