"""Portable column types: tz-aware UTC timestamps, JSON (JSONB on PostgreSQL), big integer keys.

Both types compile to what the migrations declare (``DateTime(timezone=True)`` and
``JSON().with_variant(JSONB, "postgresql")``), so the migrated schema equals the models.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

#: Integer primary key for tables that grow to millions of rows (SQLite needs INTEGER to autoincrement).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """The current time as a tz-aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` converted to UTC; naive datetimes are refused (they are ambiguous)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value!s}: the store keeps tz-aware UTC timestamps only")
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.astimezone(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back tz-aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def to_jsonable(value: Any) -> Any:
    """``value`` made JSON-safe: NumPy scalars and arrays to Python, datetimes to ISO text,
    and non-finite floats (NaN, inf) to ``None`` because JSON (and JSONB) cannot hold them."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list:
        return [to_jsonable(v) for v in value]
    return _to_jsonable_other(value)


def _to_jsonable_other(value: Any) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return (as_utc(value) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return to_jsonable(float(value))
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.datetime64):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON column: {value!r}")


class JSONValue(sa.types.TypeDecorator[Any]):
    """JSON that is JSONB on PostgreSQL and JSON elsewhere; values pass through :func:`to_jsonable`.

    Python ``None`` is stored as SQL NULL, not as the JSON literal ``null``.
    """

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB(none_as_null=True))
        return dialect.type_descriptor(sa.JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return to_jsonable(value)
