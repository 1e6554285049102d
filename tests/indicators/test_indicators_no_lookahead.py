"""No registered indicator looks ahead: bars after t never change any value at or before t."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigma_lab.data.bars import BAR_COLUMNS
from sigma_lab.indicators import compute, get, registry

N_BARS = 400


def _with_inputs(bars: pd.DataFrame, name: str, seed: int) -> pd.DataFrame:
    """The bars plus random non-negative values for any extra input the indicator declares."""
    rng = np.random.default_rng(seed)
    extra = {c: rng.exponential(100.0, len(bars)) for c in get(name).inputs if c not in bars.columns}
    return bars.assign(**extra) if extra else bars


def _replace_after(bars: pd.DataFrame, other: pd.DataFrame, t: int) -> pd.DataFrame:
    """``bars`` up to row t, then ``other``'s values (same timestamps) from row t + 1."""
    changed = bars.copy()
    for column in changed.columns:
        values = changed[column].to_numpy(copy=True)
        values[t + 1 :] = other[column].to_numpy()[t + 1 :]
        changed[column] = values
    return changed


@pytest.mark.parametrize("name", sorted(registry()))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(0, N_BARS - 2))
def test_changing_bars_after_t_never_changes_values_up_to_t(
    name: str, seed: int, t: int, make_bars: Callable[..., pd.DataFrame]
) -> None:
    bars = _with_inputs(make_bars(N_BARS, seed), name, seed)
    other = _with_inputs(make_bars(N_BARS, seed + 1), name, seed + 1)
    changed = _replace_after(bars, other[list(BAR_COLUMNS) + [c for c in other if c not in BAR_COLUMNS]], t)
    full = compute(bars, name).iloc[: t + 1]
    for variant in (compute(changed, name).iloc[: t + 1], compute(bars.iloc[: t + 1], name)):
        pd.testing.assert_frame_equal(variant, full, check_exact=True)
