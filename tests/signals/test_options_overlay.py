"""Black-Scholes, OCC symbols and the options overlay on the recorded SPY 0DTE prints."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from fakes.polygon_server import running_fake_polygon

from sigma_lab.config import get_settings
from sigma_lab.data import load_option_bars
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.signals.blackscholes import bs_delta, bs_greeks, bs_price, implied_vol, implied_vols
from sigma_lab.signals.options import (
    expiry_close,
    list_option_signals,
    occ_symbol,
    option_chain,
    option_overlay,
    options_policy,
    parse_occ,
)
from sigma_lab.signals.policy import OptionsPolicy

ASOF = pd.Timestamp("2024-07-02 18:30", tz="UTC")  # 14:30 New York, 1.5 hours before the 0DTE close
LONG = {"ticker": "SPY", "side": "long", "entry": 547.7, "stop": 546.7, "target": 549.7, "timestamp": ASOF}


# --- Black-Scholes ------------------------------------------------------------------------------


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _hand_call(s: float, k: float, t: float, r: float, sigma: float) -> tuple[float, float]:
    d1 = (math.log(s / k) + (r + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * _ncdf(d1) - k * math.exp(-r * t) * _ncdf(d2), _ncdf(d1)


def test_black_scholes_reproduces_hulls_textbook_example() -> None:
    assert bs_price("C", 42, 40, 0.5, 0.1, 0.2) == pytest.approx(4.76, abs=0.005)
    assert bs_price("P", 42, 40, 0.5, 0.1, 0.2) == pytest.approx(0.81, abs=0.005)
    price, delta = _hand_call(42, 40, 0.5, 0.1, 0.2)
    assert bs_price("call", 42, 40, 0.5, 0.1, 0.2) == pytest.approx(price, rel=1e-10)
    assert bs_delta("C", 42, 40, 0.5, 0.1, 0.2) == pytest.approx(delta, rel=1e-10)
    assert bs_delta("P", 42, 40, 0.5, 0.1, 0.2) == pytest.approx(delta - 1, rel=1e-10)
    greeks = bs_greeks("C", 42, 40, 0.5, 0.1, 0.2)
    assert greeks["gamma"] > 0 and greeks["vega"] > 0 and greeks["theta"] < 0


@pytest.mark.parametrize(
    ("s", "k", "t", "r", "sigma"), [(42, 40, 0.5, 0.1, 0.2), (547.7, 548, 1.5 / 8760, 0.05, 0.15)]
)
def test_put_call_parity_holds(s: float, k: float, t: float, r: float, sigma: float) -> None:
    call, put = bs_price("C", s, k, t, r, sigma), bs_price("P", s, k, t, r, sigma)
    assert call - put == pytest.approx(s - k * math.exp(-r * t), abs=1e-9)


@pytest.mark.parametrize(
    ("right", "k", "t"),
    [
        ("C", 520.0, 0.5),
        ("P", 575.0, 0.5),
        ("C", 547.0, 1.0 / 365),
        ("P", 540.0, 1.0 / 365),
        ("C", 547.0, 1.5 / 8760),
        ("C", 549.0, 1.5 / 8760),
        ("P", 548.0, 1.5 / 8760),
        ("P", 546.0, 1.5 / 8760),
    ],
)
def test_implied_vol_round_trips(right: str, k: float, t: float) -> None:
    price = bs_price(right, 547.7, k, t, 0.05, 0.18)
    assert implied_vol(price, 547.7, k, t, 0.05, right) == pytest.approx(0.18, rel=1e-6)


def test_implied_vol_is_nan_for_prices_without_time_value() -> None:
    t = 1.5 / 8760
    below = implied_vols([4.0, 0.0, 600.0], 547.7, [543.0, 548.0, 548.0], t, 0.05, ["C", "C", "C"])
    assert np.isnan(below).all()
    with pytest.raises(ConfigError, match="right"):
        implied_vol(1.0, 547.7, 548.0, t, 0.05, "X")


# --- OCC symbols -----------------------------------------------------------------------------------


def test_occ_symbols_build_and_parse_both_ways() -> None:
    assert occ_symbol("SPY", "2024-07-01", "C", 537) == "O:SPY240701C00537000"
    assert occ_symbol("spy", dt.date(2024, 7, 5), "put", 544.5) == "O:SPY240705P00544500"
    parsed = parse_occ("SPY240705P00544500")
    assert (parsed.underlying, parsed.expiry, parsed.right, parsed.strike) == (
        "SPY",
        dt.date(2024, 7, 5),
        "P",
        544.5,
    )
    for contract in load_option_bars("SPY")["contract"].unique()[:10]:
        p = parse_occ(contract)
        assert occ_symbol(p.underlying, p.expiry, p.right, p.strike) == contract
    with pytest.raises(ConfigError, match="invalid OCC"):
        parse_occ("O:SPY2407C00537000")
    with pytest.raises(ConfigError, match="right"):
        occ_symbol("SPY", "2024-07-01", "X", 537)


# --- the chain and the hand-checked pick -----------------------------------------------------------


def _hand_iv(price: float, s: float, k: float, t: float, r: float, right: str) -> float:
    """Bisection on the textbook formula, independent of the library."""
    lo, hi = 1e-4, 5.0
    for _ in range(200):
        mid = (lo + hi) / 2
        call, _ = _hand_call(s, k, t, r, mid)
        value = call if right == "C" else call - s + k * math.exp(-r * t)
        lo, hi = (mid, hi) if value < price else (lo, mid)
    return (lo + hi) / 2


def test_overlay_picks_the_call_nearest_the_target_delta_on_recorded_0dte_prints() -> None:
    bars = load_option_bars("SPY", "2024-07-02", "2024-07-02")
    done = bars[bars["timestamp"] + pd.Timedelta(minutes=1) <= ASOF]
    last = done.groupby("contract").tail(1).set_index(["right", "strike"])["close"]
    t = (pd.Timestamp("2024-07-02 20:00", tz="UTC") - ASOF).total_seconds() / (365 * 24 * 3600)
    assert t == pytest.approx(1.5 / 8760)
    forwards = [last["C", k] - last["P", k] + k * math.exp(-0.05 * t) for k in (546.0, 547.0, 548.0)]
    spot = float(np.median(forwards))
    deltas = {}
    for k in (547.0, 548.0, 549.0):
        sigma = _hand_iv(last["C", k], spot, k, t, 0.05, "C")
        deltas[k] = _hand_call(spot, k, t, 0.05, sigma)[1]
    # 547 is deep in the money (~0.71), 549 far out (~0.13), 548 near 0.39: the 0.40-delta call.
    assert min(deltas, key=lambda k: abs(deltas[k] - 0.40)) == 548.0

    plan = option_overlay(LONG, {"target_delta": 0.40}, source="sample")
    assert plan.occ_symbol == "O:SPY240702C00548000"
    assert (plan.structure, plan.right, plan.strike, plan.expiry) == (
        "single",
        "C",
        548.0,
        dt.date(2024, 7, 2),
    )
    assert plan.detail["spot"] == pytest.approx(spot, abs=1e-9)
    assert plan.detail["spot_method"] == "put-call parity"
    assert plan.delta == pytest.approx(deltas[548.0], abs=1e-5)
    assert plan.premium == pytest.approx(last["C", 548.0])
    # stock bracket through delta: target +2.00 x delta, stop -1.00 x delta floored at one tick
    assert plan.premium_target == pytest.approx(last["C", 548.0] + 2.0 * plan.delta, abs=1e-4)
    assert plan.premium_stop == 0.01


def test_chain_skips_never_traded_stale_and_unsolvable_contracts_with_reasons() -> None:
    chain = option_chain("SPY", ASOF, source="sample")
    reasons = chain.frame.set_index("contract")["skip_reason"]
    assert reasons["O:SPY240702C00538000"].startswith("stale")  # last print 82 minutes earlier
    assert reasons["O:SPY240702C00541000"] == "no implied volatility"  # 6.57 < intrinsic 6.70
    assert reasons["O:SPY240702C00548000"] == ""
    assert (pd.to_datetime(chain.frame["last_trade"]) <= ASOF).all()
    early = option_chain("SPY", "2024-07-02 13:32", source="sample", spot=543.5)
    assert (early.frame["skip_reason"] == "no trade").any()
    assert chain.t_years == pytest.approx(1.5 / 8760)
    assert expiry_close(dt.date(2024, 7, 2)) == pd.Timestamp("2024-07-02 20:00", tz="UTC")


def test_short_signal_buys_a_put_and_vertical_sells_one_width_further_out() -> None:
    short = {**LONG, "side": "short", "stop": 548.7, "target": 545.7}
    plan = option_overlay(
        short, {"target_delta": 0.30, "spread_width": 2}, structure="vertical", source="sample"
    )
    assert plan.occ_symbol == "O:SPY240702P00547000"
    assert [leg["action"] for leg in plan.legs] == ["buy", "sell"]
    assert plan.legs[1]["occ_symbol"] == "O:SPY240702P00545000"
    assert plan.premium == pytest.approx(plan.legs[0]["price"] - plan.legs[1]["price"])
    assert plan.delta == pytest.approx(plan.legs[0]["delta"] - plan.legs[1]["delta"])
    assert plan.premium_target <= 2.0


def test_fixed_fraction_brackets_apply_without_a_stock_bracket() -> None:
    plan = option_overlay({**LONG, "stop": None, "target": None}, source="sample", stop_fraction=0.5)
    assert plan.premium_stop == pytest.approx(plan.premium * 0.5)
    assert plan.premium_target == pytest.approx(plan.premium * 2.0)
    assert plan.detail["bracket_method"] == "premium fractions"


def test_policy_section_is_read_from_the_model_or_a_dict() -> None:
    assert options_policy({"target_delta": 0.25}).target_delta == 0.25
    assert options_policy(OptionsPolicy(min_volume=10)).min_volume == 10
    with pytest.raises(ConfigError, match="target_delta"):
        options_policy({"target_delta": 2})
    with pytest.raises(NotFoundError, match="no expiry on or after 2024-07-09"):
        option_overlay(LONG, {"days_to_expiry": 7}, source="sample")
    with pytest.raises(NotFoundError, match="weeklies not allowed"):
        option_overlay(LONG, {"allow_weeklies": False}, source="sample")
    huge = option_chain("SPY", ASOF, {"min_volume": 300_000}, source="sample")
    assert (
        huge.frame.set_index("contract").loc["O:SPY240702C00548000", "skip_reason"] == "volume below 300000"
    )


# --- storing and listing ---------------------------------------------------------------------------


def _stock_signal(model_id: str) -> int:
    from sigma_lab.store import Signal, session_scope

    with session_scope() as session:
        row = Signal(
            date=ASOF.date(),
            asof=ASOF.to_pydatetime(),
            model_id=model_id,
            ticker="SPY",
            side="long",
            entry=547.7,
            stop=546.7,
            target=549.7,
            confidence=0.7,
        )
        session.add(row)
        session.flush()
        return row.id


def test_single_leg_signals_are_stored_linked_to_their_stock_signal(database_url: str) -> None:
    sid = _stock_signal("spy_model")
    other = _stock_signal("other_model")
    plan = option_overlay({**LONG, "id": sid}, source="sample", store=True)
    option_overlay(
        LONG, {"spread_width": 2}, source="sample", store=True, signal_id=other, structure="vertical"
    )
    assert plan.id is not None and plan.signal_id == sid
    rows = list_option_signals(model_id="spy_model")
    assert len(rows) == 1
    row = rows[0]
    assert (row["occ_symbol"], row["structure"], row["signal_id"]) == ("O:SPY240702C00548000", "single", sid)
    assert row["premium"] == pytest.approx(plan.premium) and row["expiry"] == "2024-07-02"
    assert row["legs"][0]["occ_symbol"] == "O:SPY240702C00548000"
    assert len(list_option_signals(ticker="spy")) == 2
    assert list_option_signals(ticker="QQQ") == []
    with pytest.raises(ConfigError, match="stock signal's id"):
        option_overlay(LONG, source="sample", store=True)


# --- Polygon -------------------------------------------------------------------------------------


def test_polygon_chain_picks_the_same_contract_as_the_recording(workspace, monkeypatch) -> None:
    with running_fake_polygon(api_key="k") as fake:
        monkeypatch.setenv("SIGMA_POLYGON_API_KEY", "k")
        monkeypatch.setenv("SIGMA_POLYGON_BASE_URL", fake.url)
        get_settings.cache_clear()
        plan = option_overlay(LONG, {"target_delta": 0.40}, max_staleness_minutes=15)
    assert plan.detail["source"] == "polygon"
    assert plan.occ_symbol == "O:SPY240702C00548000"
    assert plan.detail["spot"] == pytest.approx(option_overlay(LONG, source="sample").detail["spot"])
