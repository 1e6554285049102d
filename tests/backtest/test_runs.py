"""Stored, re-runnable backtests: trained models on out-of-fold scores, strategies, the store."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from sigma_lab import data
from sigma_lab.backtest import run, run_scores
from sigma_lab.backtest.runs import (
    LineageMismatchError,
    ModelBacktest,
    backtest_command,
    backtest_strategy,
    format_report,
    ledger_rows,
    parse_settings,
    record_backtest,
    rerun,
    run_model,
)
from sigma_lab.errors import BarValidationError, ConfigError
from sigma_lab.matrix import build_matrix, load_matrix
from sigma_lab.store import BacktestFold, BacktestRun, Trade, repo, session_scope
from sigma_lab.train import load_model, train

MODEL_ID = "spy_eq_intraday_hourly_momentum"
LEDGER_COLUMNS = ["entry_time", "exit_time", "entry_price", "exit_price", "side", "size", "pnl", "return",
                  "fees", "exit_reason", "bars_held"]


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread() -> Iterator[None]:
    """One OpenMP thread per fit: the machine's cores are shared (see tests/train/conftest.py)."""
    with threadpool_limits(limits=1):
        yield


def _train() -> int:
    build_matrix(MODEL_ID, progress=False)
    result = train(MODEL_ID)
    assert result.run_id is not None
    return result.run_id


@pytest.fixture
def trained(workspace: Path) -> int:
    """The shipped SPY hourly momentum model, built from sample data and trained (SQLite)."""
    return _train()


@pytest.fixture
def trained_db(database_url: str) -> int:
    """The same model trained into the parametrized database (SQLite and PostgreSQL)."""
    return _train()


def _counts() -> tuple[int, int, int]:
    with session_scope() as session:
        runs, folds, trades = (
            session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (BacktestRun, BacktestFold, Trade)
        )
    return runs, folds, trades


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in metrics.items()}


