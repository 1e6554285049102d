"""Training: estimators, walk-forward CV with purge and embargo, calibration, artifacts.

``train_matrix`` trains on a plain DataFrame (no files, no store); ``train`` wraps it for a
configured model: it loads (or builds) the model's matrix, writes the model artifact and
card under the workspace, and records the training run in the store.
"""

from __future__ import annotations

import sys
import types

from sigma_lab.train.artifacts import TrainedModel, load_artifact, predict_proba, save_artifacts
from sigma_lab.train.core import Artifact, FoldRecord, TrainResult, train_matrix
from sigma_lab.train.estimators import make_estimator
from sigma_lab.train.runs import load_model, record_training, train
from sigma_lab.train.spec import CalibrationSpec, EstimatorSpec, TrainSpec, ValidationSpec
from sigma_lab.train.splits import Fold, walk_forward_splits

__all__ = [
    "Artifact",
    "CalibrationSpec",
    "EstimatorSpec",
    "Fold",
    "FoldRecord",
    "TrainResult",
    "TrainSpec",
    "TrainedModel",
    "ValidationSpec",
    "load_artifact",
    "load_model",
    "make_estimator",
    "predict_proba",
    "record_training",
    "save_artifacts",
    "train",
    "train_matrix",
    "walk_forward_splits",
]


class _CallableModule(types.ModuleType):
    """Lets ``sigma_lab.train(model_id)`` call :func:`train` while the package stays importable."""

    def __call__(self, model_id: str, **kwargs: object) -> TrainResult:
        return train(model_id, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
