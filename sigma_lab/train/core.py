"""Training on a plain DataFrame: walk-forward out-of-fold scores, metrics, final model.

:func:`train_matrix` is pure (no files, no store): it splits the labelled rows by
timestamp (:mod:`sigma_lab.train.splits`), fits one estimator per fold on the past
only, keeps the out-of-fold probabilities per row, scores them, and fits the final model
on every labelled row. Rows whose label is NaN take no part in fitting or scoring.

The split runs over the labelled rows' timestamps, so the purge counts labelled rows; as
unlabelled rows only widen the real gap between a training row and the test block, this
purges at least the label horizon in bars.

Calibration, when asked for, wraps the estimator in ``CalibratedClassifierCV`` whose own
splits are walk-forward splits *of the training rows* (purged with the same horizon), so
the calibrator is fit on the training fold only. The row positions it used are kept in
:attr:`FoldRecord.calibration` so this can be checked.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV

from sigma_lab.errors import ConfigError
from sigma_lab.train.estimators import make_estimator
from sigma_lab.train.metrics import class_balance, classification_scores, feature_importances
from sigma_lab.train.spec import TrainSpec, ValidationSpec
from sigma_lab.train.splits import walk_forward_splits


@dataclass(frozen=True)
class Artifact:
    """A file written by a training run, with its content hash."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class FoldRecord:
    """Row positions (into the matrix) of one fold: training, test, and the calibrator's
    internal (fit, calibrate) splits, which lie inside ``train_idx``."""

    train_idx: np.ndarray
    test_idx: np.ndarray
    calibration: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass
class TrainResult:
    """What a training produced.

    ``oof`` holds out-of-fold class probabilities (columns ``str(class)``, indexed like
    the matrix, NaN where a row was never in a test fold); ``oof_fold`` the fold that
    scored each row. ``folds`` has one row of metrics and time ranges per fold.
    """

    oof: pd.DataFrame
    oof_fold: pd.Series
    folds: pd.DataFrame
    metrics: dict[str, Any]
    importances: pd.DataFrame
    model: BaseEstimator
    classes: list[Any]
    feature_cols: list[str]
    label_col: str
    horizon: int
    spec: TrainSpec
    fold_records: list[FoldRecord]
    artifact: Artifact | None = None
    run_id: int | None = None
    model_id: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)

    def bundle(self) -> dict[str, Any]:
        """What the model file holds: the estimator and what is needed to use it."""
        return {
            "model": self.model,
            "feature_cols": list(self.feature_cols),
            "classes": list(self.classes),
            "label_col": self.label_col,
            "horizon": self.horizon,
        }

    def model_bytes(self) -> bytes:
        """The serialized model file (joblib); deterministic for the same seed and inputs."""
        buffer = io.BytesIO()
        joblib.dump(self.bundle(), buffer)
        return buffer.getvalue()

    @property
    def model_sha256(self) -> str:
        return hashlib.sha256(self.model_bytes()).hexdigest()


def row_times(df: pd.DataFrame) -> np.ndarray | int:
    """The time key of each row: a ``timestamp`` column, else a ``timestamp`` index level,
    else a DatetimeIndex; a frame with none of these is treated as one row per time step."""
    if "timestamp" in df.columns:
        return pd.Index(df["timestamp"]).to_numpy()
    if isinstance(df.index, pd.MultiIndex) and "timestamp" in df.index.names:
        return df.index.get_level_values("timestamp").to_numpy()
    if isinstance(df.index, pd.DatetimeIndex):
        return df.index.to_numpy()
    return len(df)


def _label_values(labels: pd.Series) -> list[Any]:
    """Label values as Python objects; integral floats (from a column with NaN) become ints."""
    values = labels.tolist()
    floats = [v for v in values if isinstance(v, float)]
    if floats and len(floats) == len(values):
        fractional = next((v for v in floats if not v.is_integer()), None)
        if fractional is not None:
            raise ConfigError(
                f"train: label column {labels.name!r} holds non-integer values (e.g. {fractional}); "
                "training needs class labels"
            )
        return [int(v) for v in values]
    return values


def _features(df: pd.DataFrame, feature_cols: list[str]) -> pd.DataFrame:
    missing = [c for c in feature_cols if c not in df.columns]
    if missing:
        raise ConfigError(f"train: feature column(s) {missing} are not in the matrix")
    if not feature_cols:
        raise ConfigError("train: no feature columns given")
    out = {}
    for col in feature_cols:
        try:
            out[col] = pd.to_numeric(df[col], errors="raise").to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            raise ConfigError(f"train: feature column {col!r} is not numeric") from None
    return pd.DataFrame(out, columns=feature_cols)


def _fit(
    X: pd.DataFrame, y: np.ndarray, times: np.ndarray, spec: TrainSpec, horizon: int, where: str
) -> tuple[BaseEstimator, list[tuple[np.ndarray, np.ndarray]]]:
    """Fit the configured estimator on (X, y); returns it and the calibration splits used."""
    if len(np.unique(y)) < 2:
        raise ConfigError(f"train: {where} has a single class in its training rows; nothing to learn")
    estimator = make_estimator(spec.estimator, spec.seed)
    if spec.calibration.method is None:
        return estimator.fit(X, y), []
    inner_spec = ValidationSpec(
        scheme="expanding",
        n_splits=spec.calibration.cv,
        min_train=1.0 / (spec.calibration.cv + 1),
        purge=spec.validation.purge,
    )
    try:
        inner = walk_forward_splits(times, inner_spec, horizon)
    except ConfigError as exc:
        raise ConfigError(f"train: calibration inside {where}: {exc}") from None
    splits = [(f.train_idx, f.test_idx) for f in inner]
    model = CalibratedClassifierCV(estimator, method=spec.calibration.method, cv=splits)
    return model.fit(X, y), splits


