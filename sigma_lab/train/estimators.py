"""Estimators a model config can name, built from an :class:`EstimatorSpec` and a seed.

``hgb`` is scikit-learn's HistGradientBoostingClassifier (handles missing values
natively); ``logreg`` is LogisticRegression after median imputation and scaling;
``xgboost`` and ``lightgbm`` are used when installed. Hyperparameters are checked
against the estimator's ``get_params()`` so a misspelled one is an error, not a default.
"""

from __future__ import annotations

import importlib
from typing import Any

from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sigma_lab.errors import ConfigError
from sigma_lab.train.spec import EstimatorSpec

_OPTIONAL = {"xgboost": ("xgboost", "XGBClassifier"), "lightgbm": ("lightgbm", "LGBMClassifier")}


def _base(kind: str, seed: int) -> BaseEstimator:
    if kind == "hgb":
        return HistGradientBoostingClassifier(random_state=seed)
    if kind == "logreg":
        return LogisticRegression(max_iter=1000, random_state=seed)
    module_name, class_name = _OPTIONAL[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(
            f"estimator kind {kind!r} needs the {module_name!r} package, which is not installed "
            f"(pip install {module_name})"
        ) from None
    cls = getattr(module, class_name)
    if kind == "xgboost":
        return cls(random_state=seed, n_jobs=1)
    return cls(random_state=seed, n_jobs=1, deterministic=True, verbose=-1)


def make_estimator(spec: EstimatorSpec, seed: int) -> BaseEstimator:
    """A fresh, unfitted estimator for ``spec``, seeded with ``seed``.

    Raises :class:`ConfigError` naming any hyperparameter the estimator does not have.
    """
    est = _base(spec.kind, seed)
    known = est.get_params(deep=False)
    unknown = sorted(set(spec.params) - set(known))
    if unknown:
        raise ConfigError(
            f"estimator {spec.kind!r}: unknown hyperparameter(s) {unknown}; valid ones are {sorted(known)}"
        )
    params: dict[str, Any] = dict(spec.params)
    try:
        est.set_params(**params)
        if hasattr(est, "_parameter_constraints"):
            est._validate_params()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"estimator {spec.kind!r}: invalid hyperparameters {params}: {exc}") from None
    if spec.kind == "logreg":
        return Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("model", est)]
        )
    return clone(est)
