"""Cross-checks on the bundled sample data against vectorbt, backtesting.py and empyrical."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sigma_lab.backtest import run

from .conftest import sma_cross_signals

pytestmark = pytest.mark.peers

REL = 1e-9


@pytest.fixture(params=["spy_1h", "aapl_1d"])
def sample(request) -> pd.DataFrame:
    return request.getfixturevalue(request.param)


def _shift(a: np.ndarray) -> np.ndarray:
    return np.concatenate(([False], a[:-1]))


@pytest.mark.parametrize(("fees_bps", "fixed_fee"), [(0.0, 0.0), (5.0, 1.0)])
def test_sma_cross_matches_vectorbt_trades_and_final_value(sample, fees_bps, fixed_fee):
    vbt = pytest.importorskip("vectorbt")
    entries, exits = sma_cross_signals(sample["close"], 10, 30)
    ours = run(sample, entries, exits, fees_bps=fees_bps, fixed_fee=fixed_fee)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf = vbt.Portfolio.from_signals(
            sample["close"], _shift(entries), _shift(exits), price=sample["open"], fees=fees_bps / 1e4,
            fixed_fees=fixed_fee, init_cash=100_000, direction="longonly",
        )
        theirs = pf.trades.records_readable
    assert len(ours.trades) == len(theirs) > 10
    np.testing.assert_allclose(ours.equity.to_numpy(), pf.value().to_numpy(), rtol=REL)
    assert ours.final_equity == pytest.approx(float(pf.final_value()), rel=REL)
    np.testing.assert_array_equal(ours.trades["entry_time"].to_numpy(), theirs["Entry Timestamp"].to_numpy())
    closed = theirs["Status"] == "Closed"
    np.testing.assert_array_equal(ours.trades["exit_time"].to_numpy()[closed.to_numpy()],
                                  theirs.loc[closed, "Exit Timestamp"].to_numpy())
    for col, their in (("entry_price", "Avg Entry Price"), ("exit_price", "Avg Exit Price"), ("size", "Size"),
                       ("pnl", "PnL"), ("return", "Return")):
        np.testing.assert_allclose(ours.trades[col].to_numpy(), theirs[their].to_numpy(), rtol=REL, atol=1e-9)
    assert (ours.trades["exit_reason"] == "end").sum() == (~closed).sum()


def test_sma_cross_both_directions_matches_vectorbt_reversals(sample):
    vbt = pytest.importorskip("vectorbt")
    up, down = sma_cross_signals(sample["close"], 10, 30)
    ours = run(sample, up, down, down, up, direction="both", fees_bps=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf = vbt.Portfolio.from_signals(
            sample["close"], _shift(up), _shift(down), _shift(down), _shift(up), price=sample["open"],
            fees=2e-4, init_cash=100_000,
        )
        theirs = pf.trades.records_readable
    assert len(ours.trades) == len(theirs)
    np.testing.assert_allclose(ours.equity.to_numpy(), pf.value().to_numpy(), rtol=REL)
    np.testing.assert_allclose(ours.trades["pnl"].to_numpy(), theirs["PnL"].to_numpy(), rtol=REL, atol=1e-9)


def test_sma_cross_matches_backtesting_py_with_whole_shares(sample):
    bt_mod = pytest.importorskip("backtesting")
    entries, exits = sma_cross_signals(sample["close"], 10, 30)
    size = 0.9999
    ours = run(sample, entries, exits, fees_bps=10.0, whole_shares=True, size=size)

    class Cross(bt_mod.Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if entries[i] and not self.position:
                self.buy(size=size)
            elif exits[i] and self.position:
                self.position.close()

    data = sample.rename(columns=str.capitalize)
    data.index = data.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = bt_mod.Backtest(data, Cross, cash=100_000, commission=0.001, trade_on_close=False,
                             exclusive_orders=False, finalize_trades=False)
        stats = bt.run()
    theirs = stats["_trades"]
    n_closed = len(theirs)
    closed = ours.trades[ours.trades["exit_reason"] != "end"]
    assert len(closed) == n_closed > 10
    assert ours.final_equity == pytest.approx(float(stats["Equity Final [$]"]), rel=REL)
    np.testing.assert_allclose(ours.equity.to_numpy(), stats["_equity_curve"]["Equity"].to_numpy(), rtol=REL)
    np.testing.assert_array_equal(closed["size"].to_numpy(), theirs["Size"].to_numpy())
    for col, their in (("entry_price", "EntryPrice"), ("exit_price", "ExitPrice"), ("pnl", "PnL"),
                       ("fees", "Commission")):
        np.testing.assert_allclose(closed[col].to_numpy(), theirs[their].to_numpy(), rtol=REL)
    np.testing.assert_array_equal(closed["entry_time"].dt.tz_localize(None).to_numpy(),
                                  theirs["EntryTime"].to_numpy())


@pytest.mark.parametrize("risk_free", [0.0, 0.03])
def test_metrics_equal_empyrical_on_the_same_returns(sample, risk_free):
    ep = pytest.importorskip("empyrical")
    entries, exits = sma_cross_signals(sample["close"], 10, 30)
    r = run(sample, entries, exits, fees_bps=5.0, risk_free=risk_free)
    ret = r.returns.to_numpy()
    ppy = r.periods_per_year
    rf = (1 + risk_free) ** (1 / ppy) - 1
    m = r.metrics
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(ret, risk_free=rf, annualization=ppy), rel=REL)
    sortino = ep.sortino_ratio(ret, required_return=rf, annualization=ppy)
    assert m["sortino"] == pytest.approx(sortino, rel=REL)
    assert m["ann_volatility"] == pytest.approx(ep.annual_volatility(ret, annualization=ppy), rel=REL)
    assert m["max_drawdown"] == pytest.approx(ep.max_drawdown(ret), rel=REL)
    assert m["cagr"] == pytest.approx(ep.annual_return(ret, annualization=ppy), rel=REL)
    assert m["calmar"] == pytest.approx(ep.calmar_ratio(ret, annualization=ppy), rel=REL)
    assert m["total_return"] == pytest.approx(ep.cum_returns_final(ret), rel=REL)


def test_periods_per_year_follow_the_bar_frequency(spy_1h, aapl_1d):
    assert run(aapl_1d, None, None).periods_per_year == 252
    ny_dates = pd.Series(spy_1h.index.tz_convert("America/New_York").date)
    assert run(spy_1h, None, None).periods_per_year == 252 * ny_dates.groupby(ny_dates).size().median()