def _proba(model: BaseEstimator, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """Probabilities over all classes (a class the model never saw gets 0)."""
    raw = model.predict_proba(X)
    out = np.zeros((len(X), n_classes))
    out[:, np.asarray(model.classes_, dtype=np.int64)] = raw
    return out


def _time_range(times: np.ndarray | int, rows: np.ndarray) -> tuple[Any, Any]:
    if isinstance(times, int) or len(rows) == 0:
        return (int(rows.min()), int(rows.max())) if len(rows) else (None, None)
    selected = times[rows]
    return selected.min(), selected.max()


def train_matrix(
    matrix_df: pd.DataFrame,
    feature_cols: list[str],
    label_col: str,
    spec: TrainSpec,
    horizon: int,
) -> TrainResult:
    """Walk-forward train ``matrix_df`` and fit the final model; no files, no store.

    ``horizon`` is the label's look-ahead in bars (the default purge). Raises
    :class:`ConfigError` for missing or non-numeric columns, fewer than two classes, or a
    validation scheme the data are too short for.
    """
    if label_col not in matrix_df.columns:
        raise ConfigError(f"train: label column {label_col!r} is not in the matrix")
    feature_cols = list(feature_cols)
    X_all = _features(matrix_df, feature_cols)
    labels = matrix_df[label_col]
    labelled = np.flatnonzero(labels.notna().to_numpy())
    label_values = _label_values(labels.iloc[labelled])
    classes = sorted(set(label_values))
    if len(classes) < 2:
        raise ConfigError(f"train: label column {label_col!r} has {len(classes)} class(es); need at least 2")
    n_classes = len(classes)
    codes_all = np.full(len(matrix_df), -1, dtype=np.int64)
    codes_all[labelled] = pd.Index(classes).get_indexer(label_values)

    times = row_times(matrix_df)
    time_arr = np.arange(len(matrix_df)) if isinstance(times, int) else times
    rows = labelled[np.argsort(time_arr[labelled], kind="stable")]
    lab_times = time_arr[rows]

    folds = walk_forward_splits(
        lab_times if not isinstance(times, int) else len(rows), spec.validation, horizon
    )
    oof = np.full((len(matrix_df), n_classes), np.nan)
    oof_fold = pd.array([pd.NA] * len(matrix_df), dtype="Int64")
    fold_rows: list[dict[str, Any]] = []
    records: list[FoldRecord] = []
    for k, fold in enumerate(folds):
        tr, te = rows[fold.train_idx], rows[fold.test_idx]
        model, calib = _fit(
            X_all.iloc[tr], codes_all[tr], lab_times[fold.train_idx], spec, horizon, f"fold {k}"
        )
        proba = _proba(model, X_all.iloc[te], n_classes)
        oof[te] = proba
        oof_fold[te] = k
        records.append(FoldRecord(tr, te, [(tr[a], tr[b]) for a, b in calib]))
        train_start, train_end = _time_range(times, tr)
        test_start, test_end = _time_range(times, te)
        row = {
            "fold": k,
            "n_train": len(tr),
            "n_test": len(te),
            "train_start": train_start,
            "train_end": train_end,
            "test_start": test_start,
            "test_end": test_end,
            **classification_scores(codes_all[te], proba, n_classes),
        }
        row.update({f"balance_{c}": v for c, v in class_balance(codes_all[te], classes).items()})
        fold_rows.append(row)

    scored = rows[np.isin(rows, np.concatenate([r.test_idx for r in records]))]
    fold_table = pd.DataFrame(fold_rows)
    metrics: dict[str, Any] = {
        **classification_scores(codes_all[scored], oof[scored], n_classes),
        "auc_mean": float(fold_table["auc"].mean()),
        "auc_std": float(fold_table["auc"].std(ddof=1)) if len(fold_table) > 1 else 0.0,
        "n_rows": len(matrix_df),
        "n_labelled": len(rows),
        "n_oof": len(scored),
        "n_folds": len(folds),
        "class_balance": class_balance(codes_all[rows], classes),
    }

    final, final_calib = _fit(X_all.iloc[rows], codes_all[rows], lab_times, spec, horizon, "the final model")
    importances = feature_importances(final, X_all.iloc[rows], codes_all[rows], spec.seed)
    return TrainResult(
        oof=pd.DataFrame(oof, index=matrix_df.index, columns=[str(c) for c in classes]),
        oof_fold=pd.Series(oof_fold, index=matrix_df.index, name="fold"),
        folds=fold_table,
        metrics=metrics,
        importances=importances,
        model=final,
        classes=classes,
        feature_cols=feature_cols,
        label_col=label_col,
        horizon=horizon,
        spec=spec,
        fold_records=records,
    )
