"""Model files: writing a trained model with its card and out-of-fold scores, loading it back.

A model directory (``<workspace>/artifacts/models/<model_id>/<sha256[:16]>/``) holds:

- ``model.joblib``: the fitted estimator with its feature columns, classes, label and horizon;
- ``oof.parquet``: the out-of-fold probabilities (one column per class) and the ``fold``
  that scored each row, indexed like the matrix; backtests of the model use these;
- ``model_card.json`` and ``model_card.md``: data, features, CV scheme, metrics per fold,
  importances and lineage.

The directory is named by the model file's hash, so the same model is written once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.base import BaseEstimator

from sigma_lab.errors import ConfigError, NotFoundError, StoreError
from sigma_lab.store.types import to_jsonable
from sigma_lab.train.core import Artifact, TrainResult

MODEL_FILE = "model.joblib"
OOF_FILE = "oof.parquet"
CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"


@dataclass
class TrainedModel:
    """A model loaded from its artifact: the estimator and what is needed to use it."""

    model: BaseEstimator
    feature_cols: list[str]
    classes: list[Any]
    label_col: str
    horizon: int
    path: Path
    sha256: str
    card: dict[str, Any] = field(default_factory=dict)
    oof: pd.DataFrame | None = None
    oof_fold: pd.Series | None = None
    run_id: int | None = None
    model_id: str | None = None


def model_card(result: TrainResult, *, model_id: str | None, lineage: dict[str, Any]) -> dict[str, Any]:
    """The model card as a JSON-safe dict."""
    return to_jsonable(
        {
            "model_id": model_id,
            "estimator": result.spec.estimator.kind,
            "label": result.label_col,
            "horizon": result.horizon,
            "classes": result.classes,
            "features": result.feature_cols,
            "spec": result.spec.model_dump(mode="json"),
            "data": {
                "n_rows": result.metrics["n_rows"],
                "n_labelled": result.metrics["n_labelled"],
                "n_oof": result.metrics["n_oof"],
                "class_balance": result.metrics["class_balance"],
            },
            "metrics": {k: v for k, v in result.metrics.items() if k != "class_balance"},
            "folds": result.folds.to_dict(orient="records"),
            "importances": result.importances.to_dict(orient="records"),
            "lineage": lineage,
            "model_sha256": result.model_sha256,
        }
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown for people."""
    spec = card["spec"]
    validation = spec["validation"]
    lines = [
        f"# Model card: {card['model_id'] or 'unnamed model'}",
        "",
        f"- Estimator: `{card['estimator']}`, params `{spec['estimator']['params']}`, seed {spec['seed']}",
        f"- Label: `{card['label']}` (horizon {card['horizon']} bars), classes {card['classes']}",
        f"- Features ({len(card['features'])}): {', '.join(f'`{f}`' for f in card['features'])}",
        f"- Data: {card['data']['n_rows']} rows, {card['data']['n_labelled']} labelled, "
        f"{card['data']['n_oof']} scored out of fold; class balance {card['data']['class_balance']}",
        f"- Validation: walk-forward `{validation['scheme']}`, {validation['n_splits']} folds, "
        f"min_train {validation['min_train']}, test_size {validation['test_size']}, "
        f"purge {validation['purge'] if validation['purge'] is not None else card['horizon']}, "
        f"embargo {validation['embargo']}",
        f"- Calibration: {spec['calibration']['method'] or 'none'}",
        f"- Model file sha256: `{card['model_sha256']}`",
        "",
        "## Out-of-fold metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in card["metrics"].items()]
    columns = ["fold", "n_train", "n_test", "train_start", "train_end", "test_start", "test_end"]
    columns += ["auc", "log_loss", "brier", "accuracy"]
    lines += ["", "## Folds", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |" for row in card["folds"]]
    lines += ["", "## Feature importances", "", "| feature | importance | method |", "|---|---|---|"]
    lines += [f"| {r['feature']} | {_fmt(r['importance'])} | {r['method']} |" for r in card["importances"]]
    lines += ["", "## Lineage", ""]
    lines += [f"- {k}: `{v}`" for k, v in card["lineage"].items()]
    return "\n".join(lines) + "\n"


def save_artifacts(
    result: TrainResult, root: Path, *, model_id: str | None = None, lineage: dict[str, Any] | None = None
) -> Artifact:
    """Write the model file, out-of-fold scores and model card under ``root/<sha256[:16]>/``.

    Returns the model file's :class:`Artifact` (path, sha256, size).
    """
    payload = result.model_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    directory = Path(root) / digest[:16]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    path.write_bytes(payload)
    oof = result.oof.copy()
    oof["fold"] = result.oof_fold
    oof.to_parquet(directory / OOF_FILE)
    card = model_card(result, model_id=model_id, lineage=dict(lineage or {}))
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    (directory / CARD_MD).write_text(card_markdown(card))
    return Artifact(path=path, sha256=digest, size=len(payload))


def load_artifact(path: str | Path, *, expected_sha256: str | None = None) -> TrainedModel:
    """Load a model from its directory or ``model.joblib``; check the hash when one is given."""
    file = Path(path)
    if file.is_dir():
        file = file / MODEL_FILE
    if not file.is_file():
        raise NotFoundError(f"model file {file} does not exist")
    payload = file.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise StoreError(f"model file {file} has sha256 {digest}, but {expected_sha256} was recorded")
    bundle = joblib.load(file)
    if not isinstance(bundle, dict) or "model" not in bundle:
        raise ConfigError(f"{file} is not a Sigma Lab model file")
    card_file = file.parent / CARD_JSON
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    oof_file = file.parent / OOF_FILE
    oof = oof_fold = None
    if oof_file.is_file():
        frame = pd.read_parquet(oof_file)
        oof_fold = frame.pop("fold")
        oof = frame
    return TrainedModel(
        model=bundle["model"],
        feature_cols=list(bundle["feature_cols"]),
        classes=list(bundle["classes"]),
        label_col=bundle["label_col"],
        horizon=int(bundle["horizon"]),
        path=file,
        sha256=digest,
        card=card,
        oof=oof,
        oof_fold=oof_fold,
        model_id=card.get("model_id"),
    )


def predict_proba(model: TrainedModel | TrainResult, features_df: pd.DataFrame) -> pd.DataFrame:
    """Class probabilities (columns ``str(class)``) for each row of ``features_df``.

    ``features_df`` must hold the model's feature columns (others are ignored).
    """
    missing = [c for c in model.feature_cols if c not in features_df.columns]
    if missing:
        raise ConfigError(f"predict_proba: feature column(s) {missing} are missing from the input")
    X = features_df[model.feature_cols].astype("float64")
    raw = model.model.predict_proba(X)
    columns = [str(model.classes[int(c)]) for c in model.model.classes_]
    out = pd.DataFrame(raw, index=features_df.index, columns=columns)
    return out.reindex(columns=[str(c) for c in model.classes], fill_value=0.0)
