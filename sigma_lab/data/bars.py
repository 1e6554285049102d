"""The bar frame: the one shape of market data every source returns and every consumer accepts.

A bar frame is a pandas DataFrame with a tz-aware UTC ``DatetimeIndex`` (sorted, unique,
named ``timestamp``) and float columns ``open high low close volume`` (``vwap`` optional).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sigma_lab.errors import BarValidationError

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("vwap",)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")


def _first(mask: np.ndarray, index: pd.Index) -> object:
    return index[int(np.flatnonzero(mask)[0])]


def validate_bars(bars: pd.DataFrame, *, allow_empty: bool = False) -> pd.DataFrame:
    """Check ``bars`` against the bar-frame contract and return it in canonical form.

    Canonical form: exactly the contract columns, in order, as float64, index named
    ``timestamp``. Raises :class:`BarValidationError` naming the first offending row.
    """
    if not isinstance(bars, pd.DataFrame):
        raise BarValidationError(f"expected a pandas DataFrame, got {type(bars).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise BarValidationError(f"missing columns {missing}; a bar frame needs {list(BAR_COLUMNS)}")
    if len(bars) == 0 and not allow_empty:
        raise BarValidationError("no bars (the frame is empty)")
    idx = bars.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise BarValidationError(f"the index must be a DatetimeIndex, got {type(idx).__name__}")
    if idx.tz is None:
        raise BarValidationError("timestamps are naive; bars need tz-aware UTC timestamps")
    if str(idx.tz) != "UTC":
        idx = idx.tz_convert("UTC")
    if idx.hasnans:
        raise BarValidationError("missing timestamp (NaT)", row=int(np.flatnonzero(idx.isna())[0]))
    cols = list(BAR_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in bars.columns]
    out = pd.DataFrame(index=idx.rename("timestamp"))
    for c in cols:
        try:
            out[c] = pd.to_numeric(bars[c], errors="raise").to_numpy(dtype="float64")
        except (TypeError, ValueError) as exc:
            raise BarValidationError(f"column {c!r} is not numeric ({exc})") from None
    if len(out) == 0:
        return out
    ts = idx.asi8
    steps = np.diff(ts)
    if (steps == 0).any():
        raise BarValidationError("duplicate timestamp", row=idx[int(np.flatnonzero(steps == 0)[0]) + 1])
    if (steps < 0).any():
        raise BarValidationError(
            "timestamps are not sorted ascending", row=idx[int(np.flatnonzero(steps < 0)[0]) + 1]
        )
    values = out[list(BAR_COLUMNS)].to_numpy()
    nan_rows = np.isnan(values).any(axis=1)
    if nan_rows.any():
        i = int(np.flatnonzero(nan_rows)[0])
        bad = [c for c in BAR_COLUMNS if np.isnan(out[c].iloc[i])]
        raise BarValidationError(f"NaN in {bad}", row=idx[i])
    if np.isinf(values).any():
        raise BarValidationError("infinite value", row=_first(np.isinf(values).any(axis=1), idx))
    o, h, lo, c, v = (out[k].to_numpy() for k in BAR_COLUMNS)
    nonpos = (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)
    if nonpos.any():
        raise BarValidationError("non-positive price", row=_first(nonpos, idx))
    if (h < lo).any():
        raise BarValidationError("high < low", row=_first(h < lo, idx))
    for name, col in (("open", o), ("close", c)):
        outside = (col < lo) | (col > h)
        if outside.any():
            raise BarValidationError(f"{name} outside [low, high]", row=_first(outside, idx))
    if (v < 0).any():
        raise BarValidationError("negative volume", row=_first(v < 0, idx))
    if "vwap" in out.columns:
        vw = out["vwap"].to_numpy()
        bad = ~np.isnan(vw) & (vw <= 0)
        if bad.any():
            raise BarValidationError("non-positive vwap", row=_first(bad, idx))
    return out


def empty_bars() -> pd.DataFrame:
    """A valid bar frame with no rows."""
    idx = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}, index=idx)
