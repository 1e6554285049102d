"""Training runs: artifacts, model card, store rows with lineage, loading the model back."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sigma_lab
from sigma_lab.errors import ConfigError, NotFoundError, StoreError
from sigma_lab.store import Artifact, repo, session_scope
from sigma_lab.train import (
    TrainSpec,
    load_artifact,
    load_model,
    predict_proba,
    record_training,
    train,
    train_matrix,
)

MODEL_ID = "spy_eq_intraday_hourly_momentum"
LINEAGE = {"matrix_hash": "m" * 64, "config_hash": "c" * 64}


def test_training_run_is_stored_with_lineage_metrics_and_artifact(
    database_url: str, workspace: Path, spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    result = train_matrix(spy_frame, features, "label", fast_spec, horizon=1)
    record_training(result, model_id="spy_eq_intraday_hourly_test", lineage=LINEAGE, pack="testpack")
    artifact = result.artifact
    assert artifact is not None and result.run_id is not None
    expected_dir = workspace / "artifacts" / "models" / "spy_eq_intraday_hourly_test" / artifact.sha256[:16]
    assert artifact.path == expected_dir / "model.joblib"
    payload = artifact.path.read_bytes()
    assert hashlib.sha256(payload).hexdigest() == artifact.sha256 == result.model_sha256
    assert artifact.size == len(payload)
    with session_scope() as session:
        run = repo.get_training_run(session, result.run_id)
    assert run["model_id"] == "spy_eq_intraday_hourly_test" and run["pack"] == "testpack"
    assert run["status"] == "succeeded" and run["estimator"] == "hgb"
    assert run["matrix_hash"] == LINEAGE["matrix_hash"] and run["config_hash"] == LINEAGE["config_hash"]
    assert run["seed"] == fast_spec.seed and run["package_version"] == sigma_lab.__version__
    assert run["lineage"]["artifact_sha256"] == artifact.sha256 == run["artifact_sha256"]
    assert run["auc"] == pytest.approx(result.metrics["auc"])
    assert run["brier"] == pytest.approx(result.metrics["brier"])
    assert len(run["fold_metrics"]) == 4 and run["fold_metrics"][0]["fold"] == 0
    assert set(run["feature_importances"]) == set(features)
    assert run["params"]["estimator"]["params"]["max_iter"] == 25
    with session_scope() as session:
        row = session.get(Artifact, run["artifact_id"])
        assert row.sha256 == artifact.sha256 and row.size == artifact.size and row.kind == "model"


def test_model_card_describes_data_features_scheme_folds_and_lineage(
    database_url: str, spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    result = record_training(
        train_matrix(spy_frame, features, "label", fast_spec, horizon=1),
        model_id="card_model",
        lineage=LINEAGE,
    )
    directory = result.artifact.path.parent
    card = json.loads((directory / "model_card.json").read_text())
    assert card["features"] == features and card["label"] == "label" and card["horizon"] == 1
    assert card["spec"]["validation"]["scheme"] == "expanding" and card["spec"]["validation"]["n_splits"] == 4
    assert len(card["folds"]) == 4 and card["folds"][0]["train_start"].startswith("2023-")
    assert card["lineage"]["matrix_hash"] == LINEAGE["matrix_hash"]
    assert card["lineage"]["seed"] == 42 and card["model_sha256"] == result.artifact.sha256
    assert card["data"]["n_labelled"] == len(spy_frame) - 1
    markdown = (directory / "model_card.md").read_text()
    assert "# Model card: card_model" in markdown and "walk-forward `expanding`" in markdown
    assert all(f"`{f}`" in markdown for f in features)


def test_same_seed_and_inputs_give_the_same_stored_artifact_hash(
    database_url: str, spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    first = record_training(
        train_matrix(spy_frame, features, "label", fast_spec, horizon=1), model_id="det", lineage=LINEAGE
    )
    second = record_training(
        train_matrix(spy_frame, features, "label", fast_spec, horizon=1), model_id="det", lineage=LINEAGE
    )
    assert first.run_id != second.run_id
    assert first.artifact.sha256 == second.artifact.sha256 and first.artifact.path == second.artifact.path
    with session_scope() as session:
        runs = [repo.get_training_run(session, r.run_id) for r in (first, second)]
    assert runs[0]["metrics"] == runs[1]["metrics"]


def test_load_model_by_model_id_run_id_and_path_predicts_like_the_trained_model(
    database_url: str, spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    result = record_training(
        train_matrix(spy_frame, features, "label", fast_spec, horizon=1), model_id="loadme", lineage=LINEAGE
    )
    expected = predict_proba(result, spy_frame)
    for key in ("loadme", result.run_id, result.artifact.path.parent):
        loaded = load_model(key)
        assert loaded.sha256 == result.artifact.sha256 and loaded.feature_cols == features
        assert loaded.classes == [0, 1] and loaded.horizon == 1
        pd.testing.assert_frame_equal(predict_proba(loaded, spy_frame), expected)
        pd.testing.assert_frame_equal(loaded.oof, result.oof)
        assert loaded.oof_fold.equals(result.oof_fold)
    assert load_model("loadme").run_id == result.run_id
    assert np.allclose(expected.sum(axis=1), 1.0)


def test_load_model_refuses_unknown_models_and_tampered_files(
    database_url: str, spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    with pytest.raises(NotFoundError, match="no_such_model"):
        load_model("no_such_model")
    with pytest.raises(NotFoundError, match="training run 999"):
        load_model(999)
    result = record_training(
        train_matrix(spy_frame, features, "label", fast_spec, horizon=1), model_id="tamper", lineage=LINEAGE
    )
    result.artifact.path.write_bytes(result.artifact.path.read_bytes() + b"x")
    with pytest.raises(StoreError, match="was recorded"):
        load_model("tamper")
    with pytest.raises(NotFoundError):
        load_artifact(result.artifact.path.parent / "missing")


def test_predict_proba_names_missing_feature_columns(
    spy_frame: pd.DataFrame, features: list[str], fast_spec: TrainSpec
) -> None:
    result = train_matrix(spy_frame, features, "label", fast_spec, horizon=1)
    with pytest.raises(ConfigError, match="sma_gap"):
        predict_proba(result, spy_frame.drop(columns=["sma_gap"]))


@pytest.fixture
def fast_packs(tmp_path: Path) -> Path:
    """The repository's packs, with the momentum model's boosting shortened for speed."""
    root = tmp_path / "packs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "packs", root)
    config = root / "momentumsigma" / "model_configs" / f"{MODEL_ID}.yaml"
    text = config.read_text()
    assert "max_iter: 150" in text
    config.write_text(text.replace("max_iter: 150", "max_iter: 20"))
    return root


def test_train_by_model_id_builds_the_matrix_and_records_its_lineage(
    database_url: str, workspace: Path, fast_packs: Path
) -> None:
    result = train(MODEL_ID, root=fast_packs)
    manifest = json.loads((workspace / "matrices" / MODEL_ID / "manifest.json").read_text())
    assert result.feature_cols == manifest["feature_columns"] and result.horizon == manifest["horizon"]
    assert result.spec.estimator.params["max_iter"] == 20 and result.spec.validation.embargo == 3
    assert list(result.oof.columns) == ["-1", "0", "1"]
    assert 0.3 < result.metrics["auc"] < 0.7
    with session_scope() as session:
        run = repo.get_training_run(session, result.run_id)
    assert run["matrix_hash"] == manifest["lineage"]["matrix_hash"]
    assert run["config_hash"] == manifest["lineage"]["config_hash"]
    assert run["lineage"]["indicator_set_hash"] == manifest["lineage"]["indicator_set_hash"]
    assert run["build_run_id"] is not None
    again = train(MODEL_ID, root=fast_packs)
    assert again.run_id != result.run_id and again.artifact.sha256 == result.artifact.sha256
    pd.testing.assert_frame_equal(again.oof, result.oof)
    loaded = load_model(MODEL_ID)
    assert loaded.run_id == again.run_id and loaded.card["model_id"] == MODEL_ID


def test_train_of_an_unknown_model_names_it(workspace: Path) -> None:
    with pytest.raises(NotFoundError, match="no_such_model"):
        train("no_such_model")


def test_training_run_is_tied_to_its_job_and_to_the_build_that_made_its_matrix(
    workspace: Path, fast_packs: Path
) -> None:
    from sigma_lab.matrix import build_matrix

    with session_scope() as session:
        job_id = repo.create_job(session, "function", "train")
    build = build_matrix(MODEL_ID, root=fast_packs, progress=False)
    result = train(MODEL_ID, root=fast_packs, job_id=job_id)
    with session_scope() as session:
        run = repo.get_training_run(session, result.run_id)
    assert run["job_id"] == job_id and run["build_run_id"] == build.run_id
