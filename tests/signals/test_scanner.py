"""The rule-based scanner: sub-scores by hand, gates that pass and fail, ranking, skipped tickers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.data import load
from sigma_lab.errors import ConfigError
from sigma_lab.indicators import compute
from sigma_lab.signals.scanner import (
    DEFAULT_WEIGHTS,
    SCAN_COLUMNS,
    apply_gates,
    required_bars,
    scan,
    score_bars,
)


def _bars(close: np.ndarray, spread: float = 0.01, volume: float = 1e6) -> pd.DataFrame:
    index = pd.date_range("2020-01-01", periods=len(close), freq="D", tz="UTC", name="timestamp")
    close = np.asarray(close, dtype="float64")
    opens = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, close) * (1 + spread),
            "low": np.minimum(opens, close) * (1 - spread),
            "close": close,
            "volume": np.full(len(close), volume),
        },
        index=index,
    )


def _uptrend(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return _bars(100 * np.exp(np.cumsum(0.004 + 0.005 * rng.standard_normal(n))))


def _flat(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return _bars(100 + 0.5 * np.sin(np.arange(n) / 3.0) + 0.2 * rng.standard_normal(n))


def test_sub_scores_match_a_hand_computation_from_indicator_columns() -> None:
    rng = np.random.default_rng(3)
    bars = _bars(50 * np.exp(np.cumsum(0.001 + 0.02 * rng.standard_normal(320))))
    got = score_bars(bars)
    close = bars["close"].iloc[-1]
    upper = bars["high"].rolling(20).max().iloc[-2]
    lower = bars["low"].rolling(20).min().iloc[-2]
    assert got["breakout"] == pytest.approx(min(max((close - lower) / (upper - lower), 0), 1))
    mom = compute(bars, "momentum_score", period=20)["momentum_score_20"].iloc[-1]
    assert got["momentum"] == pytest.approx((mom + 1) / 2)
    adx = compute(bars, "adx", period=14).iloc[-1]
    agrees = adx["adx_14_plus_di"] > adx["adx_14_minus_di"]
    assert got["trend"] == pytest.approx(min(adx["adx_14"] / 50, 1) if agrees else 0.0)
    e20, e50, e200 = (compute(bars, "ema", period=p)[f"ema_{p}"].iloc[-1] for p in (20, 50, 200))
    assert got["alignment"] == pytest.approx(np.mean([close > e20, e20 > e50, e50 > e200]))
    weighted = sum(DEFAULT_WEIGHTS[k] * got[k] for k in DEFAULT_WEIGHTS) / sum(DEFAULT_WEIGHTS.values())
    assert got["total"] == pytest.approx(weighted)
    assert got["dollar_volume"] == pytest.approx((bars["close"] * bars["volume"]).iloc[-20:].mean())
    assert all(0.0 <= got[k] <= 1.0 for k in DEFAULT_WEIGHTS)


def test_a_strong_uptrend_passes_every_default_gate() -> None:
    got = score_bars(_uptrend())
    assert got["alignment"] == 1.0 and got["trend"] > 0.4 and got["total"] > 0.6
    assert apply_gates(got) == []


def test_a_flat_series_fails_the_trend_and_total_gates() -> None:
    got = score_bars(_flat())
    failed = apply_gates(got)
    assert "min_adx" in failed and "min_total" in failed


def test_a_downtrend_passes_a_short_scan_and_fails_a_long_one() -> None:
    down = _bars(_uptrend()["close"].to_numpy()[::-1].copy())
    assert apply_gates(score_bars(down, direction="short")) == []
    assert "min_total" in apply_gates(score_bars(down, direction="long"))


def test_thin_volume_fails_the_liquidity_gate_and_none_switches_it_off() -> None:
    thin = _uptrend()
    thin["volume"] = 10.0
    got = score_bars(thin)
    assert apply_gates(got) == ["min_dollar_volume"]
    assert apply_gates(got, {"min_dollar_volume": None}) == []


def test_weights_change_the_total_and_bad_weights_or_gates_are_rejected() -> None:
    bars = _uptrend()
    only_breakout = score_bars(bars, weights={"breakout": 1, "momentum": 0, "trend": 0, "alignment": 0})
    assert only_breakout["total"] == pytest.approx(only_breakout["breakout"])
    with pytest.raises(ConfigError, match="unknown sub-score 'volume'"):
        score_bars(bars, weights={"volume": 1})
    with pytest.raises(ConfigError, match="unknown gate"):
        apply_gates(only_breakout, {"min_rsi": 50})
    with pytest.raises(ConfigError, match="needs 200 bars"):
        score_bars(bars.iloc[:100])


def test_scan_ranks_passed_tickers_and_selects_the_top_n() -> None:
    out = scan(
        ["AAPL", "MSFT", "IBM", "GOOG"],
        asof="2013-02-01",
        top_n=2,
        gates={"min_adx": None, "min_total": None},
    )
    assert list(out.columns) == SCAN_COLUMNS
    assert out["passed"].all()
    assert list(out["rank"]) == [1, 2, 3, 4]
    assert out["total"].is_monotonic_decreasing
    assert list(out["selected"]) == [True, True, False, False]


def test_scan_lists_tickers_without_data_as_skipped() -> None:
    out = scan(["AAPL", "NOPE", "SPY"], asof="2010-06-01")
    by = out.set_index("ticker")
    assert "not in the sample data" in by.loc["NOPE", "skipped"]
    assert by.loc["SPY", "skipped"].startswith("needs 200 bars")
    assert by.loc["AAPL", "skipped"] == ""
    assert list(out["ticker"])[-2:] == ["NOPE", "SPY"]
    assert not by.loc[["NOPE", "SPY"], "selected"].any()


def test_scan_uses_only_bars_at_or_before_asof() -> None:
    asof = pd.Timestamp("2010-06-01", tz="UTC")
    row = scan(["AAPL"], asof="2010-06-01", gates={"min_total": None}).iloc[0]
    assert row["asof"] == asof
    history = load("AAPL", "1d", source="sample")
    expected = score_bars(history.loc[:asof].iloc[-600:])
    for key in ("breakout", "momentum", "trend", "alignment", "total"):
        assert row[key] == pytest.approx(expected[key])
    shifted = history.copy()
    shifted.loc[shifted.index > asof, ["open", "high", "low", "close"]] *= 3.0
    assert score_bars(shifted.loc[:asof].iloc[-600:])["total"] == pytest.approx(row["total"])


def test_scan_accepts_a_universe_name(workspace) -> None:
    out = scan("sample10", asof="2012-01-03")
    assert len(out) == 10
    assert set(out.loc[out["skipped"] == "", "ticker"]) == {"AAPL", "MSFT", "IBM", "GOOG"}


def test_required_bars_follow_the_slowest_indicator() -> None:
    assert required_bars() == 200
    assert required_bars({"ema_periods": (10, 20, 50)}) == 50
    with pytest.raises(ConfigError, match="must rise"):
        required_bars({"ema_periods": (50, 20, 10)})
