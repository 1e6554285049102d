"""train_matrix: honest out-of-fold scores, calibration inside folds, determinism, errors."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from sigma_lab.errors import ConfigError
from sigma_lab.train import EstimatorSpec, TrainSpec, make_estimator, predict_proba, train_matrix


def test_spy_direction_model_reports_sensible_out_of_fold_metrics(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    result = train_matrix(spy_frame, features, "label", fast_spec, horizon=1)
    m = result.metrics
    assert m["n_labelled"] == len(spy_frame) - 1 and m["n_folds"] == 4
    assert 0.35 < m["auc"] < 0.65
    assert 0.6 < m["log_loss"] < 1.0
    assert 0.2 < m["brier"] < 0.35
    assert 0.3 < m["accuracy"] < 0.7
    assert m["class_balance"]["1"] == pytest.approx(spy_frame["label"].mean())
    # the OOF frame is indexed like the matrix, NaN before the first test fold and on the unlabelled row
    assert result.oof.index.equals(spy_frame.index) and list(result.oof.columns) == ["0", "1"]
    scored = result.oof.notna().all(axis=1)
    assert scored.sum() == m["n_oof"] and np.allclose(result.oof[scored].sum(axis=1), 1.0)
    assert not scored.iloc[0] and not scored.iloc[-1]
    assert result.oof_fold[scored].notna().all() and result.oof_fold[~scored].isna().all()
    # the pooled OOF AUC is what sklearn computes on the same rows
    y = spy_frame["label"][scored]
    assert m["auc"] == pytest.approx(roc_auc_score(y, result.oof["1"][scored]))
    folds = result.folds
    assert list(folds["fold"]) == [0, 1, 2, 3]
    assert (folds["train_end"] < folds["test_start"]).all()
    assert {"auc", "log_loss", "brier", "accuracy", "balance_0", "balance_1"} <= set(folds.columns)
    assert set(result.importances["feature"]) == set(features)
    assert (result.importances["method"] == "permutation").all()


def test_same_seed_and_inputs_give_the_same_model_bytes_and_scores(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    spec = fast_spec.model_copy(
        update={"calibration": fast_spec.calibration.model_copy(update={"method": "sigmoid"})}
    )
    first = train_matrix(spy_frame, features, "label", spec, horizon=1)
    second = train_matrix(spy_frame, features, "label", spec, horizon=1)
    assert first.model_sha256 == second.model_sha256
    pd.testing.assert_frame_equal(first.oof, second.oof)
    pd.testing.assert_frame_equal(first.folds, second.folds)
    pd.testing.assert_frame_equal(first.importances, second.importances)


def test_a_feature_equal_to_the_future_label_is_caught_but_noise_scores_half_out_of_fold(
    spy_frame: pd.DataFrame,
) -> None:
    frame = spy_frame.copy()
    frame["leak"] = frame["label"]
    frame["noise"] = np.random.default_rng(7).normal(size=len(frame))
    deep = TrainSpec.model_validate(
        {"estimator": {"params": {"max_iter": 200, "max_leaf_nodes": 63, "min_samples_leaf": 2}}}
    )
    leaked = train_matrix(frame, ["leak"], "label", deep, horizon=1)
    assert leaked.metrics["auc"] > 0.99
    noise = train_matrix(frame, ["noise"], "label", deep, horizon=1)
    assert abs(noise.metrics["auc"] - 0.5) < 0.07
    # the same noise model scored on its own training rows looks skilful: only OOF is honest
    labelled = frame["label"].notna()
    in_sample = predict_proba(noise, frame[labelled])["1"]
    assert roc_auc_score(frame.loc[labelled, "label"], in_sample) > 0.75


def test_calibrator_is_fit_on_training_rows_only(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    spec = fast_spec.model_copy(
        update={"calibration": fast_spec.calibration.model_copy(update={"method": "isotonic"})}
    )
    result = train_matrix(spy_frame, features, "label", spec, horizon=1)
    times = spy_frame.index
    for record in result.fold_records:
        assert len(record.calibration) == spec.calibration.cv
        train = set(record.train_idx)
        for fit_idx, calib_idx in record.calibration:
            assert set(fit_idx) <= train and set(calib_idx) <= train
            assert not (set(fit_idx) | set(calib_idx)) & set(record.test_idx)
            assert times[calib_idx].max() < times[record.test_idx].min()
            assert times[fit_idx].max() < times[calib_idx].min()


def test_changing_labels_from_a_fold_onwards_leaves_that_folds_scores_unchanged(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    spec = fast_spec.model_copy(
        update={"calibration": fast_spec.calibration.model_copy(update={"method": "sigmoid"})}
    )
    base = train_matrix(spy_frame, features, "label", spec, horizon=1)
    fold = base.fold_records[1]
    start = spy_frame.index[fold.test_idx].min()
    poisoned = spy_frame.copy()
    future = (poisoned.index >= start) & poisoned["label"].notna()
    poisoned.loc[future, "label"] = 1.0 - poisoned.loc[future, "label"]
    changed = train_matrix(poisoned, features, "label", spec, horizon=1)
    for k in (0, 1):
        rows = base.fold_records[k].test_idx
        pd.testing.assert_frame_equal(base.oof.iloc[rows], changed.oof.iloc[rows])
    later = base.fold_records[2].test_idx
    assert not np.allclose(base.oof.iloc[later], changed.oof.iloc[later])


def test_unknown_hyperparameter_is_a_config_error_naming_it(
    spy_frame: pd.DataFrame, features: list[str]
) -> None:
    with pytest.raises(ConfigError, match="max_iters"):
        make_estimator(EstimatorSpec(kind="hgb", params={"max_iters": 10}), seed=1)
    spec = TrainSpec.model_validate({"estimator": {"kind": "logreg", "params": {"alpha": 1.0}}})
    with pytest.raises(ConfigError, match="alpha"):
        train_matrix(spy_frame, features, "label", spec, horizon=1)
    with pytest.raises(ConfigError, match="learning_rate"):
        make_estimator(EstimatorSpec(kind="hgb", params={"learning_rate": -1.0}), seed=1)


def test_configured_hyperparameters_and_seed_reach_the_estimator() -> None:
    est = make_estimator(EstimatorSpec(kind="hgb", params={"max_iter": 25}), seed=11)
    assert est.get_params()["max_iter"] == 25 and est.get_params()["random_state"] == 11
    pipe = make_estimator(EstimatorSpec(kind="logreg", params={"C": 0.5}), seed=3)
    assert [name for name, _ in pipe.steps] == ["impute", "scale", "model"]
    assert pipe.get_params()["model__C"] == 0.5 and pipe.get_params()["model__random_state"] == 3


def test_logreg_reports_native_importances_and_handles_missing_features(
    spy_frame: pd.DataFrame, features: list[str]
) -> None:
    frame = spy_frame.copy()
    frame.iloc[::7, 0] = np.nan
    spec = TrainSpec.model_validate({"estimator": {"kind": "logreg"}, "validation": {"n_splits": 3}})
    result = train_matrix(frame, features, "label", spec, horizon=1)
    assert (result.importances["method"] == "native").all()
    assert result.oof.notna().all(axis=1).sum() == result.metrics["n_oof"]


def test_three_class_labels_get_one_probability_column_per_class(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    frame = spy_frame.copy()
    move = frame["ret_1"].shift(-1)
    frame["label"] = np.select([move > 0.001, move < -0.001], [1.0, -1.0], 0.0)
    frame.loc[move.isna(), "label"] = np.nan
    result = train_matrix(frame, features, "label", fast_spec, horizon=1)
    assert list(result.oof.columns) == ["-1", "0", "1"] and result.classes == [-1, 0, 1]
    scored = result.oof.dropna()
    assert np.allclose(scored.sum(axis=1), 1.0)
    assert 0.3 < result.metrics["auc"] < 0.7 and set(result.metrics["class_balance"]) == {"-1", "0", "1"}


def test_stacked_universe_matrix_trains_by_timestamp(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    a = spy_frame.reset_index().assign(ticker="AAA")
    b = spy_frame.reset_index().assign(ticker="BBB")
    stacked = pd.concat([a, b], ignore_index=True)
    result = train_matrix(stacked, features, "label", fast_spec, horizon=1)
    for record in result.fold_records:
        train_t = stacked["timestamp"].iloc[record.train_idx]
        test_t = stacked["timestamp"].iloc[record.test_idx]
        assert train_t.max() < test_t.min()
        assert (stacked["ticker"].iloc[record.test_idx].value_counts() == len(test_t) / 2).all()
    assert result.oof.index.equals(stacked.index)


def test_unlabelled_rows_take_no_part(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    frame = spy_frame.copy()
    frame.iloc[500:520, frame.columns.get_loc("label")] = np.nan
    result = train_matrix(frame, features, "label", fast_spec, horizon=1)
    assert result.oof.iloc[500:520].isna().all().all()
    for record in result.fold_records:
        assert not set(range(500, 520)) & (set(record.train_idx) | set(record.test_idx))


@pytest.mark.parametrize(
    ("columns", "label", "message"),
    [
        (["nope"], "label", "'nope'"),
        (["ret_1"], "missing_label", "missing_label"),
        (["word"], "label", "'word' is not numeric"),
        (["ret_1"], "one_class", "1 class"),
        (["ret_1"], "ret_3", "'ret_3' holds non-integer values"),
    ],
)
def test_bad_columns_are_config_errors_naming_them(
    spy_frame: pd.DataFrame, fast_spec: TrainSpec, columns: list[str], label: str, message: str
) -> None:
    frame = spy_frame.assign(word="x", one_class=1.0)
    with pytest.raises(ConfigError, match=message):
        train_matrix(frame, columns, label, fast_spec, horizon=1)


def test_lightgbm_is_used_when_installed(spy_frame: pd.DataFrame, features: list[str]) -> None:
    pytest.importorskip("lightgbm")
    spec = TrainSpec.model_validate(
        {
            "estimator": {"kind": "lightgbm", "params": {"n_estimators": 20, "num_leaves": 7}},
            "validation": {"n_splits": 2},
        }
    )
    first = train_matrix(spy_frame, features, "label", spec, horizon=1)
    second = train_matrix(spy_frame, features, "label", spec, horizon=1)
    assert (first.importances["method"] == "native").all()
    pd.testing.assert_frame_equal(first.oof, second.oof)


def test_asking_for_a_missing_optional_estimator_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(ConfigError, match="pip install xgboost"):
        make_estimator(EstimatorSpec(kind="xgboost"), seed=1)


@pytest.mark.parametrize("kind", ["xgboost", "lightgbm"])
def test_optional_boosters_honour_hyperparameters_and_reject_unknown_ones(kind) -> None:
    pytest.importorskip(kind)
    est = make_estimator(EstimatorSpec(kind=kind, params={"n_estimators": 7, "max_depth": 3}), seed=5)
    params = est.get_params()
    assert params["n_estimators"] == 7 and params["max_depth"] == 3
    with pytest.raises(ConfigError, match="no_such_knob"):
        make_estimator(EstimatorSpec(kind=kind, params={"no_such_knob": 1}), seed=5)
