"""Following a signal on later bars: fills, bracket order within a bar, gaps, time stops, metrics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sigma_lab.signals.tracking import follow, performance
from sigma_lab.store import Signal, session_scope


def _bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(rows), freq="D", tz="UTC")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1000.0
    return frame


# decision bar 0 closes at 100; stop 98, target 104
BARS = _bars(
    [
        (99.0, 100.5, 98.5, 100.0),
        (100.5, 101.0, 99.5, 100.8),
        (100.8, 104.5, 97.5, 101.0),  # touches both: the stop wins
        (101.0, 102.0, 100.0, 101.5),
    ]
)


def test_next_open_entry_and_stop_wins_when_one_bar_touches_both() -> None:
    out = follow(BARS, BARS.index[0], "long", 98.0, 104.0, 10, slippage_bps=10.0, planned_entry=100.0)
    entry = 100.5 * 1.001
    exit_ = 98.0 * 0.999
    assert out["outcome"] == "stop"
    assert out["entry_time"] == BARS.index[1] and out["entry_price"] == pytest.approx(entry)
    assert out["exit_time"] == BARS.index[2] and out["exit_price"] == pytest.approx(exit_)
    assert out["realized_return"] == pytest.approx(exit_ / entry - 1.0)
    assert out["r_multiple"] == pytest.approx((exit_ / entry - 1.0) / 0.02)


def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    bars = _bars([(99.0, 100.5, 98.5, 100.0), (100.2, 100.4, 99.5, 100.0), (96.0, 97.0, 95.0, 96.5)])
    out = follow(bars, bars.index[0], "long", 98.0, 104.0, 10)
    assert out["outcome"] == "stop" and out["exit_price"] == 96.0


def test_a_short_hits_its_target_and_earns_the_drop() -> None:
    bars = _bars([(101.0, 101.5, 99.5, 100.0), (99.8, 100.5, 99.0, 99.2), (99.0, 99.5, 95.5, 96.0)])
    out = follow(bars, bars.index[0], "short", 102.0, 96.0, 10)
    assert out["outcome"] == "target" and out["exit_price"] == 96.0
    assert out["realized_return"] == pytest.approx(-(96.0 / 99.8 - 1.0))


def test_time_stop_holds_exactly_n_bars_for_both_entry_modes() -> None:
    quiet = _bars([(100.0, 100.5, 99.5, 100.0 + i * 0.1) for i in range(8)])
    at_open = follow(quiet, quiet.index[0], "long", 90.0, 110.0, 3)
    assert at_open["outcome"] == "time_stop"
    assert at_open["entry_time"] == quiet.index[1] and at_open["exit_time"] == quiet.index[4]
    assert at_open["exit_price"] == quiet["open"].iloc[4]
    at_close = follow(quiet, quiet.index[0], "long", 90.0, 110.0, 3, entry="close")
    assert at_close["entry_price"] == quiet["close"].iloc[0]
    assert at_close["exit_time"] == quiet.index[3] and at_close["exit_price"] == quiet["close"].iloc[3]


def test_a_signal_without_later_bars_is_pending_and_one_without_an_exit_is_open() -> None:
    assert follow(BARS.iloc[:1], BARS.index[0], "long", 98.0, 104.0, 10)["outcome"] == "pending"
    still = follow(BARS.iloc[:2], BARS.index[0], "long", 98.0, 104.0, 10)
    assert still["outcome"] == "open" and still["realized_return"] is None


def test_performance_metrics_match_a_hand_computation(database_url: str, workspace: object) -> None:
    returns = [0.04, -0.02, 0.01, -0.03]
    with session_scope() as session:
        for i, ret in enumerate(returns):
            day = dt.datetime(2024, 1, 1 + 7 * i, tzinfo=dt.UTC)
            session.add(
                Signal(
                    date=day.date(),
                    asof=day,
                    model_id="m",
                    ticker="AAPL",
                    side="long",
                    accepted=True,
                    outcome="target" if ret > 0 else "stop",
                    exit_time=day + dt.timedelta(days=2),
                    realized_return=ret,
                    r_multiple=ret / 0.02,
                )
            )
        session.add(
            Signal(
                date=dt.date(2024, 1, 2),
                asof=dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                model_id="m",
                ticker="AAPL",
                side="long",
                accepted=False,
                reject_reason="cooldown",
            )
        )
        session.flush()
        perf = performance(session, "m")
    r = np.array(returns)
    equity = np.cumprod(1 + r)
    span_years = (dt.datetime(2024, 1, 24) - dt.datetime(2024, 1, 1)).days / 365.25
    assert perf["hit_rate"] == 0.5
    assert perf["avg_r"] == pytest.approx(r.mean() / 0.02)
    assert perf["max_drawdown"] == pytest.approx((equity / np.maximum.accumulate(equity) - 1).min())
    assert perf["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(4 / span_years))
    assert perf["signals_per_day"] == pytest.approx(4 / (np.busday_count("2024-01-01", "2024-01-22") + 1))
    assert perf["reject_reasons"] == {"cooldown": 1}
    assert perf["outcomes"] == {"stop": 2, "target": 2, "time_stop": 0}
