"""Reading bars from CSV or Parquet files and importing them into the local store.

Columns are matched by a mapping given in ``columns``, either way round
(``{"Adj Close": "close"}`` or ``{"close": "Adj Close"}``), and otherwise by common
names, case-insensitively (``Date``/``Datetime``/``time``/``t`` for the timestamp,
``Open``/``o``, ``High``/``h``, ``Low``/``l``, ``Close``/``c``,
``Volume``/``v``, ``VWAP``/``vw``).

Timestamps may be epoch numbers (seconds, milliseconds, microseconds or nanoseconds,
told apart by magnitude unless ``timestamp_unit`` is given), ISO 8601 text with an offset
(converted to UTC), or naive text / datetimes, read as local time in ``tz``
(default ``America/New_York``). Rows are put in time order; any bad value gives one
:class:`BarValidationError` naming the file, the line (CSV, counting the header as line 1)
or row (Parquet), the column and the problem.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sigma_lab.data.bars import BAR_COLUMNS, OPTIONAL_COLUMNS, validate_bars
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import BarValidationError, ConfigError

FORMATS = ("csv", "parquet")
_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date", "time", "t", "ts", "date_time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "v", "vol"),
    "vwap": ("vwap", "vw"),
}
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


class _Where:
    """How to name a position of the file in an error."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def __call__(self, position: int, column: str | None = None) -> str:
        place = f"line {position + 2}" if self.fmt == "csv" else f"row {position + 1}"
        col = f", column {column!r}" if column else ""
        return f"{self.path}, {place}{col}"


def read_bar_file(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    tz: str = "America/New_York",
    timestamp_column: str | None = None,
    format: str | None = None,
    timestamp_unit: str | None = None,
) -> pd.DataFrame:
    """Read a CSV or Parquet file of bars into a validated bar frame (see the module docstring)."""
    path = Path(path)
    fmt = _format(path, format)
    where = _Where(path, fmt)
    raw = _read_raw(path, fmt)
    if len(raw) == 0:
        raise BarValidationError(f"{path} has no rows")
    mapping = _match_columns(raw, columns, timestamp_column, path)
    stamps = _parse_timestamps(raw[mapping["timestamp"]], tz, timestamp_unit, where, mapping["timestamp"])
    frame = pd.DataFrame(index=stamps)
    for target in (*BAR_COLUMNS, *OPTIONAL_COLUMNS):
        if target in mapping:
            frame[target] = _numbers(
                raw[mapping[target]], where, mapping[target], allow_missing=target == "vwap"
            )
    order = np.argsort(stamps.asi8, kind="stable")
    frame = frame.iloc[order]
    try:
        return validate_bars(frame)
    except BarValidationError as exc:
        if exc.row is None:
            raise BarValidationError(f"{path}: {exc.problem}") from None
        position = int(order[int(np.flatnonzero(frame.index == exc.row)[-1])])
        raise BarValidationError(
            f"{exc.problem} ({where(position)}, timestamp {exc.row})", row=position
        ) from None


