"""Importing CSV and Parquet files: column mapping, timestamp forms, time zones and clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sigma_lab.data import data_info, import_bars, load, read_bar_file
from sigma_lab.errors import BarValidationError, ConfigError, NotFoundError

ROWS = [
    ("2024-03-08 09:30", 10.0, 10.5, 9.8, 10.2, 100),
    ("2024-03-08 09:31", 10.2, 10.4, 10.1, 10.3, 200),
    ("2024-03-11 09:30", 10.3, 10.9, 10.2, 10.8, 300),
]


def write_csv(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_naive_times_are_new_york_local_and_dst_correct(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bars.csv", "Date,Open,High,Low,Close,Volume", [",".join(map(str, r)) for r in ROWS]
    )
    bars = read_bar_file(path)
    assert list(bars.index.strftime("%Y-%m-%d %H:%M")) == [
        "2024-03-08 14:30",
        "2024-03-08 14:31",
        "2024-03-11 13:30",
    ]
    assert bars["volume"].tolist() == [100.0, 200.0, 300.0]


def test_column_mapping_and_other_time_zone(tmp_path: Path) -> None:
    lines = [",".join(map(str, r)) for r in ROWS]
    path = write_csv(tmp_path / "odd.csv", "when,first,top,bottom,last,qty", lines)
    mapping = {"first": "open", "top": "high", "bottom": "low", "last": "close", "qty": "volume"}
    bars = read_bar_file(path, columns=mapping, timestamp_column="when", tz="Europe/London")
    assert bars.index[0] == pd.Timestamp("2024-03-08 09:30", tz="UTC")
    assert bars["high"].tolist() == [10.5, 10.4, 10.9]


def test_mapping_may_name_the_contract_column_first(tmp_path: Path) -> None:
    lines = [",".join(map(str, r)) for r in ROWS]
    path = write_csv(tmp_path / "last.csv", "Date,Open,High,Low,Last,Volume", lines)
    bars = read_bar_file(path, columns={"close": "Last"})
    assert bars["close"].tolist() == [10.2, 10.3, 10.8]
    with pytest.raises(ConfigError, match="cannot map 'Nope'"):
        read_bar_file(path, columns={"Nope": "close"})


@pytest.mark.parametrize(
    ("stamps", "unit"),
    [
        (["1709908200000", "1709908260000", "1710163800000"], None),
        (["1709908200", "1709908260", "1710163800"], None),
        (["1709908200", "1709908260", "1710163800"], "s"),
        (["2024-03-08T14:30:00Z", "2024-03-08T09:31:00-05:00", "2024-03-11T09:30:00-04:00"], None),
    ],
    ids=["epoch-ms", "epoch-s", "epoch-s-explicit", "iso-offsets"],
)
def test_epoch_and_offset_timestamps_become_utc(tmp_path: Path, stamps: list[str], unit: str | None) -> None:
    lines = [",".join([s, *map(str, r[1:])]) for s, r in zip(stamps, ROWS, strict=True)]
    path = write_csv(tmp_path / "epoch.csv", "t,o,h,l,c,v", lines)
    bars = read_bar_file(path, timestamp_unit=unit)
    assert list(bars.index.strftime("%Y-%m-%d %H:%M")) == [
        "2024-03-08 14:30",
        "2024-03-08 14:31",
        "2024-03-11 13:30",
    ]


def test_unsorted_rows_are_put_in_time_order(tmp_path: Path) -> None:
    lines = [",".join(map(str, r)) for r in reversed(ROWS)]
    bars = read_bar_file(write_csv(tmp_path / "rev.csv", "date,open,high,low,close,volume", lines))
    assert bars.index.is_monotonic_increasing and bars["volume"].tolist() == [100.0, 200.0, 300.0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "2024-03-08 09:32,10.3,abc,10.1,10.2,5",
            r"not a number: 'abc' \(.*bad.csv, line 4, column 'High'\)",
        ),
        ("2024-03-08 09:32,10.3,10.0,10.1,10.2,5", r"high < low \(.*bad.csv, line 4, timestamp"),
        (
            "yesterday,10.3,10.4,10.1,10.2,5",
            r"cannot parse 'yesterday' as a timestamp \(.*bad.csv, line 4, column 'Date'\)",
        ),
        ("2024-03-08 09:31,10.3,10.4,10.1,10.2,5", r"duplicate timestamp \(.*bad.csv, line 4, timestamp"),
        (
            "2024-03-10 02:30,10.3,10.4,10.1,10.2,5",
            r"does not exist or is ambiguous in America/New_York .*line 4",
        ),
        ("2024-03-08 09:32,10.3,10.4,10.1,10.2,", r"missing value \(.*bad.csv, line 4, column 'Volume'\)"),
    ],
    ids=["non-numeric", "high-below-low", "bad-timestamp", "duplicate", "dst-gap", "missing-volume"],
)
def test_bad_rows_give_one_error_naming_file_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    lines = [",".join(map(str, r)) for r in ROWS[:2]] + [row]
    path = write_csv(tmp_path / "bad.csv", "Date,Open,High,Low,Close,Volume", lines)
    with pytest.raises(BarValidationError, match=message):
        read_bar_file(path)


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "short.csv", "Date,Open,Close", ["2024-03-08 09:30,1,1"])
    with pytest.raises(BarValidationError, match=r"short.csv: no column for \['high', 'low', 'volume'\]"):
        read_bar_file(path)


def test_unknown_format_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format"):
        read_bar_file(tmp_path / "bars.xlsx")
    with pytest.raises(ConfigError, match="no such file"):
        read_bar_file(tmp_path / "none.csv")


def test_import_stores_bars_that_load_and_info_then_see(workspace: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bars.csv", "Date,Open,High,Low,Close,Volume", [",".join(map(str, r)) for r in ROWS]
    )
    imported = import_bars(path, "demo", "1m")
    assert data_info("DEMO")[["source", "timeframe", "rows"]].values.tolist() == [["csv", "1m", 3]]
    pd.testing.assert_frame_equal(load("demo", "1m", source="csv"), imported, check_freq=False)
    daily = load("DEMO", "1d", source="csv")
    assert daily["volume"].tolist() == [300.0, 300.0]


def test_parquet_files_import_too(workspace: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS, columns=["timestamp", "open", "high", "low", "close", "volume"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"]).dt.tz_localize("America/New_York")
    frame.to_parquet(tmp_path / "bars.parquet")
    bars = import_bars(tmp_path / "bars.parquet", "PQ", "1m")
    assert bars.index[0] == pd.Timestamp("2024-03-08 14:30", tz="UTC")
    pd.testing.assert_frame_equal(load("PQ", "1m", source="parquet", path=tmp_path / "bars.parquet"), bars)


def test_loading_a_symbol_never_imported_says_how_to_import(workspace: Path) -> None:
    with pytest.raises(NotFoundError, match="import them first"):
        load("NEVER", "1m", source="csv")
