"""Walk-forward cross-validation with purge and embargo, split by timestamp.

The split works on the sorted unique timestamps, so a stacked universe matrix (one row
per ticker and timestamp) never puts the same timestamp on both sides of a fold. Fold
``k`` tests the contiguous timestamp block ``[s_k, e_k)`` and trains on timestamps
before ``s_k`` only:

- ``expanding``: every timestamp before ``s_k``; ``rolling``: the last ``min_train``
  timestamps before ``s_k``.
- purge: a label at ``t`` looks ``horizon`` bars ahead, so the training timestamps in
  ``[s_k - purge, s_k)`` (whose label windows reach into the test block) are dropped.
  ``purge=None`` means the label horizon.
- embargo: the ``embargo`` timestamps right after every earlier test block
  ``[e_j, e_j + embargo)`` (``j < k``) are dropped from fold ``k``'s training set. A
  walk-forward training set never follows its own test block, so embargo is not needed
  for fold ``k``'s honesty; it keeps rows that were serially close to an earlier
  evaluation out of later fits, as in purged k-fold, so schemes stay comparable.

Test blocks: with ``test_size=None`` the timestamps after the first ``min_train`` are cut
into ``n_splits`` near-equal blocks (so every later row is scored once); with a
``test_size`` the ``n_splits`` blocks of that length end at the last timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError
from sigma_lab.train.spec import ValidationSpec


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: row positions (into the input) to train on and to test on."""

    train_idx: np.ndarray
    test_idx: np.ndarray


def _time_codes(times: int | np.ndarray | pd.Index | pd.Series) -> tuple[np.ndarray, int]:
    """Map each row to the rank of its timestamp among the unique timestamps."""
    if isinstance(times, (int, np.integer)):
        if times < 0:
            raise ConfigError(f"walk_forward_splits: n_rows must be >= 0, got {times}")
        return np.arange(int(times), dtype=np.int64), int(times)
    values = pd.Index(times)
    if values.hasnans:
        raise ConfigError("walk_forward_splits: timestamps contain missing values (NaT/NaN)")
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), len(uniques)


def _test_blocks(n_times: int, spec: ValidationSpec) -> tuple[int, list[tuple[int, int]]]:
    min_train = spec.min_train
    if isinstance(min_train, float):
        min_train = max(1, int(np.floor(min_train * n_times)))
    if spec.test_size is None:
        remaining = n_times - min_train
        if remaining < spec.n_splits:
            raise ConfigError(
                f"validation: {n_times} timestamps leave {max(remaining, 0)} after min_train={min_train}, "
                f"too few for n_splits={spec.n_splits} test folds"
            )
        edges = min_train + np.floor(np.arange(spec.n_splits + 1) * remaining / spec.n_splits).astype(
            np.int64
        )
        return min_train, [(int(edges[k]), int(edges[k + 1])) for k in range(spec.n_splits)]
    first = n_times - spec.n_splits * spec.test_size
    if first < min_train:
        raise ConfigError(
            f"validation: n_splits={spec.n_splits} x test_size={spec.test_size} leaves {max(first, 0)} "
            f"timestamps before the first test fold, fewer than min_train={min_train} (of {n_times})"
        )
    return min_train, [
        (first + k * spec.test_size, first + (k + 1) * spec.test_size) for k in range(spec.n_splits)
    ]


def walk_forward_splits(
    times: int | np.ndarray | pd.Index | pd.Series, spec: ValidationSpec, horizon: int
) -> list[Fold]:
    """Walk-forward folds over ``times`` (a row count, or one timestamp per row, repeats allowed).

    Returns row positions (sorted) into ``times``. Raises :class:`ConfigError` when the
    data are too short for the scheme or a fold would have no training rows left after
    the purge and embargo.
    """
    if horizon < 0:
        raise ConfigError(f"walk_forward_splits: horizon must be >= 0, got {horizon}")
    codes, n_times = _time_codes(times)
    purge = horizon if spec.purge is None else spec.purge
    min_train, blocks = _test_blocks(n_times, spec)
    excluded = np.zeros(n_times, dtype=bool)
    folds: list[Fold] = []
    for k, (start, end) in enumerate(blocks):
        keep = np.zeros(n_times, dtype=bool)
        first = 0 if spec.scheme == "expanding" else max(0, start - min_train)
        keep[first : max(first, start - purge)] = True
        keep &= ~excluded
        if not keep.any():
            raise ConfigError(
                f"validation: fold {k} has no training timestamps left after purge={purge} and "
                f"embargo={spec.embargo} (test starts at timestamp {start}, min_train={min_train})"
            )
        folds.append(
            Fold(
                train_idx=np.flatnonzero(keep[codes]),
                test_idx=np.flatnonzero((codes >= start) & (codes < end)),
            )
        )
        excluded[end : end + spec.embargo] = True
    return folds
