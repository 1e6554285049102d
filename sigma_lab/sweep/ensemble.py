"""Ensembles: several trained models' out-of-fold scores combined into one score per bar.

Each model's out-of-fold probabilities come from its own walk-forward folds, so on every bar
each score was made by a model that never saw that bar; combining them bar by bar keeps that
property fold by fold. Only bars scored by every model are kept, and the fold of the first
model labels them (``.attrs["fold"]``). Methods:

- ``"mean"``: weighted average of each class probability (weights default to equal);
- ``"vote"``: each model votes for its most probable class when that probability is at least
  ``min_score`` (else abstains); a side wins with at least ``quorum`` votes and more votes than
  the other side; the result is one-hot UP/DOWN/FLAT (FLAT when no side wins);
- ``"unanimous"``: a vote whose quorum is every model.

The result feeds :func:`~sigma_lab.backtest.run_scores` or :func:`sigma_lab.sweep.sweep` as scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError

METHODS = ("mean", "vote", "unanimous")


def _oof(model: Any) -> tuple[pd.DataFrame, pd.Series | None, str]:
    if isinstance(model, (str, int)):
        from sigma_lab.train import load_model

        model = load_model(model)
    if isinstance(model, pd.DataFrame):
        return model, None, "frame"
    oof = getattr(model, "oof", None)
    if oof is None:
        raise ConfigError(f"model {getattr(model, 'model_id', model)!r} has no out-of-fold scores")
    return oof, getattr(model, "oof_fold", None), str(getattr(model, "model_id", "model"))


def _classes(frame: pd.DataFrame, up: str, down: str) -> pd.DataFrame:
    cols = {str(c).upper(): c for c in frame.columns}
    if up.upper() not in cols or down.upper() not in cols:
        raise ConfigError(f"scores need {up!r} and {down!r} columns, got {list(frame.columns)}")
    return frame.rename(columns={c: str(c).upper() for c in frame.columns})


def combine_scores(
    models: Sequence[Any],
    method: str = "mean",
    *,
    weights: Sequence[float] | None = None,
    quorum: int | None = None,
    min_score: float = 0.5,
    up_label: str = "UP",
    down_label: str = "DOWN",
) -> pd.DataFrame:
    """Combine trained models (ids, ``TrainedModel`` objects or OOF DataFrames) into one score frame."""
    if method not in METHODS:
        raise ConfigError(f"ensemble method must be one of {list(METHODS)}, got {method!r}")
    if len(models) < 2:
        raise ConfigError("an ensemble needs at least two models")
    loaded = [_oof(m) for m in models]
    frames = [_classes(f, up_label, down_label) for f, _, _ in loaded]
    index = frames[0].index
    for frame in frames[1:]:
        index = index.intersection(frame.index)
    columns = list(frames[0].columns)
    for frame, (_, _, name) in zip(frames[1:], loaded[1:], strict=True):
        if sorted(frame.columns) != sorted(columns):
            raise ConfigError(f"model {name!r} has classes {list(frame.columns)}, the first has {columns}")
    probs = np.stack([f.loc[index, columns].to_numpy(dtype=np.float64) for f in frames])
    valid = ~np.isnan(probs).any(axis=(0, 2))
    probs, index = probs[:, valid], index[valid]
    up, down = columns.index(up_label.upper()), columns.index(down_label.upper())
    if method == "mean":
        w = np.ones(len(frames)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(frames),) or (w < 0).any() or not w.sum() > 0:
            raise ConfigError(f"weights must be {len(frames)} non-negative numbers with a positive sum")
        out = pd.DataFrame(np.tensordot(w / w.sum(), probs, axes=1), index=index, columns=columns)
    else:
        need = len(frames) if method == "unanimous" else (quorum or len(frames) // 2 + 1)
        if not 1 <= need <= len(frames):
            raise ConfigError(f"quorum must be within 1..{len(frames)}, got {need}")
        best = probs.argmax(axis=2)
        sure = probs.max(axis=2) >= min_score
        ups = ((best == up) & sure).sum(axis=0)
        downs = ((best == down) & sure).sum(axis=0)
        go_up = (ups >= need) & (ups > downs)
        go_down = (downs >= need) & (downs > ups)
        out = pd.DataFrame(
            {
                "UP": go_up.astype(float),
                "DOWN": go_down.astype(float),
                "FLAT": (~go_up & ~go_down).astype(float),
            },
            index=index,
        )
    fold = loaded[0][1]
    if fold is not None:
        out.attrs["fold"] = fold.reindex(index)
    return out
