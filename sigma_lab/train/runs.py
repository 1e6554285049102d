"""Training runs of configured models: matrix in, artifact and store rows out.

:func:`train` is what ``sigma_lab.train(model_id)``, ``sigma-lab train MODEL_ID``, the
notebooks and the API call. :func:`record_training` does the writing for any
:class:`TrainResult`, so a model trained on a hand-made frame can be stored the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import sqlalchemy as sa

import sigma_lab
from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.train.artifacts import TrainedModel, load_artifact, save_artifacts
from sigma_lab.train.core import TrainResult, train_matrix


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def record_training(
    result: TrainResult,
    *,
    model_id: str,
    lineage: dict[str, Any] | None = None,
    pack: str | None = None,
    build_run_id: int | None = None,
    started_at: dt.datetime | None = None,
    job_id: int | None = None,
) -> TrainResult:
    """Write ``result``'s artifacts under ``<workspace>/artifacts/models/<model_id>/`` and record
    the training run and its artifact in the store, in one transaction.

    ``lineage`` should carry ``matrix_hash`` and ``config_hash``; the seed and package version
    are added. ``job_id`` ties the run to a job. Returns ``result`` with ``artifact``,
    ``run_id``, ``model_id`` and ``lineage`` set.
    """
    from sigma_lab.store import repo, session_scope

    lineage = {
        **(lineage or {}),
        "seed": result.spec.seed,
        "package_version": sigma_lab.__version__,
    }
    root = get_settings().artifacts_dir / "models" / model_id
    artifact = save_artifacts(result, root, model_id=model_id, lineage=lineage)
    metrics = dict(result.metrics)
    with session_scope() as session:
        artifact_row = repo.record_artifact(
            session,
            artifact.path,
            "model",
            media_type="application/octet-stream",
            meta={"model_id": model_id, "format": "joblib"},
        )
        run_id = repo.record_training_run(
            session,
            {
                "model_id": model_id,
                "pack": pack,
                "status": "succeeded",
                "build_run_id": build_run_id,
                "params": result.spec.model_dump(mode="json"),
                "lineage": {**lineage, "artifact_sha256": artifact.sha256},
                "seed": result.spec.seed,
                "package_version": sigma_lab.__version__,
                "started_at": started_at,
                "finished_at": dt.datetime.now(dt.UTC),
                "estimator": result.spec.estimator.kind,
                "metrics": metrics,
                "fold_metrics": result.folds.to_dict(orient="records"),
                "feature_importances": dict(
                    zip(result.importances["feature"], result.importances["importance"], strict=True)
                ),
                "auc": _finite(metrics["auc"]),
                "log_loss": _finite(metrics["log_loss"]),
                "brier": _finite(metrics["brier"]),
                "accuracy": _finite(metrics["accuracy"]),
                "matrix_hash": lineage.get("matrix_hash"),
                "config_hash": lineage.get("config_hash"),
                "artifact_id": artifact_row["id"],
                "artifact_sha256": artifact.sha256,
                "job_id": job_id,
            },
        )
    result.artifact = artifact
    result.run_id = run_id
    result.model_id = model_id
    result.lineage = lineage
    return result


def _manifest_value(manifest: dict[str, Any], key: str, model_id: str) -> Any:
    if key not in manifest:
        raise ConfigError(f"matrix manifest of {model_id!r} has no {key!r}; rebuild the matrix")
    return manifest[key]


def _build_run_of(model_id: str, matrix_hash: str) -> int | None:
    """The newest successful build run of ``model_id`` that produced the matrix ``matrix_hash``."""
    from sigma_lab.store import BuildRun, session_scope

    with session_scope() as session:
        return session.scalar(
            sa.select(BuildRun.id)
            .where(
                BuildRun.model_id == model_id,
                BuildRun.matrix_hash == matrix_hash,
                BuildRun.status == "succeeded",
            )
            .order_by(BuildRun.id.desc())
            .limit(1)
        )


def train(model_id: str, *, root: str | Path | None = None, job_id: int | None = None) -> TrainResult:
    """Train the configured model ``model_id`` (packs under ``root``, default the packs folder).

    Loads the model's matrix (building it first when missing), trains with walk-forward CV,
    writes the model artifact and card, and records the run with its lineage (matrix,
    config and indicator-set hashes, seed, package version, and the build run that made the
    matrix). ``job_id`` ties the training run (and a build it triggers) to a job.
    """
    from sigma_lab import matrix as matrix_module
    from sigma_lab.packs import content_hash, get_model_config

    started = dt.datetime.now(dt.UTC)
    config = get_model_config(model_id, root=root)
    build_run_id = None
    try:
        frame, manifest = matrix_module.load_matrix(model_id)
    except NotFoundError:
        build_run_id = matrix_module.build_matrix(model_id, root=root, job_id=job_id).run_id
        frame, manifest = matrix_module.load_matrix(model_id)
    task = manifest.get("task", "classification")
    if task != "classification":
        raise ConfigError(
            f"model {model_id!r}: its label is a {task} target; training supports classification"
        )
    matrix_lineage = manifest.get("lineage") or {}
    matrix_hash = _manifest_value(matrix_lineage, "matrix_hash", model_id)
    if build_run_id is None:
        build_run_id = _build_run_of(model_id, matrix_hash)
    lineage = {
        "matrix_hash": matrix_hash,
        "config_hash": content_hash(config.model_dump(mode="json", exclude={"description"})),
        "indicator_set_hash": matrix_lineage.get("indicator_set_hash"),
        "label": manifest.get("label"),
        "tickers": manifest.get("tickers"),
    }
    result = train_matrix(
        frame,
        list(_manifest_value(manifest, "feature_columns", model_id)),
        str(_manifest_value(manifest, "target", model_id)),
        config.train,
        int(_manifest_value(manifest, "horizon", model_id)),
    )
    return record_training(
        result,
        model_id=model_id,
        lineage=lineage,
        pack=config.pack,
        build_run_id=build_run_id,
        started_at=started,
        job_id=job_id,
    )


def _artifact_path(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(uri)


def load_model(model: str | int | Path) -> TrainedModel:
    """A trained model: by training-run id (int), by model id (its latest successful run),
    or from a model directory / ``model.joblib`` path. The file's sha256 is checked against
    the stored one."""
    if isinstance(model, Path):
        return load_artifact(model)
    from sigma_lab.store import Artifact, TrainingRun, session_scope

    with session_scope() as session:
        query = sa.select(TrainingRun)
        if isinstance(model, int):
            query = query.where(TrainingRun.id == model)
        else:
            query = query.where(TrainingRun.model_id == model, TrainingRun.status == "succeeded")
        run = session.scalars(query.order_by(TrainingRun.id.desc()).limit(1)).first()
        if run is None:
            what = f"training run {model}" if isinstance(model, int) else f"trained model {model!r}"
            raise NotFoundError(f"no {what} in the store; train it first (sigma-lab train MODEL_ID)")
        artifact = session.get(Artifact, run.artifact_id) if run.artifact_id is not None else None
        if artifact is None:
            raise NotFoundError(f"training run {run.id} of {run.model_id!r} has no model artifact")
        path, sha256, run_id, model_id = _artifact_path(artifact.uri), artifact.sha256, run.id, run.model_id
    loaded = load_artifact(path, expected_sha256=sha256)
    loaded.run_id = run_id
    loaded.model_id = model_id
    return loaded
