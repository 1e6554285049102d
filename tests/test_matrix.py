"""Matrix builds: every shipped model builds from the sample data, deterministically, with QA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigma_lab import modelstore
from sigma_lab.errors import NotFoundError
from sigma_lab.matrix import MatrixQAError, build_matrix, load_matrix, matrix_hash, run_qa
from sigma_lab.packs import get_indicator_set, get_model_config, list_model_configs
from sigma_lab.store import repo, session_scope
from sigma_lab.universes import get_universe

SHIPPED = [m.model_id for m in list_model_configs()]


def _tiny_pack(
    root: Path, indicators: str, timeframe: str = "1h", model_id: str = "spy_eq_intraday_hourly"
) -> None:
    pack = root / "qa"
    (pack / "indicator_sets").mkdir(parents=True)
    (pack / "model_configs").mkdir()
    (pack / "pack.yaml").write_text(
        "name: qa\ndescription: q\nhorizon: h\ncadence: hourly\nasset_types: [etf]\n"
    )
    (pack / "indicator_sets" / "s.yaml").write_text(f"name: s\nindicators:\n{indicators}")
    (pack / "model_configs" / f"{model_id}.yaml").write_text(
        f"model_id: {model_id}\nticker: SPY\ndata: {{timeframe: {timeframe}}}\nindicator_set: s\n"
        "label: {kind: next_bar_direction}\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize("model_id", SHIPPED)
def test_every_shipped_model_builds_a_matrix_from_the_sample_data(workspace, model_id):
    result = build_matrix(model_id, progress=False)
    frame, manifest = load_matrix(model_id)
    cfg = get_model_config(model_id)
    assert result.qa_status in ("pass", "warn")
    assert result.matrix_path == workspace / "matrices" / model_id / "matrix.parquet"
    assert (result.folder / "model_card.md").read_text().startswith(f"# Model card: {model_id}")
    assert (result.folder / "model_card.json").is_file()
    assert manifest["feature_columns"] == get_indicator_set(cfg).columns()
    assert manifest["horizon"] == cfg.label.horizon
    assert manifest["rows"] == len(frame) > 0
    assert manifest["lineage"]["matrix_hash"] == result.matrix_hash
    assert set(manifest["feature_columns"] + manifest["label_columns"]) <= set(frame.columns)
    assert frame["label"].notna().sum() == manifest["label_known_rows"] > 0
    last = frame[frame["ticker"] == frame["ticker"].iloc[0]]
    assert last["label"].iloc[-cfg.label.horizon :].isna().all(), (
        "the last horizon rows are unknown, not filled"
    )
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"


def test_building_twice_from_the_same_inputs_gives_the_same_hash(workspace):
    first = build_matrix("aapl_eq_swing_daily", progress=False, store=False)
    second = build_matrix("aapl_eq_swing_daily", progress=False, store=False)
    assert first.matrix_hash == second.matrix_hash
    frame, _ = load_matrix("aapl_eq_swing_daily")
    assert matrix_hash(frame) == first.matrix_hash
    other = build_matrix("aapl_eq_swing_daily", start="2005-01-01", progress=False, store=False)
    assert other.matrix_hash != first.matrix_hash


def test_matrix_hash_changes_when_one_value_changes():
    idx = pd.date_range("2024-01-01", periods=5, tz="UTC", name="timestamp")
    frame = pd.DataFrame({"a": np.arange(5.0), "b": np.ones(5)}, index=idx)
    changed = frame.copy()
    changed.iloc[3, 1] = 1.0000001
    assert matrix_hash(frame) == matrix_hash(frame.copy())
    assert matrix_hash(frame) != matrix_hash(changed)
    assert matrix_hash(frame) != matrix_hash(frame.rename(columns={"b": "c"}))


def test_build_records_a_run_in_the_store(database_url):
    from sigma_lab.store import repo, session_scope

    result = build_matrix("aapl_eq_swing_daily_overnight", progress=False)
    with session_scope() as session:
        run = repo.get_build_run(session, result.run_id)
    assert run["status"] == "succeeded"
    assert run["matrix_hash"] == result.matrix_hash
    assert run["n_rows"] == result.rows
    assert run["pack"] == "overnightsigma"
    assert run["config_hash"] == result.manifest["lineage"]["config_hash"]


def test_universe_model_stacks_tickers_that_have_data_and_lists_the_rest(workspace):
    result = build_matrix("sample10_eq_swing_daily", progress=False, store=False)
    frame = result.frame
    built = set(frame["ticker"])
    skipped = {s["ticker"] for s in result.manifest["skipped"]}
    assert {"AAPL", "MSFT", "IBM", "GOOG"} <= built
    assert {"AMZN", "NVDA", "META"} <= skipped
    assert built | skipped == set(get_universe("sample10").tickers) and not built & skipped
    assert sorted(built) == result.manifest["tickers"]
    steps = np.diff(frame.index.as_unit("ns").asi8)
    assert (steps >= 0).all(), "stacked rows are ordered by time"
    for _, part in frame.groupby("ticker"):
        assert part.index.is_monotonic_increasing and part.index.is_unique


def test_options_flow_model_keeps_only_sessions_with_option_data(workspace):
    result = build_matrix("spy_opt_0dte_hourly_flow", progress=False, store=False)
    dates = set(result.frame.index.tz_convert("America/New_York").date.astype(str))
    assert dates == {"2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"}
    assert result.frame["option_volume_call_atm"].notna().all()


def test_intraday_matrix_keeps_only_the_configured_session(workspace):
    frame = build_matrix("spy_opt_0dte_hourly", progress=False, store=False).frame
    local = frame.index.tz_convert("America/New_York")
    minutes = local.hour * 60 + local.minute
    assert ((minutes + 60 > 9 * 60 + 30) & (minutes < 16 * 60)).all()


def test_build_fails_qa_when_a_feature_is_mostly_nan_and_records_the_failure(workspace, tmp_path):
    from sigma_lab.store import BuildRun, session_scope

    _tiny_pack(tmp_path, "  - {name: rsi}\n  - {name: dist_daily_ema, params: {period: 60}}\n")
    with pytest.raises(MatrixQAError, match="nan_share.*dist_daily_ema_60"):
        build_matrix("spy_eq_intraday_hourly", root=tmp_path, progress=False)
    assert not (workspace / "matrices" / "spy_eq_intraday_hourly" / "matrix.parquet").exists()
    with session_scope() as session:
        runs = session.query(BuildRun).filter_by(model_id="spy_eq_intraday_hourly").all()
    assert [r.status for r in runs] == ["failed"]
    assert "nan_share" in runs[0].error


def _qa_frame(n: int = 50) -> pd.DataFrame:
    idx = pd.date_range("2024-07-01 14:00", periods=n, freq="1D", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "ticker": "SPY",
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.0,
            "volume": 1000.0,
            "atr_14": 1.0,
            "rsi_14": 50.0,
            "label": 1.0,
        },
        index=idx,
    )


def _qa(frame: pd.DataFrame, tmp_path: Path) -> dict[str, str]:
    _tiny_pack(tmp_path, "  - {name: atr}\n  - {name: rsi}\n", timeframe="1d", model_id="spy_eq_swing_daily")
    cfg = get_model_config("spy_eq_swing_daily", tmp_path)
    checks = run_qa(frame, ["atr_14", "rsi_14"], cfg=cfg, iset=get_indicator_set(cfg, tmp_path))
    return {c["check"]: c["status"] for c in checks}


def test_qa_passes_a_clean_matrix(tmp_path):
    assert set(_qa(_qa_frame(), tmp_path).values()) == {"pass"}


def test_qa_warns_at_ten_percent_nan_and_fails_at_thirty(tmp_path):
    frame = _qa_frame()
    frame.iloc[:5, frame.columns.get_loc("rsi_14")] = np.nan
    assert _qa(frame, tmp_path)["nan_share"] == "warn"
    frame.iloc[:15, frame.columns.get_loc("rsi_14")] = np.nan
    assert _qa(frame, tmp_path / "again")["nan_share"] == "fail"


def test_qa_fails_negative_volume_or_atr_and_unordered_timestamps(tmp_path):
    frame = _qa_frame()
    frame.iloc[3, frame.columns.get_loc("atr_14")] = -0.5
    frame = frame.iloc[[0, 2, 1, *range(3, len(frame))]]
    result = _qa(frame, tmp_path)
    assert result["non_negative"] == "fail"
    assert result["timestamps_monotonic"] == "fail"


def test_load_matrix_refuses_a_file_that_no_longer_matches_its_manifest(workspace):
    from sigma_lab.errors import ConfigError, NotFoundError

    result = build_matrix("aapl_eq_swing_daily_overnight", progress=False, store=False)
    frame = pd.read_parquet(result.matrix_path)
    frame.iloc[0, frame.columns.get_loc("close")] += 1.0
    frame.to_parquet(result.matrix_path)
    with pytest.raises(ConfigError, match="does not match its manifest"):
        load_matrix("aapl_eq_swing_daily_overnight")
    with pytest.raises(NotFoundError, match="sigma-lab build"):
        load_matrix("msft_eq_long_daily_63d")


def test_the_build_run_is_tied_to_the_job_it_ran_in(workspace):
    with session_scope() as session:
        job_id = repo.create_job(session, "function", "build")
    result = build_matrix("aapl_eq_swing_daily", progress=False, job_id=job_id)
    with session_scope() as session:
        assert repo.get_build_run(session, result.run_id)["job_id"] == job_id


def test_a_model_created_over_the_api_builds_from_the_sample_data(workspace):
    with session_scope() as session:
        created = modelstore.create_model(
            session, pack="swingsigma", ticker="MSFT", asset_type="equity", horizon="swing",
            cadence="daily", variant="api",
        )
    model_id = created["model_id"]
    cfg = get_model_config(model_id)
    assert cfg.ticker == "MSFT" and cfg.pack == "swingsigma"
    result = build_matrix(model_id, progress=False)
    frame, manifest = load_matrix(model_id)
    assert result.qa_status in ("pass", "warn")
    assert manifest["tickers"] == ["MSFT"] and frame["ticker"].unique().tolist() == ["MSFT"]
    assert manifest["rows"] == len(frame) > 0
    assert manifest["feature_columns"] == get_indicator_set(cfg).columns()
    with session_scope() as session:
        assert repo.get_build_run(session, result.run_id)["model_id"] == model_id


def test_an_unknown_model_is_looked_for_in_the_packs_and_the_store(workspace):
    with pytest.raises(NotFoundError, match="zzz_eq_swing_daily.*nor in the store"):
        get_model_config("zzz_eq_swing_daily")
