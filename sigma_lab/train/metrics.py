"""Classification scores for probability forecasts, and feature importances.

AUC is one-vs-rest macro for more than two classes; the Brier score is the mean over
classes of the one-vs-rest Brier score (equal to the usual binary Brier score for two
classes). A score that is undefined on the data (AUC with a single class present) is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

PERMUTATION_TAIL = 0.2
PERMUTATION_MAX_ROWS = 2000
PERMUTATION_REPEATS = 5


def classification_scores(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """AUC, log loss, Brier score and accuracy of ``proba`` (rows x classes) for codes ``y``."""
    if len(y) == 0:
        return {
            "auc": float("nan"),
            "log_loss": float("nan"),
            "brier": float("nan"),
            "accuracy": float("nan"),
        }
    onehot = np.eye(n_classes)[y]
    present = np.unique(y)
    if len(present) < 2:
        auc = float("nan")
    elif n_classes == 2:
        auc = float(roc_auc_score(y, proba[:, 1]))
    else:
        cols = [c for c in range(n_classes) if 0 < onehot[:, c].sum() < len(y)]
        auc = float(np.mean([roc_auc_score(onehot[:, c], proba[:, c]) for c in cols]))
    return {
        "auc": auc,
        "log_loss": float(log_loss(y, proba, labels=list(range(n_classes)))),
        "brier": float(np.mean((proba - onehot) ** 2)),
        "accuracy": float(accuracy_score(y, proba.argmax(axis=1))),
    }


def class_balance(y: np.ndarray, classes: list[object]) -> dict[str, float]:
    """The fraction of rows in each class, keyed by ``str(class)``."""
    counts = np.bincount(y, minlength=len(classes)) if len(y) else np.zeros(len(classes))
    total = max(int(counts.sum()), 1)
    return {str(c): float(counts[i] / total) for i, c in enumerate(classes)}


def _neg_log_loss(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> float:
    return -float(log_loss(y, model.predict_proba(X), labels=list(model.classes_)))


def native_importances(model: BaseEstimator, n_features: int) -> np.ndarray | None:
    """Importances the fitted estimator reports itself (trees: gain/split; linear: |coef|)."""
    final = model
    if hasattr(final, "calibrated_classifiers_"):
        return None
    if hasattr(final, "steps"):
        final = final.steps[-1][1]
    values = getattr(final, "feature_importances_", None)
    if values is not None:
        return np.asarray(values, dtype=float)
    coef = getattr(final, "coef_", None)
    if coef is not None:
        return np.abs(np.asarray(coef, dtype=float)).reshape(-1, n_features).mean(axis=0)
    return None


def feature_importances(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray, seed: int) -> pd.DataFrame:
    """Importances per feature, largest first: native when the estimator has them, else
    permutation importance (log-loss drop) on the last ``PERMUTATION_TAIL`` of ``X``
    (at most ``PERMUTATION_MAX_ROWS`` rows), seeded for determinism.
    """
    features = list(X.columns)
    native = native_importances(model, len(features))
    if native is not None:
        frame = pd.DataFrame({"feature": features, "importance": native, "std": np.nan, "method": "native"})
    else:
        n_tail = min(max(int(len(X) * PERMUTATION_TAIL), 1), PERMUTATION_MAX_ROWS)
        tail_X, tail_y = X.iloc[-n_tail:], y[-n_tail:]
        result = permutation_importance(
            model,
            tail_X,
            tail_y,
            scoring=_neg_log_loss,
            n_repeats=PERMUTATION_REPEATS,
            random_state=seed,
            n_jobs=1,
        )
        frame = pd.DataFrame(
            {
                "feature": features,
                "importance": result.importances_mean,
                "std": result.importances_std,
                "method": "permutation",
            }
        )
    return frame.sort_values(["importance", "feature"], ascending=[False, True], ignore_index=True)
