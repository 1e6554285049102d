"""The training specification: estimator, walk-forward validation, calibration and seed.

These pydantic models are what a model config's ``train`` section parses into. Unknown
keys are rejected (``extra="forbid"``) so a typo in a pack never passes silently.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstimatorSpec(_Strict):
    """Which estimator to fit and its hyperparameters (checked against ``get_params()``)."""

    kind: Literal["hgb", "logreg", "xgboost", "lightgbm"] = "hgb"
    params: dict[str, Any] = Field(default_factory=dict)


class ValidationSpec(_Strict):
    """Walk-forward cross-validation.

    ``min_train`` is the first training window: a row (or timestamp) count when an int
    >= 1, a fraction of all timestamps when a float in (0, 1). ``test_size`` is the
    length of each test fold; ``None`` splits what follows ``min_train`` into
    ``n_splits`` equal folds. ``purge`` drops the training timestamps whose label
    window reaches into the test fold; ``None`` means the label horizon. ``embargo``
    drops that many timestamps right after every earlier test fold from later
    training sets. ``rolling`` keeps the training window at ``min_train`` timestamps.
    """

    scheme: Literal["expanding", "rolling"] = "expanding"
    n_splits: int = Field(default=5, ge=1)
    min_train: int | float = 0.3
    test_size: int | None = Field(default=None, ge=1)
    purge: int | None = Field(default=None, ge=0)
    embargo: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check_min_train(self) -> ValidationSpec:
        value = self.min_train
        is_fraction = isinstance(value, float) and 0.0 < value < 1.0
        is_count = float(value).is_integer() and value >= 1
        if not (is_fraction or is_count):
            raise ValueError(f"min_train must be a row count >= 1 or a fraction in (0, 1), got {value!r}")
        if is_count:
            self.min_train = int(value)
        return self


class CalibrationSpec(_Strict):
    """Optional probability calibration, fit inside each training fold only."""

    method: Literal["sigmoid", "isotonic"] | None = None
    cv: int = Field(default=3, ge=2)


class TrainSpec(_Strict):
    """Everything that decides how a model is trained, apart from the data."""

    estimator: EstimatorSpec = Field(default_factory=EstimatorSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    calibration: CalibrationSpec = Field(default_factory=CalibrationSpec)
    seed: int = 42
