"""Changing bars after t never changes equity or positions at or before t."""

from __future__ import annotations

import numpy as np
import pytest

from sigma_lab.backtest import run

EXEC = {"stop_loss": 0.01, "take_profit": 0.02, "trailing_stop": 0.015, "time_stop": 7, "fees_bps": 3,
        "slippage_bps": 2}


def _signals(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return tuple(rng.random(n) < 0.08 for _ in range(4))


def _perturb_after(bars, t: int, seed: int):
    rng = np.random.default_rng(seed)
    out = bars.copy()
    k = len(bars) - t - 1
    scale = np.exp(rng.normal(0, 0.05, k))
    for col in ("open", "high", "low", "close"):
        out.iloc[t + 1 :, out.columns.get_loc(col)] = bars[col].to_numpy()[t + 1 :] * scale
    return out


@pytest.mark.parametrize("fill", ["next_open", "close"])
@pytest.mark.parametrize("direction", ["long", "short", "both"])
def test_future_bars_and_signals_do_not_change_the_past(random_bars, fill, direction):
    n = len(random_bars)
    le, lx, se, sx = _signals(n, 1)
    shorts = (se, sx) if direction != "long" else (None, None)
    base = run(random_bars, le, lx, *shorts, fill=fill, direction=direction, **EXEC)
    assert len(base.trades) > 5
    for t in (50, 151, 299):
        bars = _perturb_after(random_bars, t, t)
        fresh = _signals(n, t)
        le2, lx2, se2, sx2 = (
            np.concatenate((a[: t + 1], b[t + 1 :])) for a, b in zip((le, lx, se, sx), fresh, strict=True)
        )
        shorts2 = (se2, sx2) if direction != "long" else (None, None)
        other = run(bars, le2, lx2, *shorts2, fill=fill, direction=direction, **EXEC)
        np.testing.assert_array_equal(other.equity.to_numpy()[: t + 1], base.equity.to_numpy()[: t + 1])
        np.testing.assert_array_equal(other.positions.to_numpy()[: t + 1], base.positions.to_numpy()[: t + 1])
        assert not np.array_equal(other.equity.to_numpy(), base.equity.to_numpy())


def test_next_open_fill_changing_the_next_open_changes_only_from_that_bar(random_bars):
    n = len(random_bars)
    le, lx, _, _ = _signals(n, 2)
    t = int(np.flatnonzero(le)[0])
    base = run(random_bars, le, lx)
    bars = random_bars.copy()
    col = bars.columns.get_loc("open")
    bars.iloc[t + 1, col] = bars["low"].iloc[t + 1]
    other = run(bars, le, lx)
    np.testing.assert_array_equal(other.equity.to_numpy()[: t + 1], base.equity.to_numpy()[: t + 1])
    assert other.equity.iloc[t + 1] != base.equity.iloc[t + 1]
