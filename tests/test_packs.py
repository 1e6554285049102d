"""Packs: the shipped packs validate; each broken pack file fails with a precise message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigma_lab import packs
from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.packs import PackError, validate_packs
from sigma_lab.universes import get_universe, list_universes

BROKEN = Path(__file__).parent / "packs_broken"

BASE_FILES = {
    "pack.yaml": (
        "name: base\ndescription: A small valid pack.\nhorizon: days\ncadence: daily\nasset_types: [equity]\n"
    ),
    "indicator_sets/core.yaml": "name: core\nindicators:\n  - {name: rsi, params: {period: 14}}\n",
    "model_configs/aapl_eq_swing_daily.yaml": (
        "model_id: aapl_eq_swing_daily\nticker: AAPL\ndata: {timeframe: 1d}\nindicator_set: core\n"
        "label: {kind: forward_return, params: {horizon: 5}}\n"
    ),
}


def _base_pack(root: Path) -> Path:
    for rel, text in BASE_FILES.items():
        path = root / "base" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "base"


def _with_overlay(root: Path, case: str) -> Path:
    pack = _base_pack(root)
    shutil.copytree(BROKEN / case, pack, dirs_exist_ok=True)
    return pack


def test_shipped_packs_validate_without_problems():
    assert validate_packs() == []
    assert set(packs.list_packs()) >= {
        "zerosigma",
        "swingsigma",
        "longsigma",
        "overnightsigma",
        "momentumsigma",
    }


def test_every_shipped_pack_has_a_model_and_every_model_resolves_its_indicator_set():
    models = packs.list_model_configs()
    assert {m.pack for m in models} == set(packs.list_packs())
    for model in models:
        iset = packs.get_indicator_set(model)
        assert iset.columns(), model.model_id
        assert model.label.horizon >= 1


def test_shipped_packs_hold_the_original_models():
    ids = {m.model_id for m in packs.list_model_configs()}
    assert {
        "spy_opt_0dte_hourly",
        "spy_opt_0dte_hourly_flow",
        "aapl_eq_swing_daily",
        "aapl_eq_swing_daily_breakout",
        "msft_eq_swing_daily_mean_reversion",
        "aapl_eq_swing_daily_momentum",
        "ibm_eq_swing_daily_trend_following",
        "aapl_eq_long_daily_20d",
        "msft_eq_long_daily_63d",
        "aapl_eq_swing_daily_overnight",
        "spy_eq_intraday_hourly_momentum",
    } <= ids
    flow = packs.get_model_config("spy_opt_0dte_hourly_flow")
    assert packs.get_indicator_set(flow).options_flow


def test_model_config_exposes_the_parts_of_its_id_and_the_train_spec():
    cfg = packs.get_model_config("aapl_eq_swing_daily_breakout")
    assert (cfg.asset_type, cfg.horizon_class, cfg.cadence, cfg.variant) == (
        "equity",
        "swing",
        "daily",
        "breakout",
    )
    assert cfg.pack == "swingsigma"
    assert cfg.train.estimator.kind == "hgb"


@pytest.mark.parametrize(
    ("case", "file", "line", "where", "message"),
    [
        ("unknown_indicator", "indicator_sets/core.yaml", 4, "indicators[1]", "unknown indicator 'rsii'"),
        ("unknown_param", "indicator_sets/core.yaml", 3, "indicators[0]", "has no parameter 'perod'"),
        (
            "out_of_bounds_param",
            "indicator_sets/core.yaml",
            3,
            "indicators[0]",
            "period=0 is below its minimum",
        ),
        ("yaml_syntax", "indicator_sets/core.yaml", 4, "YAML syntax error", "expected ',' or '}'"),
        ("options_flow_without_flag", "indicator_sets/core.yaml", 1, "", "need `options_flow: true`"),
        (
            "bad_model_id",
            "model_configs/aapl_swing_daily.yaml",
            1,
            "model_id",
            "does not follow <ticker>_<eq|opt>",
        ),
        ("missing_key", "model_configs/aapl_eq_swing_daily.yaml", 1, "label", "missing required key"),
        (
            "wrong_type",
            "model_configs/aapl_eq_swing_daily.yaml",
            8,
            "train.validation.n_splits",
            "valid integer",
        ),
        ("unknown_key", "model_configs/aapl_eq_swing_daily.yaml", 6, "labell", "unknown key"),
        (
            "unknown_label",
            "model_configs/aapl_eq_swing_daily.yaml",
            6,
            "label",
            "unknown label 'triple_barier'",
        ),
        (
            "bad_label_param",
            "model_configs/aapl_eq_swing_daily.yaml",
            6,
            "label",
            "max_hold=0 is below its minimum",
        ),
        (
            "cadence_mismatch",
            "model_configs/aapl_eq_swing_daily.yaml",
            1,
            "",
            "model_id says daily but data.timeframe",
        ),
        (
            "missing_indicator_set",
            "model_configs/aapl_eq_swing_daily.yaml",
            None,
            "indicator_set",
            "no indicator set 'nowhere'",
        ),
        (
            "sweep_preset_unknown_param",
            "sweep_presets/basic.yaml",
            6,
            "grid.slowest",
            "unknown sweep parameter 'slowest' for strategy 'sma_cross'",
        ),
        (
            "sweep_preset_unknown_strategy",
            "sweep_presets/basic.yaml",
            3,
            "strategy",
            "unknown strategy 'sma_crosss'",
        ),
        (
            "sweep_preset_out_of_bounds",
            "sweep_presets/basic.yaml",
            4,
            "grid.fast[1]",
            "fast=0 is below its minimum",
        ),
    ],
)
def test_broken_pack_file_fails_with_file_line_key_and_problem(tmp_path, case, file, line, where, message):
    pack = _with_overlay(tmp_path, case)
    problems = validate_packs(tmp_path)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.file.endswith(str(Path("base") / file))
    assert problem.line == line
    assert problem.location.startswith(where)
    assert message in problem.message
    with pytest.raises(PackError) as info:
        packs.load_pack("base", tmp_path)
    assert message in str(info.value) and file in str(info.value)
    assert pack.is_dir()


def test_one_error_lists_every_problem_of_a_pack(tmp_path):
    pack = _base_pack(tmp_path)
    shutil.copytree(BROKEN / "unknown_param", pack, dirs_exist_ok=True)
    (pack / "model_configs" / "aapl_eq_swing_daily.yaml").write_text(
        (BROKEN / "wrong_type" / "model_configs" / "aapl_eq_swing_daily.yaml").read_text()
    )
    with pytest.raises(PackError) as info:
        packs.load_pack("base", tmp_path)
    assert len(info.value.problems) == 2
    assert "perod" in str(info.value) and "n_splits" in str(info.value)


def test_the_base_fixture_pack_is_valid(tmp_path):
    _base_pack(tmp_path)
    assert validate_packs(tmp_path) == []
    assert packs.get_model_config("aapl_eq_swing_daily", tmp_path).label.params["horizon"] == 5


def test_unknown_pack_and_model_are_not_found_with_suggestions():
    with pytest.raises(NotFoundError, match="did you mean swingsigma"):
        packs.load_pack("swingsigm")
    with pytest.raises(NotFoundError, match="did you mean aapl_eq_swing_daily"):
        packs.get_model_config("aapl_eq_swing_dail")


def test_packs_dir_setting_overrides_the_repository_packs(tmp_path, monkeypatch):
    _base_pack(tmp_path)
    monkeypatch.setenv("SIGMA_PACKS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert packs.list_packs() == ["base"]
    finally:
        monkeypatch.delenv("SIGMA_PACKS_DIR")
        get_settings.cache_clear()


def test_shipped_universes_are_real_ticker_lists():
    assert set(list_universes(include_watchlists=False)) >= {"sample10", "sp100", "nasdaq100", "sp500"}
    assert len(get_universe("sp500").tickers) > 490
    assert 95 <= len(get_universe("sp100").tickers) <= 105
    assert 95 <= len(get_universe("nasdaq100").tickers) <= 105
    assert {"AAPL", "MSFT", "IBM", "GOOG", "SPY"} <= set(get_universe("sample10").tickers)
    assert "ON" in get_universe("sp500").tickers  # YAML 1.1 would read a bare ON as true


def test_watchlists_live_in_the_store_and_resolve_like_universes(workspace):
    from sigma_lab.universes import delete_watchlist, save_watchlist

    save_watchlist("my_tech", ["aapl", "msft"], description="mine")
    assert get_universe("my_tech").tickers == ["AAPL", "MSFT"]
    assert get_universe("my_tech").kind == "watchlist"
    save_watchlist("my_tech", ["IBM"])
    assert get_universe("my_tech").tickers == ["IBM"]
    assert "my_tech" in list_universes()
    delete_watchlist("my_tech")
    with pytest.raises(NotFoundError):
        get_universe("my_tech")
    with pytest.raises(ConfigError, match="shipped universe"):
        save_watchlist("sp500", ["AAPL"])


def test_shipped_sweep_presets_load_into_their_packs():
    zero = packs.load_pack("zerosigma").sweep_presets["threshold_by_hours"]
    swing = packs.load_pack("swingsigma").sweep_presets["sma_cross_basic"]
    assert zero.strategy is None and "long_threshold" in zero.grid
    assert swing.strategy == "sma_cross" and swing.sweep_kwargs()["grid"]["fast"][0] == 5


def test_sweep_preset_score_parameter_in_a_strategy_preset_is_an_error(tmp_path):
    pack = _base_pack(tmp_path)
    (pack / "sweep_presets").mkdir()
    (pack / "sweep_presets" / "mixed.yaml").write_text(
        "name: mixed\nstrategy: ema_cross\ngrid:\n  fast: [5]\n  long_threshold: [0.6]\n"
    )
    (problem,) = validate_packs(tmp_path)
    assert (problem.line, problem.location) == (5, "grid.long_threshold")
    assert "for strategy 'ema_cross'" in problem.message
