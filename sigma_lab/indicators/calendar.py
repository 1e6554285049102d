"""Calendar indicators and the New York session helpers the intraday indicators share.

Sessions are New York trading dates (``America/New_York``, DST-aware): an intraday bar
belongs to the New York calendar date of its start. Daily (or longer) bars are stamped by
their trading date (midnight UTC in every source here), so their session is the UTC date.
A bar's length is the smallest step between timestamps up to it (:func:`bar_lengths`), so
results on a prefix of a frame equal the frame's results on that prefix.

The trading calendar is the NYSE's: weekdays minus the exchange holidays and special
closures of the ``holidays`` package (``holidays.financial_holidays("NYSE")``). The
calendar is published in advance, so flags derived from it (month end, options expiry,
holiday eve) use no market data from after the bar. Early closes (half days) are not
modelled: a half day is a normal trading day here.

Flags are 1.0 or 0.0; they refer to the bar's session date, whether or not that date is a
trading day (a bar on a non-trading date is never a month end or an expiry).
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError
from sigma_lab.indicators.registry import indicator

NEW_YORK = "America/New_York"
RTH_OPEN_MINUTE = 9 * 60 + 30
RTH_CLOSE_MINUTE = 16 * 60
_DAY = pd.Timedelta(days=1)
_MINUTE = pd.Timedelta(minutes=1)


def epoch_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch, whatever the index's time unit."""
    return index.as_unit("ns").asi8


def bar_lengths(index: pd.DatetimeIndex) -> np.ndarray:
    """Each bar's length in nanoseconds: the smallest step between timestamps up to that bar.

    Only earlier timestamps are used, so a frame's prefix gets the same lengths as the whole
    frame. The first bar, which has no step yet, counts as daily when it falls at midnight
    UTC and as a one-minute bar otherwise.
    """
    _check_index(index)
    ns = epoch_ns(index)
    out = np.empty(len(ns), dtype="int64")
    if len(ns) == 0:
        return out
    out[0] = _DAY.value if ns[0] % _DAY.value == 0 else _MINUTE.value
    out[1:] = np.minimum.accumulate(np.diff(ns))
    return out


def daily_mask(index: pd.DatetimeIndex) -> np.ndarray:
    """True for bars a day or longer (their session is the UTC date)."""
    return bar_lengths(index) >= _DAY.value


def session_dates(index: pd.DatetimeIndex) -> np.ndarray:
    """The session date (``datetime64[D]``) of each bar: New York date intraday, UTC date daily."""
    _check_index(index)
    utc = index.tz_localize(None).to_numpy().astype("datetime64[D]")
    ny = index.tz_convert(NEW_YORK).tz_localize(None).to_numpy().astype("datetime64[D]")
    return np.where(daily_mask(index), utc, ny)


def regular_session_mask(index: pd.DatetimeIndex) -> np.ndarray:
    """True for bars that overlap New York regular hours 09:30-16:00 (every daily bar).

    A bar covers ``[t, t + bar length)``, so an hourly bar stamped 09:00 New York time is the
    session's first regular bar.
    """
    _check_index(index)
    lengths = bar_lengths(index)
    ny = index.tz_convert(NEW_YORK)
    start = ny.hour.to_numpy() * 60 + ny.minute.to_numpy() + ny.second.to_numpy() / 60.0
    length = lengths / _MINUTE.value
    overlap = (start < RTH_CLOSE_MINUTE) & (start + length > RTH_OPEN_MINUTE)
    return overlap | (lengths >= _DAY.value)


def regular_open_ns(dates: np.ndarray) -> np.ndarray:
    """UTC nanoseconds of 09:30 New York time on each date (DST-aware)."""
    wall = pd.DatetimeIndex(dates.astype("datetime64[ns]")) + pd.Timedelta(minutes=RTH_OPEN_MINUTE)
    return epoch_ns(wall.tz_localize(NEW_YORK))


@lru_cache(maxsize=64)
def _holidays(first_year: int, last_year: int) -> np.ndarray:
    days = holidays.financial_holidays("NYSE", years=range(first_year, last_year + 1))
    return np.array(sorted(days), dtype="datetime64[D]")


def nyse_holidays(dates: np.ndarray) -> np.ndarray:
    """NYSE holidays and special closures (``datetime64[D]``) covering ``dates`` plus a year."""
    if len(dates) == 0:
        return np.array([], dtype="datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    return _holidays(int(years.min()) - 1, int(years.max()) + 1)


def is_trading_day(dates: np.ndarray) -> np.ndarray:
    """True for NYSE trading days: weekdays that are not exchange holidays."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    return np.is_busday(dates, holidays=nyse_holidays(dates))


def next_trading_day(dates: np.ndarray) -> np.ndarray:
    """The first NYSE trading day strictly after each date."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    return np.busday_offset(dates, 1, roll="backward", holidays=nyse_holidays(dates))


def monthly_expiry(dates: np.ndarray) -> np.ndarray:
    """Each date's monthly options expiry: the third Friday, or the trading day before it when closed."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    first = dates.astype("datetime64[M]").astype("datetime64[D]")
    third_friday = np.busday_offset(first, 2, roll="forward", weekmask="Fri")
    return np.busday_offset(third_friday, 0, roll="backward", holidays=nyse_holidays(dates))


def _check_index(index: pd.Index) -> None:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ConfigError("calendar indicators need bars with a tz-aware UTC DatetimeIndex")


def _flag(mask: np.ndarray) -> np.ndarray:
    return mask.astype("float64")


@indicator("hour_of_day", "calendar", inputs=())
def hour_of_day(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Hour of the bar's start in New York time (0-23); NaN on daily bars, which have no hour."""
    hours = bars.index.tz_convert(NEW_YORK).hour.to_numpy().astype("float64")
    return {"": np.where(daily_mask(bars.index), np.nan, hours)}


@indicator("day_of_week", "calendar", inputs=())
def day_of_week(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Day of week of the session date (Monday 0 ... Sunday 6)."""
    dates = session_dates(bars.index)
    return {"": ((dates.astype("int64") + 3) % 7).astype("float64")}


def _period_end(dates: np.ndarray, months_per_period: int) -> np.ndarray:
    nxt = next_trading_day(dates)
    month = dates.astype("datetime64[M]").astype("int64") // months_per_period
    next_month = nxt.astype("datetime64[M]").astype("int64") // months_per_period
    return is_trading_day(dates) & (month != next_month)


@indicator("month_end", "calendar", inputs=())
def month_end(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """1 on the last NYSE trading day of the month, else 0."""
    return {"": _flag(_period_end(session_dates(bars.index), 1))}


@indicator("quarter_end", "calendar", inputs=())
def quarter_end(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """1 on the last NYSE trading day of the quarter, else 0."""
    return {"": _flag(_period_end(session_dates(bars.index), 3))}


@indicator("opex_day", "calendar", inputs=())
def opex_day(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """1 on the monthly options expiry (third Friday; Thursday when that Friday is a holiday), else 0."""
    dates = session_dates(bars.index)
    return {"": _flag(dates == monthly_expiry(dates))}


@indicator("holiday_eve", "calendar", inputs=())
def holiday_eve(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """1 when an exchange holiday falls between the session date and the next trading day, else 0."""
    dates = session_dates(bars.index)
    nxt = next_trading_day(dates)
    skipped_weekdays = np.busday_count(dates + 1, nxt, weekmask="1111100")
    return {"": _flag(skipped_weekdays > 0)}
