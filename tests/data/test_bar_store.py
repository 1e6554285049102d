"""The Parquet store: partitions, range reads, merges, the current-session policy and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data import data_info
from sigma_lab.data.sources.synthetic import SyntheticSource
from sigma_lab.data.store import BarStore
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import StoreError


def synthetic(timeframe: str, n: int, seed: int = 0, start: str = "2019-12-20") -> pd.DataFrame:
    return SyntheticSource(seed=seed, n_bars=n).fetch(
        "X", parse_timeframe(timeframe), pd.Timestamp(start, tz="UTC")
    )


def test_bars_are_partitioned_by_source_symbol_timeframe_and_year(workspace: Path) -> None:
    store = BarStore()
    bars = synthetic("1d", 40)
    assert store.write("demo", "O:SPY240701C00537000", "1d", bars) == 40
    folder = workspace / "data" / "demo" / "O%3ASPY240701C00537000" / "1d"
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["2019.parquet", "2020.parquet"]
    pd.testing.assert_frame_equal(store.read("demo", "O:SPY240701C00537000", "1d"), bars, check_freq=False)


def test_range_reads_are_inclusive(workspace: Path) -> None:
    store = BarStore()
    bars = synthetic("1h", 500)
    store.write("demo", "X", "1h", bars)
    start, end = bars.index[100], bars.index[200]
    pd.testing.assert_frame_equal(
        store.read("demo", "X", "1h", start, end), bars.iloc[100:201], check_freq=False
    )
    assert len(store.read("demo", "X", "1h", end=pd.Timestamp("2000-01-01", tz="UTC"))) == 0
    assert len(store.read("demo", "NOPE", "1h")) == 0


def test_merge_adds_new_bars_without_duplicates_and_new_values_win(workspace: Path) -> None:
    store = BarStore()
    bars = synthetic("1d", 30)
    store.write("demo", "X", "1d", bars.iloc[:20])
    update = bars.iloc[15:].copy()
    update.loc[update.index[0], ["open", "high", "low", "close"]] = [50.0, 51.0, 49.0, 50.5]
    store.write("demo", "X", "1d", update)
    stored = store.read("demo", "X", "1d")
    assert len(stored) == 30 and stored.index.is_unique and stored.index.is_monotonic_increasing
    assert stored.loc[bars.index[15], "close"] == 50.5
    pd.testing.assert_frame_equal(stored.iloc[16:], bars.iloc[16:], check_freq=False)


def test_bars_of_the_unfinished_session_are_never_stored(workspace: Path) -> None:
    store = BarStore()
    days = pd.date_range("2024-07-08", "2024-07-10", freq="D", tz="UTC")
    daily = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=days)
    before_close = pd.Timestamp("2024-07-10 15:59", tz="America/New_York")
    assert store.write("demo", "D", "1d", daily, now=before_close) == 2
    assert store.read("demo", "D", "1d").index[-1] == days[1]
    after_close = pd.Timestamp("2024-07-10 16:00", tz="America/New_York")
    assert store.write("demo", "D", "1d", daily, now=after_close) == 3

    minutes = pd.date_range("2024-07-10 14:00", periods=6, freq="1min", tz="America/New_York").tz_convert(
        "UTC"
    )
    intraday = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=minutes
    )
    assert (
        store.write("demo", "M", "1m", intraday, now=pd.Timestamp("2024-07-10 14:03", tz="America/New_York"))
        == 0
    )
    history_now = pd.Timestamp("2024-07-11 10:00", tz="America/New_York")
    assert store.write("demo", "M", "1m", intraday, now=history_now) == 6


def test_store_info_reports_what_is_held(workspace: Path) -> None:
    store = BarStore()
    bars = synthetic("1d", 40)
    store.write("demo", "AAA", "1d", bars)
    store.write("demo", "BBB", "1h", synthetic("1h", 10))
    info = data_info()
    assert list(info.columns) == ["symbol", "timeframe", "source", "first", "last", "rows"]
    row = info[info["symbol"] == "AAA"].iloc[0]
    assert (row["timeframe"], row["source"], row["rows"]) == ("1d", "demo", 40)
    assert row["first"] == bars.index[0] and row["last"] == bars.index[-1]
    assert list(data_info("BBB")["symbol"]) == ["BBB"]


def test_bad_source_names_are_refused(workspace: Path) -> None:
    with pytest.raises(StoreError, match="invalid source name"):
        BarStore().partition_dir("../etc", "X", "1d")


CHILD = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    import pyarrow.parquet as pq
    from sigma_lab.data import store
    from sigma_lab.data.sources.synthetic import SyntheticSource
    from sigma_lab.data.timeframes import parse_timeframe

    store.ROW_GROUP_SIZE = 1000
    original = pq.ParquetWriter.write_table
    written = []

    def slow_write(self, table, *args, **kwargs):
        original(self, table, *args, **kwargs)
        written.append(len(table))
        if len(written) == 20:
            print("halfway", flush=True)
            time.sleep(600)

    pq.ParquetWriter.write_table = slow_write
    bars = SyntheticSource(seed=9, n_bars=90_000).fetch(
        "X", parse_timeframe("1m"), pd.Timestamp("2021-01-04", tz="UTC"))
    store.BarStore().write("crash", "X", "1m", bars)
    print("finished", flush=True)
    """
)


def test_a_write_killed_half_way_leaves_the_old_data_intact(workspace: Path) -> None:
    store = BarStore()
    old = SyntheticSource(seed=1, n_bars=5000).fetch(
        "X", parse_timeframe("1m"), pd.Timestamp("2021-01-04", tz="UTC")
    )
    store.write("crash", "X", "1m", old)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "halfway"
        folder = store.partition_dir("crash", "X", "1m")
        partial = list(folder.glob(".*.tmp"))
        assert len(partial) == 1 and partial[0].stat().st_size > 0
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(store.read("crash", "X", "1m"), old, check_freq=False)
    assert data_info("X")["rows"].tolist() == [5000]

    newer = old.iloc[-10:].copy()
    newer["volume"] = newer["volume"] + 1.0
    store.write("crash", "X", "1m", newer)
    assert list(folder.glob(".*.tmp")) == []
    stored = store.read("crash", "X", "1m")
    assert len(stored) == 5000
    np.testing.assert_array_equal(stored["volume"].to_numpy()[-10:], newer["volume"].to_numpy())
