"""``load`` as the one way in: remote sources go through the local store, finished history only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sigma_lab.data import data_info, load, register_source
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.sources.synthetic import SyntheticSource
from sigma_lab.data.timeframes import Timeframe
from sigma_lab.errors import ConfigError

CALLS: list[tuple[pd.Timestamp | None, pd.Timestamp | None]] = []


class RecordingRemote(BarSource):
    """A remote source serving synthetic daily bars and recording the ranges asked for."""

    name = "recording"
    remote = True

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        CALLS.append((start, end))
        end = pd.Timestamp.now(tz="UTC") if end is None else end
        return SyntheticSource(seed=1).fetch(symbol, timeframe, start, end)


@pytest.fixture
def remote(workspace: Path) -> str:
    register_source("recording", f"{__name__}:RecordingRemote", "test remote")
    CALLS.clear()
    return "recording"


def test_remote_bars_are_stored_and_only_missing_ranges_fetched(remote: str) -> None:
    first = load("R", "1d", "2022-01-03", "2022-03-31", source=remote)
    assert len(CALLS) == 1
    assert data_info("R")["rows"].tolist() == [len(first)]
    inner = load("R", "1d", "2022-02-01", "2022-02-28", source=remote)
    assert len(CALLS) == 2 and CALLS[-1][0] > pd.Timestamp("2022-02-25", tz="UTC")
    pd.testing.assert_frame_equal(inner, first.loc["2022-02-01":"2022-02-28"], check_freq=False)
    wider = load("R", "1d", "2021-12-01", "2022-04-29", source=remote)
    assert CALLS[-2] == (pd.Timestamp("2021-12-01", tz="UTC"), first.index[0] - pd.Timedelta(1, "ns"))
    assert CALLS[-1][0] == first.index[-1] + pd.Timedelta(1, "ns")
    assert wider.index[0] == pd.Timestamp("2021-12-01", tz="UTC") and wider.index.is_unique
    assert data_info("R")["rows"].tolist() == [len(wider)]


def test_refresh_refetches_the_whole_range(remote: str) -> None:
    load("R", "1d", "2022-01-03", "2022-01-31", source=remote)
    load("R", "1d", "2022-01-03", "2022-01-31", source=remote, refresh=True)
    assert CALLS[-1] == (
        pd.Timestamp("2022-01-03", tz="UTC"),
        pd.Timestamp("2022-01-31 23:59:59.999999999", tz="UTC"),
    )


def test_todays_unfinished_session_is_returned_but_not_stored(remote: str) -> None:
    now_ny = pd.Timestamp.now(tz="America/New_York")
    today = pd.Timestamp(now_ny.date(), tz="UTC")
    bars = load("T", "1d", today - pd.Timedelta(days=10), source=remote)
    stored_last = data_info("T")["last"].iloc[0]
    if now_ny.day_of_week < 5 and now_ny.hour < 16:
        assert bars.index[-1] == today and stored_last < today
    else:
        assert stored_last <= today


def test_start_after_end_is_refused(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="after end"):
        load("AAPL", "1d", "2010-02-01", "2010-01-01")


def test_unparseable_dates_are_refused(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="'someday' is not a date"):
        load("AAPL", "1d", "someday")
