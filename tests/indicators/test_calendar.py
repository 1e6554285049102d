"""Calendar indicators: NYSE trading days, period ends, expiries, holiday eves, New York hours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.errors import ConfigError
from sigma_lab.indicators import compute
from sigma_lab.indicators.calendar import is_trading_day, session_dates

# NYSE full-day closures of 2023, written out by hand from the exchange's published calendar.
NYSE_2023 = [
    "2023-01-02",
    "2023-01-16",
    "2023-02-20",
    "2023-04-07",
    "2023-05-29",
    "2023-06-19",
    "2023-07-04",
    "2023-09-04",
    "2023-11-23",
    "2023-12-25",
]


def _hourly_on(days: list[str], hour_utc: int = 15) -> pd.DataFrame:
    """A 1-hour bar at ``hour_utc`` on each day and one an hour later (fixing the bar length)."""
    stamps = []
    for d in days:
        t = pd.Timestamp(d, tz="UTC") + pd.Timedelta(hours=hour_utc)
        stamps += [t, t + pd.Timedelta(hours=1)]
    idx = pd.DatetimeIndex(sorted(set(stamps)), name="timestamp")
    ones = np.ones(len(idx))
    return pd.DataFrame({"open": ones, "high": ones, "low": ones, "close": ones, "volume": ones}, index=idx)


def _daily(start: str, end: str) -> pd.DataFrame:
    idx = pd.date_range(start, end, freq="D", tz="UTC", name="timestamp")
    ones = np.ones(len(idx))
    return pd.DataFrame({"open": ones, "high": ones, "low": ones, "close": ones, "volume": ones}, index=idx)


def _flag_on(bars: pd.DataFrame, name: str, day: str) -> float:
    values = compute(bars, name).iloc[:, 0]
    return float(values[values.index.normalize() == pd.Timestamp(day, tz="UTC")].iloc[0])


def test_trading_days_of_2023_are_weekdays_minus_the_nyse_holidays() -> None:
    days = pd.date_range("2023-01-01", "2023-12-31", freq="D")
    expected = (days.day_of_week < 5) & ~days.isin(pd.DatetimeIndex(NYSE_2023))
    got = is_trading_day(days.to_numpy().astype("datetime64[D]"))
    assert (got == expected).all()


def test_juneteenth_is_a_holiday_only_from_2022() -> None:
    dates = np.array(["2021-06-18", "2022-06-20", "2023-06-19"], dtype="datetime64[D]")
    assert is_trading_day(dates).tolist() == [True, False, False]


def test_calendar_flags_match_a_pandas_reference_over_2023() -> None:
    bars = _daily("2023-01-01", "2023-12-31")
    days = bars.index.tz_localize(None)
    trading = pd.Series(days[(days.day_of_week < 5) & ~days.isin(pd.DatetimeIndex(NYSE_2023))])
    month_last = set(trading.groupby(trading.dt.to_period("M")).max())
    quarter_last = set(trading.groupby(trading.dt.to_period("Q")).max())
    third_fridays = [
        pd.Timestamp(2023, m, 1) + pd.offsets.WeekOfMonth(week=2, weekday=4) for m in range(1, 13)
    ]
    expiry = {f if f in set(trading) else trading[trading < f].max() for f in third_fridays}
    following = pd.concat([trading, pd.Series([pd.Timestamp("2024-01-02")])])  # 2024-01-01 is a holiday
    next_trading = [following[following > d].min() for d in days]
    eve = [
        pd.bdate_range(d + pd.Timedelta(days=1), nt, inclusive="left").size > 0
        for d, nt in zip(days, next_trading, strict=True)
    ]

    assert (compute(bars, "month_end").iloc[:, 0].to_numpy() == days.isin(list(month_last))).all()
    assert (compute(bars, "quarter_end").iloc[:, 0].to_numpy() == days.isin(list(quarter_last))).all()
    assert (compute(bars, "opex_day").iloc[:, 0].to_numpy() == days.isin(list(expiry))).all()
    assert (compute(bars, "holiday_eve").iloc[:, 0].to_numpy() == np.array(eve)).all()
    assert (compute(bars, "day_of_week").iloc[:, 0].to_numpy() == days.day_of_week).all()


@pytest.mark.parametrize(
    ("name", "day", "expected"),
    [
        ("holiday_eve", "2023-04-06", 1.0),  # Good Friday 2023-04-07: the exchange is closed
        ("month_end", "2023-04-07", 0.0),
        ("opex_day", "2023-04-07", 0.0),
        ("quarter_end", "2023-06-30", 1.0),
        ("month_end", "2023-06-30", 1.0),
        ("quarter_end", "2023-06-29", 0.0),
        ("month_end", "2023-05-31", 1.0),
        ("quarter_end", "2023-05-31", 0.0),
        ("quarter_end", "2024-03-28", 1.0),  # 2024-03-29 was Good Friday
        ("holiday_eve", "2024-07-03", 1.0),
        ("holiday_eve", "2024-07-05", 0.0),  # an ordinary weekend follows
        ("holiday_eve", "2024-01-12", 1.0),  # Martin Luther King Jr. Day on Monday
        ("opex_day", "2023-06-16", 1.0),
        ("opex_day", "2023-06-15", 0.0),
        ("opex_day", "2022-04-14", 1.0),  # third Friday 2022-04-15 was Good Friday
        ("opex_day", "2025-04-17", 1.0),  # third Friday 2025-04-18 was Good Friday
    ],
)
def test_calendar_flags_on_known_dates(name: str, day: str, expected: float) -> None:
    bars = _hourly_on([day])
    assert _flag_on(bars, name, day) == expected


def test_hour_of_day_is_new_york_time_across_the_dst_switch() -> None:
    idx = pd.DatetimeIndex(
        ["2023-03-10 14:30", "2023-03-10 15:30", "2023-03-13 13:30", "2023-03-13 14:30"], tz="UTC"
    )
    ones = np.ones(len(idx))
    bars = pd.DataFrame({"open": ones, "high": ones, "low": ones, "close": ones, "volume": ones}, index=idx)
    assert compute(bars, "hour_of_day").iloc[:, 0].tolist() == [9.0, 10.0, 9.0, 10.0]


def test_intraday_session_is_the_new_york_date_not_the_utc_date() -> None:
    # 02:00 UTC on Tuesday 2023-01-03 is 21:00 on Monday 2023-01-02 in New York.
    idx = pd.DatetimeIndex(["2023-01-03 02:00", "2023-01-03 03:00"], tz="UTC")
    assert session_dates(idx).astype(str).tolist() == ["2023-01-02", "2023-01-02"]
    ones = np.ones(2)
    bars = pd.DataFrame({"open": ones, "high": ones, "low": ones, "close": ones, "volume": ones}, index=idx)
    assert compute(bars, "day_of_week").iloc[:, 0].tolist() == [0.0, 0.0]


def test_daily_bars_use_their_utc_date_and_have_no_hour() -> None:
    bars = _daily("2023-06-29", "2023-07-03")
    assert compute(bars, "quarter_end").iloc[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert compute(bars, "hour_of_day").iloc[:, 0].isna().all()


def test_calendar_indicators_on_the_spy_hourly_sample_flag_whole_sessions() -> None:
    bars = pd.read_parquet("sigma_lab/data/sample/spy_1h.parquet").set_index("timestamp")
    flags = compute(bars, "holiday_eve").iloc[:, 0]
    ny_dates = bars.index.tz_convert("America/New_York").date
    on = flags[ny_dates == pd.Timestamp("2024-07-03").date()]
    assert len(on) > 0 and (on == 1.0).all()
    assert (flags[ny_dates == pd.Timestamp("2024-07-05").date()] == 0.0).all()


def test_calendar_indicators_reject_a_naive_index() -> None:
    idx = pd.DatetimeIndex(["2023-01-03 15:00", "2023-01-03 16:00"])
    ones = np.ones(2)
    bars = pd.DataFrame({"open": ones, "high": ones, "low": ones, "close": ones, "volume": ones}, index=idx)
    with pytest.raises(ConfigError, match="tz-aware"):
        compute(bars, "month_end")
