"""Options flow: option minutes aggregated into the underlying's bars, on the recorded SPY 0DTE data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigma_lab.errors import BarValidationError, ConfigError
from sigma_lab.indicators import compute
from sigma_lab.indicators.options_flow import FLOW_COLUMNS, attach_option_flow, option_flow

OPTIONS = "sigma_lab/data/sample/spy_0dte_options_1m.parquet"


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    bars = pd.read_parquet("sigma_lab/data/sample/spy_1h.parquet").set_index("timestamp")
    return bars.loc["2024-06-20":]


@pytest.fixture(scope="module")
def options() -> pd.DataFrame:
    return pd.read_parquet(OPTIONS)


@pytest.fixture(scope="module")
def flowed(spy: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    return attach_option_flow(spy, options)


def reference_flow(bars: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    """Per hourly bar, right and bucket: summed volume and premium, written with plain pandas."""
    o = options.copy()
    o["bar"] = o["timestamp"].dt.floor("h")
    o["spot"] = bars["close"].reindex(o["bar"]).to_numpy()
    o = o[o["spot"].notna()]
    call = o["right"] == "C"
    dist = np.where(call, o["strike"] - o["spot"], o["spot"] - o["strike"])
    o["bucket"] = np.select([dist < -0.5, dist <= 0.5, dist <= 3.5], ["itm", "atm", "otm1_3"], "otm4p")
    o["side"] = np.where(call, "call", "put")
    o["premium"] = o["volume"] * o["vwap"] * 100.0
    table = o.pivot_table(
        index="bar", columns=["side", "bucket"], values=["volume", "premium"], aggfunc="sum"
    )
    table.columns = [f"opt_{side}_{measure}_{bucket}" for measure, side, bucket in table.columns]
    return table.reindex(columns=list(FLOW_COLUMNS)).fillna(0.0)


def test_a_bars_call_and_put_volume_is_the_sum_of_its_minutes(
    flowed: pd.DataFrame, options: pd.DataFrame
) -> None:
    start = pd.Timestamp("2024-07-02 15:00", tz="UTC")
    minutes = options[
        (options["timestamp"] >= start) & (options["timestamp"] < start + pd.Timedelta(hours=1))
    ]
    bar = flowed.loc[[start]]
    calls = compute(bar, "option_volume", right="call").iloc[0, 0]
    puts = compute(bar, "option_volume", right="put").iloc[0, 0]
    assert calls == minutes.loc[minutes["right"] == "C", "volume"].sum() > 0
    assert puts == minutes.loc[minutes["right"] == "P", "volume"].sum() > 0
    premium = compute(bar, "option_premium", right="put").iloc[0, 0]
    put_minutes = minutes[minutes["right"] == "P"]
    assert premium == pytest.approx((put_minutes["volume"] * put_minutes["vwap"] * 100).sum())


def test_flow_by_strike_distance_matches_a_pandas_reference(
    flowed: pd.DataFrame, options: pd.DataFrame
) -> None:
    expected = reference_flow(flowed, options)
    got = flowed.loc[expected.index, list(FLOW_COLUMNS)]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert (expected.filter(like="_atm").sum() > 0).all()
    assert (expected.filter(like="_otm1_3").sum() > 0).all()


def test_total_volume_keeps_every_option_minute(flowed: pd.DataFrame, options: pd.DataFrame) -> None:
    total = sum(compute(flowed, "option_volume", right=r).iloc[:, 0].sum() for r in ("call", "put"))
    assert total == options["volume"].sum()


def test_ratios_follow_their_definitions(flowed: pd.DataFrame) -> None:
    calls = compute(flowed, "option_volume", right="call", moneyness="atm").iloc[:, 0]
    puts = compute(flowed, "option_volume", right="put", moneyness="atm").iloc[:, 0]
    pcr = compute(flowed, "put_call_ratio", moneyness="atm").iloc[:, 0]
    traded = calls > 0
    np.testing.assert_allclose(pcr[traded], (puts / calls)[traded])
    assert pcr[~traded].isna().all()
    cp = compute(flowed, "option_premium", right="call").iloc[:, 0]
    pp = compute(flowed, "option_premium", right="put").iloc[:, 0]
    imbalance = compute(flowed, "flow_imbalance").iloc[:, 0]
    some = (cp + pp) > 0
    np.testing.assert_allclose(imbalance[some], ((cp - pp) / (cp + pp))[some])
    assert imbalance[~some].isna().all()
    assert imbalance[some].between(-1, 1).all()


def test_bars_without_option_data_are_nan_and_quiet_covered_bars_are_zero(flowed: pd.DataFrame) -> None:
    volume = compute(flowed, "option_volume", right="call").iloc[:, 0]
    assert volume.loc["2024-06-20":"2024-06-28"].isna().all()  # no option data on those dates
    assert np.isnan(volume.loc[pd.Timestamp("2024-07-01 12:00", tz="UTC")])  # before the first option minute
    assert volume.loc[pd.Timestamp("2024-07-01 13:00", tz="UTC")] > 0  # options open at 13:30 UTC
    assert volume.loc[pd.Timestamp("2024-07-01 21:00", tz="UTC")] == 0.0  # covered, nothing traded


def test_compute_without_attached_flow_raises_a_config_error(spy: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="opt_call_volume_atm"):
        compute(spy, "flow_imbalance")


def test_option_minutes_after_a_bars_close_never_change_it(spy: pd.DataFrame, options: pd.DataFrame) -> None:
    full = attach_option_flow(spy, options)
    cut = pd.Timestamp("2024-07-02 16:00", tz="UTC")
    later = options["timestamp"] >= cut
    changed = options.copy()
    changed.loc[later, "volume"] = changed.loc[later, "volume"] * 7 + 3
    changed.loc[later, "strike"] = changed.loc[later, "strike"] + 2
    after = attach_option_flow(spy, changed)
    earlier = spy.index < cut
    pd.testing.assert_frame_equal(after.loc[earlier], full.loc[earlier])
    assert not after.loc[~earlier, list(FLOW_COLUMNS)].equals(full.loc[~earlier, list(FLOW_COLUMNS)])
    truncated = attach_option_flow(spy, options[~later])
    pd.testing.assert_frame_equal(truncated.loc[earlier], full.loc[earlier])


def test_thin_option_minutes_aggregate_into_five_minute_bars() -> None:
    idx = pd.date_range("2024-07-01 13:30", periods=6, freq="5min", tz="UTC", name="timestamp")
    close = np.array([500.0, 500.4, 501.0, 501.0, 499.6, 500.0])
    bars = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0}, index=idx
    )
    options = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(
                [
                    "2024-07-01 13:34",
                    "2024-07-01 13:35",
                    "2024-07-01 13:36",
                    "2024-07-01 13:52",
                    "2024-07-01 13:59",
                ],
                tz="UTC",
            ),
            "right": ["C", "C", "P", "P", "C"],
            "strike": [500.0, 504.0, 500.0, 495.0, 505.0],
            "close": [1.0, 0.5, 1.2, 0.1, 0.05],
            "vwap": [1.1, np.nan, 1.2, 0.1, 0.05],
            "volume": [10, 4, 6, 20, 0],
            "underlying": "SPY",
        }
    )
    flow = option_flow(bars, options)
    assert flow["opt_call_volume_atm"].tolist() == [
        10.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]  # 13:34 is in the 13:30 bar
    assert flow["opt_call_volume_otm4p"].tolist() == [
        0.0,
        4.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]  # 504 vs 500.4: 3.6 strikes
    assert flow["opt_call_premium_otm4p"].iloc[1] == pytest.approx(4 * 0.5 * 100)  # missing vwap: close
    assert flow["opt_put_volume_atm"].tolist() == [0.0, 6.0, 0.0, 0.0, 0.0, 0.0]  # 500 vs 500.4: 0.4 strikes
    assert flow["opt_put_volume_otm4p"].tolist() == [
        0.0,
        0.0,
        0.0,
        0.0,
        20.0,
        0.0,
    ]  # 495 vs 499.6: 4.6 strikes
    assert flow["opt_call_volume_itm"].sum() == 0.0
    ratio = compute(attach_option_flow(bars, options), "put_call_ratio").iloc[:, 0]
    assert ratio.iloc[0] == 0.0
    assert ratio.iloc[1] == pytest.approx(6 / 4)
    assert ratio.iloc[2:].isna().all()


def test_strike_step_sets_the_bucket_width() -> None:
    idx = pd.date_range("2024-07-01 14:00", periods=2, freq="h", tz="UTC", name="timestamp")
    bars = pd.DataFrame(
        {"open": 5000.0, "high": 5001.0, "low": 4999.0, "close": 5000.0, "volume": 1.0}, index=idx
    )
    options = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(["2024-07-01 14:10"], tz="UTC"),
            "right": ["C"],
            "strike": [5015.0],
            "close": [2.0],
            "volume": [3],
        }
    )
    assert option_flow(bars, options, strike_step=5.0)["opt_call_volume_otm1_3"].iloc[0] == 3.0
    assert option_flow(bars, options, strike_step=1.0)["opt_call_volume_otm4p"].iloc[0] == 3.0


def test_attaching_twice_replaces_the_flow_columns(flowed: pd.DataFrame, options: pd.DataFrame) -> None:
    again = attach_option_flow(flowed, options)
    pd.testing.assert_frame_equal(again, flowed)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda o: o.drop(columns=["strike"]), BarValidationError, r"missing columns \['strike'\]"),
        (lambda o: o.assign(right="X"), BarValidationError, "'X' is not C or P"),
        (lambda o: o.assign(volume=-1), BarValidationError, "negative volume"),
        (lambda o: o.assign(timestamp=o["timestamp"].dt.tz_localize(None)), BarValidationError, "naive"),
        (
            lambda o: o.assign(underlying=np.where(o.index % 2 == 0, "SPY", "QQQ")),
            ConfigError,
            "several underlyings",
        ),
    ],
)
def test_bad_option_bars_get_a_clear_error(
    spy: pd.DataFrame, options: pd.DataFrame, change, error, match
) -> None:
    with pytest.raises(error, match=match):
        attach_option_flow(spy, change(options.head(50)))


def test_underlying_selects_one_of_several(spy: pd.DataFrame, options: pd.DataFrame) -> None:
    mixed = pd.concat([options, options.assign(underlying="QQQ", volume=options["volume"] * 0 + 99)])
    picked = attach_option_flow(spy, mixed, underlying="SPY")
    pd.testing.assert_frame_equal(picked, attach_option_flow(spy, options))
