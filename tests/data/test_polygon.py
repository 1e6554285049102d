"""The Polygon source against a fake Polygon server on loopback serving the recorded SPY data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from fakes.polygon_server import (
    FakePolygon,
    recorded_contracts,
    recorded_option_bars,
    recorded_spy_hourly,
    running_fake_polygon,
)

from sigma_lab.config import get_settings
from sigma_lab.data.bars import BAR_COLUMNS
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.sources.polygon import PolygonSource, occ_ticker, polygon_timespan
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import AuthError, ConfigError, DataSourceError, NotFoundError

KEY = "test-key-123"
PAGE = 100
CONTRACT = "O:SPY240701C00537000"


@pytest.fixture
def fake() -> Iterator[FakePolygon]:
    with running_fake_polygon(api_key=KEY, page_size=PAGE) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def source(fake: FakePolygon, sleeps: list[float]) -> Iterator[PolygonSource]:
    with PolygonSource(KEY, fake.url, max_retries=3, backoff=0.01, sleep=sleeps.append) as src:
        yield src


def recorded(columns: tuple[str, ...] = (*BAR_COLUMNS, "vwap")) -> pd.DataFrame:
    frame = recorded_spy_hourly()[list(columns)].astype("float64")
    frame.index.name = "timestamp"
    return frame


# --- timeframes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [
        ("1m", (1, "minute")),
        ("5m", (5, "minute")),
        ("1h", (1, "hour")),
        ("4h", (4, "hour")),
        ("1d", (1, "day")),
        ("1w", (1, "week")),
    ],
)
def test_timeframe_maps_to_polygon_multiplier_and_timespan(timeframe: str, expected: tuple[int, str]) -> None:
    assert polygon_timespan(timeframe) == expected
    assert polygon_timespan(parse_timeframe(timeframe)) == expected


def test_fetch_requests_the_aggregates_path_with_the_timeframe_and_millisecond_bounds(
    source: PolygonSource, fake: FakePolygon
) -> None:
    start, end = pd.Timestamp("2024-07-01", tz="UTC"), pd.Timestamp("2024-07-03", tz="UTC")
    source.fetch("spy", "4h", start, end)
    first = fake.aggregate_requests[0]
    assert first.path == f"/v2/aggs/ticker/SPY/range/4/hour/{start.value // 10**6}/{end.value // 10**6}"
    assert first.query == {"adjusted": "true", "sort": "asc", "limit": "50000"}


def test_four_hour_bars_merge_the_recorded_hours(source: PolygonSource) -> None:
    bars = source.fetch("SPY", "4h", "2024-07-01", "2024-07-01 23:59")
    hours = recorded().loc["2024-07-01 08:00":"2024-07-01 11:00"]
    first = bars.iloc[0]
    assert bars.index[0] == pd.Timestamp("2024-07-01 08:00", tz="UTC")
    assert first["open"] == hours["open"].iloc[0]
    assert first["close"] == hours["close"].iloc[-1]
    assert first["high"] == hours["high"].max()
    assert first["volume"] == hours["volume"].sum()


# --- stock aggregates and pagination ------------------------------------------------------


def test_pages_are_gathered_into_exactly_the_recorded_hourly_bars(
    source: PolygonSource, fake: FakePolygon
) -> None:
    bars = source.fetch("SPY", "1h")
    expected = recorded()
    pd.testing.assert_frame_equal(bars, expected)
    pages = -(-len(expected) // PAGE)
    assert pages > 5
    assert len(fake.aggregate_requests) == pages
    assert all(r.key_ok for r in fake.requests)
    assert all(set(r.query) == {"cursor"} for r in fake.aggregate_requests[1:])


def test_fetch_returns_only_bars_between_start_and_end_inclusive(source: PolygonSource) -> None:
    start, end = "2024-07-01 13:00", "2024-07-01 15:00"
    bars = source.fetch("SPY", "1h", start, end)
    assert list(bars.index) == list(pd.date_range(start, end, freq="1h", tz="UTC"))
    assert isinstance(bars.index, pd.DatetimeIndex)
    assert str(bars.index.tz) == "UTC"


def test_bars_the_server_sends_outside_start_end_are_dropped() -> None:
    inside = pd.Timestamp("2024-07-01 14:00", tz="UTC")
    rows = [
        {
            "t": (inside + pd.Timedelta(hours=h)).value // 10**6,
            "o": 1.0,
            "h": 2.0,
            "l": 0.5,
            "c": 1.5,
            "v": 10,
        }
        for h in (-1, 0, 1)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "OK", "resultsCount": 3, "results": rows})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        src = PolygonSource(KEY, "https://api.polygon.io", client=client)
        bars = src.fetch("SPY", "1h", inside, inside)
    assert list(bars.index) == [inside]
    assert "vwap" not in bars.columns


def test_daily_bars_are_the_recorded_hours_of_each_new_york_day(source: PolygonSource) -> None:
    bars = source.fetch("SPY", "1d")
    hours = recorded()
    days = hours.index.tz_convert("America/New_York").date
    assert len(bars) == len(set(days))
    first_day = hours.loc[days == days[0]]
    assert bars.index[0] == pd.Timestamp("2023-01-03", tz="America/New_York").tz_convert("UTC")
    assert bars["open"].iloc[0] == first_day["open"].iloc[0]
    assert bars["close"].iloc[0] == first_day["close"].iloc[-1]
    assert bars["low"].iloc[0] == first_day["low"].min()
    assert bars["volume"].iloc[0] == first_day["volume"].sum()


def test_unknown_ticker_gives_an_empty_bar_frame(source: PolygonSource) -> None:
    bars = source.fetch("NOSUCH", "1d")
    assert bars.empty
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert str(bars.index.tz) == "UTC"


def test_progress_bar_counts_pages_when_enabled(
    fake: FakePolygon, capsys: pytest.CaptureFixture[str]
) -> None:
    with PolygonSource(KEY, fake.url, progress=True) as src:
        src.fetch("SPY", "1h", "2024-01-01", "2024-07-06")
    err = capsys.readouterr().err
    assert "polygon SPY 1h" in err
    assert "page" in err


# --- retries and errors -------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay_then_succeeds(
    source: PolygonSource, fake: FakePolygon, sleeps: list[float]
) -> None:
    fake.fail_next(2, 429, retry_after="7")
    bars = source.fetch("SPY", "1h", "2024-07-01", "2024-07-02")
    assert len(bars) == 16
    assert len(fake.aggregate_requests) == 3
    assert sleeps == [7.0, 7.0]


def test_429_without_retry_after_backs_off_exponentially_with_jitter(
    source: PolygonSource, fake: FakePolygon, sleeps: list[float]
) -> None:
    fake.fail_next(3, 429)
    source.fetch("SPY", "1h", "2024-07-01", "2024-07-02")
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        full = 0.01 * 2**attempt
        assert full / 2 <= delay <= full


def test_5xx_retries_are_bounded_and_then_raise_a_data_source_error(
    source: PolygonSource, fake: FakePolygon, sleeps: list[float]
) -> None:
    fake.fail_next(10, 503)
    with pytest.raises(DataSourceError, match=r"failed after 4 attempt\(s\).*HTTP 503") as info:
        source.fetch("SPY", "1h")
    assert "/v2/aggs/ticker/SPY/range/1/hour/" in str(info.value)
    assert KEY not in str(info.value)
    assert len(fake.requests) == 4
    assert len(sleeps) == 3


def test_a_5xx_on_a_later_page_is_retried_and_the_bars_are_complete(
    source: PolygonSource, fake: FakePolygon
) -> None:
    fake.fail_next(1, 500, after=3)
    bars = source.fetch("SPY", "1h")
    pd.testing.assert_frame_equal(bars, recorded())
    requests = fake.aggregate_requests
    assert len(requests) == -(-len(bars) // PAGE) + 1
    assert requests[3].query == requests[4].query
    assert "cursor" in requests[3].query


def test_a_dropped_connection_is_retried(source: PolygonSource, fake: FakePolygon) -> None:
    fake.disconnect_next(2)
    bars = source.fetch("SPY", "1h", "2024-07-01", "2024-07-02")
    assert len(bars) == 16
    assert len(fake.requests) == 3


def test_a_wrong_api_key_raises_auth_error_without_retrying(fake: FakePolygon, sleeps: list[float]) -> None:
    with PolygonSource("wrong-key", fake.url, max_retries=5, sleep=sleeps.append) as src:
        with pytest.raises(AuthError, match="SIGMA_POLYGON_API_KEY") as info:
            src.fetch("SPY", "1d")
    assert "HTTP 401" in str(info.value)
    assert "wrong-key" not in str(info.value)
    assert len(fake.requests) == 1
    assert sleeps == []


def test_403_raises_auth_error_without_retrying(source: PolygonSource, fake: FakePolygon) -> None:
    fake.fail_next(1, 403)
    with pytest.raises(AuthError, match="HTTP 403"):
        source.fetch("SPY", "1d")
    assert len(fake.requests) == 1


def test_404_raises_not_found(source: PolygonSource, fake: FakePolygon) -> None:
    fake.fail_next(1, 404)
    with pytest.raises(NotFoundError, match="/v2/aggs/ticker/SPY/"):
        source.fetch("SPY", "1d")
    assert len(fake.requests) == 1


def test_other_4xx_raise_a_data_source_error_without_retrying(
    source: PolygonSource, fake: FakePolygon
) -> None:
    with pytest.raises(DataSourceError, match="HTTP 400.*does not serve 1/week"):
        source.fetch("SPY", "1w")
    assert len(fake.requests) == 1


def test_next_url_to_another_host_is_refused_so_the_key_never_leaves() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(
            200, json={"status": "OK", "results": [], "next_url": "https://elsewhere.test/x"}
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        src = PolygonSource(KEY, "https://api.polygon.io", client=client)
        with pytest.raises(DataSourceError, match="refusing to send the API key"):
            src.fetch("SPY", "1d")
    assert seen == ["api.polygon.io"]


# --- missing fields -----------------------------------------------------------------------


def test_vwap_missing_from_every_row_gives_bars_without_a_vwap_column(
    source: PolygonSource, fake: FakePolygon
) -> None:
    fake.drop_fields("vw")
    bars = source.fetch("SPY", "1h")
    pd.testing.assert_frame_equal(bars, recorded(BAR_COLUMNS))


def test_vwap_missing_from_some_rows_is_nan_there_only(source: PolygonSource, fake: FakePolygon) -> None:
    fake.drop_fields("vw", rows=[0, 150])
    bars = source.fetch("SPY", "1h")
    expected = recorded()
    assert np.isnan(bars["vwap"].iloc[[0, 150]]).all()
    pd.testing.assert_series_equal(bars["vwap"].iloc[1:150], expected["vwap"].iloc[1:150])
    pd.testing.assert_frame_equal(bars[list(BAR_COLUMNS)], expected[list(BAR_COLUMNS)])


def test_recorded_hours_without_vwap_come_back_as_nan(source: PolygonSource) -> None:
    bars = source.fetch("SPY", "1h")
    gaps = recorded()["vwap"].isna()
    assert gaps.any()
    assert bars["vwap"].isna().equals(gaps)


@pytest.mark.parametrize(("field", "column"), [("o", "open"), ("c", "close"), ("v", "volume")])
def test_a_row_missing_a_required_field_raises_naming_its_timestamp_and_field(
    source: PolygonSource, fake: FakePolygon, field: str, column: str
) -> None:
    fake.drop_fields(field, rows=[123])
    stamp = recorded().index[123]
    with pytest.raises(DataSourceError, match=re.escape(f"bar at {stamp} has no usable {column}")) as info:
        source.fetch("SPY", "1h")
    assert f"field {field!r} is missing" in str(info.value)


def test_a_row_missing_its_timestamp_raises_naming_the_row(source: PolygonSource, fake: FakePolygon) -> None:
    fake.drop_fields("t", rows=[5])
    with pytest.raises(DataSourceError, match=r"result row 5 has no timestamp \(field 't'\)"):
        source.fetch("SPY", "1h")


# --- options ------------------------------------------------------------------------------


def test_option_bars_of_a_recorded_contract_match_the_recording(
    source: PolygonSource, fake: FakePolygon
) -> None:
    fake.page_size = 50
    bars = source.fetch_option_bars(CONTRACT, "1m")
    expected = recorded_option_bars(CONTRACT).astype("float64")
    expected.index.name = "timestamp"
    pd.testing.assert_frame_equal(bars, expected)
    assert fake.aggregate_requests[0].path.startswith(f"/v2/aggs/ticker/{CONTRACT}/range/1/minute/")


def test_option_bars_accept_the_ticker_without_the_o_prefix(source: PolygonSource) -> None:
    with_prefix = source.fetch_option_bars(CONTRACT, "5m")
    without = source.fetch_option_bars(CONTRACT.removeprefix("O:").lower(), "5m")
    pd.testing.assert_frame_equal(without, with_prefix)
    assert len(with_prefix) < len(recorded_option_bars(CONTRACT))


def test_a_malformed_option_ticker_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OCC ticker"):
        occ_ticker("SPY 537 CALL")


def test_option_contracts_list_every_recorded_contract_across_pages(
    source: PolygonSource, fake: FakePolygon
) -> None:
    fake.page_size = 25
    contracts = source.option_contracts("SPY", as_of="2024-07-01")
    recorded_set = recorded_contracts()
    assert len(contracts) == len(recorded_set) == 120
    assert set(contracts["contract"]) == set(recorded_set["contract"])
    reference = [r for r in fake.requests if r.path == "/v3/reference/options/contracts"]
    assert len(reference) == 120 // 25 + 1
    assert list(contracts.columns[:5]) == ["contract", "underlying", "expiry", "right", "strike"]
    row = contracts.set_index("contract").loc[CONTRACT]
    assert (row["underlying"], row["expiry"], row["right"], row["strike"]) == (
        "SPY",
        pd.Timestamp("2024-07-01").date(),
        "C",
        537.0,
    )
    assert contracts[["expiry", "right", "strike"]].equals(
        contracts[["expiry", "right", "strike"]].sort_values(["expiry", "right", "strike"])
    )


def test_option_contract_filters_are_sent_and_applied(source: PolygonSource, fake: FakePolygon) -> None:
    puts = source.option_contracts(
        "SPY",
        expiration_date="2024-07-02",
        as_of="2024-07-01",
        contract_type="P",
        strike_gte=540,
        strike_lte=545,
    )
    query = fake.requests[0].query
    assert query["contract_type"] == "put"
    assert query["expiration_date"] == "2024-07-02"
    assert query["strike_price.gte"] == "540.0"
    everything = recorded_contracts()
    expected = everything[
        (everything["right"] == "P")
        & (everything["expiry"] == pd.Timestamp("2024-07-02").date())
        & everything["strike"].between(540, 545)
    ]
    assert len(puts) == len(expected) > 0
    assert set(puts["right"]) == {"P"}


def test_contracts_expired_before_as_of_are_only_listed_when_asked(source: PolygonSource) -> None:
    assert source.option_contracts("SPY", as_of="2024-07-06").empty
    expired = source.option_contracts("SPY", as_of="2024-07-06", expired=True)
    assert len(expired) == 120


# --- configuration ------------------------------------------------------------------------


def test_no_api_key_anywhere_is_a_config_error_naming_the_setting(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="SIGMA_POLYGON_API_KEY"):
        PolygonSource()


def test_key_and_base_url_default_to_the_settings(
    workspace: Path, fake: FakePolygon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMA_POLYGON_API_KEY", KEY)
    monkeypatch.setenv("SIGMA_POLYGON_BASE_URL", fake.url)
    get_settings.cache_clear()
    with PolygonSource() as src:
        assert src.base_url == fake.url
        assert len(src.fetch("SPY", "1d", "2024-07-01", "2024-07-06")) == 4
    assert KEY not in repr(src)


def test_polygon_source_is_a_remote_bar_source(source: PolygonSource) -> None:
    assert isinstance(source, BarSource)
    assert source.name == "polygon"
    assert source.remote is True


@pytest.mark.parametrize("bad", [{"max_retries": -1}, {"backoff": -1.0}, {"timeout": 0}])
def test_invalid_retry_settings_are_config_errors(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        PolygonSource(KEY, "http://127.0.0.1:9", **bad)


def test_start_after_end_is_a_config_error(source: PolygonSource) -> None:
    with pytest.raises(ConfigError, match="after end"):
        source.fetch("SPY", "1h", "2024-07-02", "2024-07-01")