def _oof_scores() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The matrix bars, out-of-fold class probabilities (named by class) and folds of the model."""
    frame, manifest = load_matrix(MODEL_ID)
    model = load_model(MODEL_ID)
    scores = model.oof.rename(columns=manifest["classes"])
    return frame[["open", "high", "low", "close", "volume"]], scores, model.oof_fold


def _assert_ledger_equal(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    expected = ledger_rows(expected).reset_index(drop=True)
    assert len(stored) == len(expected)
    for column in LEDGER_COLUMNS:
        if column in ("entry_time", "exit_time"):
            assert (pd.DatetimeIndex(stored[column]) == pd.DatetimeIndex(expected[column])).all(), column
        else:
            assert stored[column].tolist() == expected[column].tolist(), column


# --- model backtests ------------------------------------------------------------------------------------


def test_model_backtest_never_asks_the_trained_model_to_predict(
    trained: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("run_model called the final model: in-sample predictions leaked in")

    monkeypatch.setattr(HistGradientBoostingClassifier, "predict_proba", refuse)
    monkeypatch.setattr(HistGradientBoostingClassifier, "predict", refuse)
    monkeypatch.setattr("sigma_lab.train.predict_proba", refuse)
    monkeypatch.setattr("sigma_lab.train.artifacts.predict_proba", refuse)
    result = run_model(MODEL_ID, store=False)
    assert result.training_run_id == trained
    assert len(result.fold_results) == 4


def test_combined_model_backtest_equals_run_scores_on_the_out_of_fold_rows(trained: int) -> None:
    result = run_model(MODEL_ID, store=False)
    bars, scores, fold = _oof_scores()
    scored = np.flatnonzero(fold.notna().to_numpy())
    lo, hi = scored[0], scored[-1] + 1
    settings = result.combined.settings.model_dump()
    expected = run_scores(bars.iloc[lo:hi], scores.iloc[lo:hi], **result.params["score"], **settings)
    assert result.combined.metrics == pytest.approx(expected.metrics, nan_ok=True, rel=0, abs=0)
    assert result.combined.trades.equals(expected.trades)
    assert result.combined.bars.index.equals(bars.index[lo:hi])


def test_changing_the_out_of_fold_scores_changes_the_backtest(trained: int) -> None:
    before = run_model(MODEL_ID, store=False)
    model = load_model(MODEL_ID)
    oof_file = model.path.parent / "oof.parquet"
    frame = pd.read_parquet(oof_file)
    flipped = frame.copy()
    flipped["-1"], flipped["1"] = frame["1"], frame["-1"]
    flipped.to_parquet(oof_file)
    after = run_model(MODEL_ID, store=False)
    assert not after.combined.trades.equals(before.combined.trades)


def test_fold_backtests_cover_exactly_the_fold_test_spans_starting_flat(trained: int) -> None:
    result = run_model(MODEL_ID, store=False)
    bars, _, fold = _oof_scores()
    fold_of = fold.to_numpy(dtype="float64", na_value=np.nan)
    assert list(result.folds["fold"]) == [0, 1, 2, 3]
    for k, fold_result in enumerate(result.fold_results):
        rows = np.flatnonzero(fold_of == k)
        span = bars.index[rows[0] : rows[-1] + 1]
        assert fold_result.bars.index.equals(span)
        inside = fold_of[rows[0] : rows[-1] + 1]
        assert set(inside[~np.isnan(inside)]) == {k}
        row = result.folds.iloc[k]
        assert row["test_start"] == span[0] and row["test_end"] == span[-1]
        assert row["n_test"] == len(rows) and row["bars"] == len(span)
        assert fold_result.positions.iloc[0] == 0
        assert fold_result.equity.iloc[0] == fold_result.settings.init_cash
        trades = fold_result.trades
        assert ((trades["entry_time"] >= span[0]) & (trades["exit_time"] <= span[-1])).all()
        assert row["trades"] == fold_result.metrics["trades"]
    card_folds = load_model(MODEL_ID).card["folds"]
    assert [str(t.isoformat()) for t in result.folds["train_end"]] == [f["train_end"] for f in card_folds]


def test_model_defaults_come_from_the_config_and_keywords_override_them(trained: int) -> None:
    default = run_model(MODEL_ID, store=False, fold_by_fold=False)
    settings = default.combined.settings
    assert (settings.fill, settings.direction, settings.fees_bps, settings.time_stop) == (
        "next_open", "both", 5.0, 3
    )
    assert default.params["score"]["long_threshold"] == default.params["score"]["short_threshold"] == 0.55
    assert default.folds.empty and default.fold_results == ()
    tuned = run_model(MODEL_ID, store=False, fold_by_fold=False, fees_bps=0.0, long_threshold=0.6,
                      direction="long")
    assert tuned.combined.settings.fees_bps == 0.0 and tuned.combined.settings.direction == "long"
    assert tuned.params["score"]["long_threshold"] == 0.6
    assert (tuned.combined.trades["side"] == 1).all()


def test_gate_verdict_and_ranking_score_come_with_the_model_backtest(trained: int) -> None:
    result = run_model(MODEL_ID, store=False, risk_profile="aggressive")
    assert result.gate.profile == "aggressive"
    assert result.gate.passed == (not result.gate.reasons)
    assert result.score["metric"] == "sharpe" and result.score["value"] == result.combined.metrics["sharpe"]
    assert result.score["eligible"] == (result.combined.metrics["trades"] >= 10)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"bogus": 1}, "bogus"),
        ({"fees_bps": -1.0}, "fees_bps"),
        ({"stop_loss": 0.0}, "stop_loss"),
        ({"long_threshold": 1.5}, "long_threshold"),
        ({"risk_profile": "reckless"}, "risk_profile"),
    ],
)
def test_invalid_model_backtest_settings_raise_one_error_naming_them(
    kwargs: dict[str, Any], named: str, workspace: Path
) -> None:
    with pytest.raises(ConfigError, match=named):
        run_model(MODEL_ID, **kwargs)


def test_universe_models_are_single_ticker_only_for_now(workspace: Path) -> None:
    build_matrix("sample10_eq_swing_daily", progress=False)
    with pytest.raises(ConfigError, match="single-ticker only"):
        run_model("sample10_eq_swing_daily")


def test_model_backtest_refuses_a_matrix_rebuilt_after_training(trained: int) -> None:
    build_matrix(MODEL_ID, start="2023-02-01", progress=False)
    with pytest.raises(LineageMismatchError, match="not the one training run"):
        run_model(MODEL_ID, store=False)


# --- storing and re-running ------------------------------------------------------------------------------


def test_stored_model_run_round_trips_and_reruns_exactly(trained_db: int) -> None:
    result = run_model(MODEL_ID, tag="t1", risk_profile="balanced")
    assert isinstance(result, ModelBacktest) and result.run_id is not None
    with session_scope() as session:
        row = repo.get_backtest_run(session, result.run_id)
    assert row["model_id"] == MODEL_ID and row["pack"] == "momentumsigma" and row["tag"] == "t1"
    assert row["training_run_id"] == trained_db and row["risk_profile"] == "balanced"
    assert row["metrics"] == _plain(result.combined.metrics)
    assert row["gate_pass"] == result.gate.passed and row["gate_reasons"] == result.gate.reasons
    assert row["sharpe"] == result.combined.metrics["sharpe"] and row["trades"] == len(
        result.combined.trades[result.combined.trades["exit_reason"] != "end"]
    )
    assert row["params"]["kind"] == "model" and row["params"]["execution"]["periods_per_year"] > 0
    assert row["seed"] == 42 and row["ticker"] == "SPY" and row["timeframe"] == "1h"
    lineage = row["lineage"]
    model = load_model(MODEL_ID)
    assert lineage["model_sha256"] == model.sha256
    assert lineage["matrix_hash"] == load_matrix(MODEL_ID)[1]["lineage"]["matrix_hash"]
    assert {"bars_hash", "config_hash", "package_version", "settings_hash"} <= set(lineage)
    assert [f["fold"] for f in row["folds"]] == [0, 1, 2, 3]
    for stored, expected in zip(row["folds"], result.folds.to_dict(orient="records"), strict=True):
        assert stored["test_start"] == expected["test_start"] and stored["test_end"] == expected["test_end"]
        assert stored["n_test"] == expected["n_test"] and stored["n_train"] == expected["n_train"]
        assert stored["trades"] == expected["trades"]
    ledger = row["ledger"]
    _assert_ledger_equal(ledger, result.combined.trades)
    starts = [s for s, _ in result.fold_spans]
    entries = pd.DatetimeIndex(ledger["entry_time"])
    expected_folds = pd.DatetimeIndex(starts).searchsorted(entries, "right") - 1
    assert ledger["fold"].tolist() == expected_folds.tolist() and (ledger["ticker"] == "SPY").all()

    again = rerun(result.run_id)
    assert _plain(again.metrics) == row["metrics"]
    _assert_ledger_equal(ledger, again.trades)
    assert again.equity.equals(result.combined.equity)


def test_stored_strategy_run_round_trips_and_reruns_exactly(database_url: str) -> None:
    result = backtest_strategy("AAPL", "sma_cross", start="2005-01-01", end="2012-12-31", fast=10, slow=30,
                               fees_bps=2.0, stop_loss=0.05, tag="sma")
    with session_scope() as session:
        row = repo.get_backtest_run(session, result.run_id)
    assert row["strategy"] == "sma_cross" and row["ticker"] == "AAPL" and row["timeframe"] == "1d"
    assert row["params"]["strategy_params"] == {"fast": 10, "slow": 30}
    assert row["params"]["bars"]["source"] == "sample" and row["params"]["bars"]["start"] == "2005-01-01"
    assert row["params"]["execution"]["fees_bps"] == 2.0 and row["params"]["execution"]["stop_loss"] == 0.05
    assert row["lineage"]["bars_hash"] == result.lineage["bars_hash"]
    assert row["metrics"] == _plain(result.metrics) and row["folds"] == []
    _assert_ledger_equal(row["ledger"], result.result.trades)
    again = rerun(result.run_id)
    assert _plain(again.metrics) == row["metrics"]
    _assert_ledger_equal(row["ledger"], again.trades)


def test_rerun_refuses_bars_that_changed_since_the_run(workspace: Path) -> None:
    path = workspace / "aapl.csv"
    data.load("AAPL", "1d", "2010-01-01", "2012-12-31").reset_index().to_csv(path, index=False)
    result = backtest_strategy("AAPL", "sma_cross", source="csv", source_options={"path": str(path)},
                               fast=5, slow=20)
    assert _plain(rerun(result.run_id).metrics) == _plain(result.metrics)
    frame = pd.read_csv(path)
    frame.loc[100, ["close", "high"]] = frame.loc[100, "high"] * 1.01
    frame.to_csv(path, index=False)
    with pytest.raises(LineageMismatchError, match="bars of AAPL changed"):
        rerun(result.run_id)


def test_signal_runs_are_stored_but_cannot_be_rerun(workspace: Path) -> None:
    bars = data.load("AAPL", "1d", "2012-01-01", "2012-12-31")
    entries = np.zeros(len(bars), dtype=bool)
    exits = np.zeros(len(bars), dtype=bool)
    entries[[5, 60]], exits[[30, 90]] = True, True
    result = run(bars, entries, exits)
    run_id = record_backtest(result, kind="signals", params={"note": "hand-made"}, lineage={})
    assert _counts() == (1, 0, 2)
    with pytest.raises(ConfigError, match="signals run"):
        rerun(run_id)


# --- nothing half-written --------------------------------------------------------------------------------


def _write_csv(path: Path, bars: pd.DataFrame) -> Path:
    bars.reset_index().to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"fast": 30, "slow": 30}, ConfigError, "fast must be < slow"),
        ({"fees_bps": -1.0}, ConfigError, "fees_bps"),
        ({"stop_loss": 0.0}, ConfigError, "stop_loss"),
        ({"stop_loss": -0.1}, ConfigError, "stop_loss"),
        ({"window": 3}, ConfigError, "window"),
        ({"strategy": "moon_phase"}, ConfigError, "moon_phase"),
        ({"risk_profile": "reckless"}, ConfigError, "risk_profile"),
        ({"bad_bars": True}, BarValidationError, "high"),
    ],
)
def test_invalid_settings_raise_before_anything_is_written(
    database_url: str, tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], named: str
) -> None:
    kwargs = dict(kwargs)
    strategy = kwargs.pop("strategy", "sma_cross")
    if kwargs.pop("bad_bars", False):
        bars = data.load("AAPL", "1d", "2012-01-01", "2012-12-31").copy()
        bars.iloc[10, bars.columns.get_loc("high")] = bars["low"].iloc[10] * 0.5
        kwargs["source"] = "csv"
        kwargs["source_options"] = {"path": str(_write_csv(tmp_path / "bad.csv", bars))}
    backtest_strategy("AAPL", "sma_cross", fast=5, slow=20)
    before = _counts()
    with pytest.raises(error, match=named):
        backtest_strategy("AAPL", strategy, **kwargs)
    assert _counts() == before


def test_a_failure_while_writing_leaves_nothing(trained_db: int, monkeypatch: pytest.MonkeyPatch) -> None:
    run_model(MODEL_ID)
    before = _counts()
    assert before[0] == 1 and before[1] == 4 and before[2] > 0
    original = repo.insert_trades

    def half_then_fail(session: Any, run_id: int, trades: Any, **kwargs: Any) -> int:
        original(session, run_id, trades, **kwargs)
        raise RuntimeError("disk full while writing the ledger")

    monkeypatch.setattr(repo, "insert_trades", half_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        run_model(MODEL_ID)
    assert _counts() == before


# --- reports and the command ------------------------------------------------------------------------------


def test_format_report_shows_metrics_folds_and_the_gate_verdict(trained: int) -> None:
    result = run_model(MODEL_ID, store=False)
    text = format_report(result)
    assert f"model {MODEL_ID}" in text and f"training run {trained}" in text
    for key in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate"):
        assert key in text
    verdict = "PASS" if result.gate.passed else "FAIL (" + ", ".join(result.gate.reasons) + ")"
    assert f"Gate (balanced): {verdict}" in text
    fold_lines = [line for line in text.splitlines() if line.strip().startswith(("0 ", "1 ", "2 ", "3 "))]
    assert len(fold_lines) == 4
    plain = format_report(result.combined, risk_profile="aggressive")
    assert "Gate (aggressive)" in plain


def test_backtest_command_runs_a_strategy_or_a_model_from_key_value_settings(trained: int) -> None:
    out, text = backtest_command("AAPL", strategy="sma_cross", settings=["fast=5", "slow=20", "fees_bps=1"],
                                 start="2011-01-01", store=False)
    assert out.result.params == {"strategy": "sma_cross", "fast": 5, "slow": 20}
    assert out.result.settings.fees_bps == 1.0 and "Backtest of sma_cross on AAPL 1d" in text
    model_out, model_text = backtest_command(MODEL_ID, settings=["allowed_hours=[10, 11, 12]"])
    assert model_out.params["score"]["allowed_hours"] == [10, 11, 12]
    assert f"Stored as backtest run {model_out.run_id}" in model_text
    with pytest.raises(ConfigError, match="timeframe applies to strategy"):
        backtest_command(MODEL_ID, timeframe="1h")
    with pytest.raises(ConfigError, match="key=value"):
        parse_settings(["fast"])


def test_strategy_and_model_runs_are_tied_to_their_job(trained: int) -> None:
    with session_scope() as session:
        job_id = repo.create_job(session, "function", "backtest")
    strategy = backtest_strategy("AAPL", "sma_cross", start="2010-01-01", end="2012-12-31", fast=10, slow=30,
                                 model_id="aapl_eq_swing_daily", job_id=job_id)
    model = run_model(MODEL_ID, job_id=job_id)
    untied = backtest_strategy("AAPL", "sma_cross", start="2010-01-01", end="2012-12-31", fast=10, slow=30)
    with session_scope() as session:
        rows = {r.id: r for r in session.scalars(sa.select(BacktestRun))}
    assert rows[strategy.run_id].job_id == rows[model.run_id].job_id == job_id
    assert rows[strategy.run_id].model_id == "aapl_eq_swing_daily"
    assert rows[untied.run_id].job_id is None and rows[untied.run_id].model_id is None