def import_bars(
    path: str | Path,
    symbol: str,
    timeframe: str | Timeframe,
    *,
    columns: dict[str, str] | None = None,
    tz: str = "America/New_York",
    timestamp_column: str | None = None,
    format: str | None = None,
    timestamp_unit: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Read bars from ``path`` and merge them into the local store under ``source``
    (default: the file format, so ``load(symbol, source="csv")`` finds them). Returns the bars read."""
    from sigma_lab.data.store import BarStore

    fmt = _format(Path(path), format)
    bars = read_bar_file(
        path,
        columns=columns,
        tz=tz,
        timestamp_column=timestamp_column,
        format=fmt,
        timestamp_unit=timestamp_unit,
    )
    BarStore().write(source or fmt, symbol.strip().upper(), parse_timeframe(timeframe), bars)
    return bars


def _format(path: Path, format: str | None) -> str:
    fmt = (format or path.suffix.lstrip(".")).lower()
    fmt = {"pq": "parquet", "txt": "csv"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ConfigError(f"cannot tell the format of {path}; pass format='csv' or format='parquet'")
    return fmt


def _read_raw(path: Path, fmt: str) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    try:
        if fmt == "csv":
            return pd.read_csv(path, skipinitialspace=True)
        return pd.read_parquet(path)
    except (ValueError, OSError, pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BarValidationError(f"cannot read {path} as {fmt}: {exc}") from None


def _match_columns(
    raw: pd.DataFrame, columns: dict[str, str] | None, timestamp_column: str | None, path: Path
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for key, value in (columns or {}).items():
        if key in raw.columns and value in _ALIASES:
            mapping[value] = key
        elif value in raw.columns and key in _ALIASES:
            mapping[key] = value
        else:
            raise ConfigError(
                f"{path}: cannot map {key!r} -> {value!r}: one side must be a column of the file "
                f"{list(raw.columns)} and the other one of {list(_ALIASES)}"
            )
    if timestamp_column is not None:
        if timestamp_column not in raw.columns:
            raise ConfigError(
                f"{path}: timestamp column {timestamp_column!r} is not in the file; it has "
                f"{list(raw.columns)}"
            )
        mapping["timestamp"] = timestamp_column
    lower = {str(c).strip().lower(): c for c in raw.columns}
    for target, aliases in _ALIASES.items():
        if target not in mapping:
            found = next((lower[a] for a in aliases if a in lower), None)
            if found is not None:
                mapping[target] = found
    missing = [c for c in ("timestamp", *BAR_COLUMNS) if c not in mapping]
    if missing:
        raise BarValidationError(
            f"{path}: no column for {missing}; the file has {list(raw.columns)} "
            "(map them with columns={'file column': 'open', ...})"
        )
    return mapping


def _parse_timestamps(
    values: pd.Series, tz: str, unit: str | None, where: _Where, column: str
) -> pd.DatetimeIndex:
    missing = values.isna().to_numpy()
    if missing.any():
        raise BarValidationError(f"missing timestamp ({where(int(np.flatnonzero(missing)[0]), column)})")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.DatetimeIndex(values).tz_convert("UTC").rename("timestamp")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return _localize(pd.DatetimeIndex(values), tz, where, column)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return _epoch(values.to_numpy(dtype="float64"), unit, where, column)
    text = values.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET).to_numpy()
    if has_offset.any() and not has_offset.all():
        row = int(np.flatnonzero(has_offset != has_offset[0])[0])
        raise BarValidationError(f"timestamps mix UTC offsets and naive times ({where(row, column)})")
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=bool(has_offset[0]))
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BarValidationError(f"cannot parse {text.iloc[row]!r} as a timestamp ({where(row, column)})")
    index = pd.DatetimeIndex(parsed)
    return index.rename("timestamp") if has_offset[0] else _localize(index, tz, where, column)


def _localize(index: pd.DatetimeIndex, tz: str, where: _Where, column: str) -> pd.DatetimeIndex:
    local = index.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = local.isna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BarValidationError(
            f"{index[row]} does not exist or is ambiguous in {tz} (a DST change); "
            f"use UTC or offset timestamps ({where(row, column)})"
        )
    return local.tz_convert("UTC").rename("timestamp")


def _epoch(numbers: np.ndarray, unit: str | None, where: _Where, column: str) -> pd.DatetimeIndex:
    if not np.isfinite(numbers).all():
        raise BarValidationError(
            f"invalid epoch timestamp ({where(int(np.flatnonzero(~np.isfinite(numbers))[0]), column)})"
        )
    if unit is None:
        biggest = float(np.abs(numbers).max())
        unit = "ns" if biggest > 1e17 else "us" if biggest > 1e14 else "ms" if biggest > 1e11 else "s"
    if unit not in ("s", "ms", "us", "ns"):
        raise ConfigError(f"timestamp_unit must be one of s, ms, us, ns, got {unit!r}")
    return pd.DatetimeIndex(pd.to_datetime(numbers.astype("int64"), unit=unit, utc=True), name="timestamp")


def _numbers(values: pd.Series, where: _Where, column: str, *, allow_missing: bool) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(numbers) & (~values.isna().to_numpy() | (not allow_missing))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        shown = values.iloc[row]
        what = "missing value" if pd.isna(shown) else f"not a number: {shown!r}"
        raise BarValidationError(f"{what} ({where(row, column)})")
    return numbers
