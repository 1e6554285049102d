"""Walk-forward splits: every fold trains only on the past, with purge and embargo honoured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigma_lab.errors import ConfigError
from sigma_lab.train.spec import ValidationSpec
from sigma_lab.train.splits import walk_forward_splits


def _check_honest(codes: np.ndarray, folds: list, spec: ValidationSpec, horizon: int) -> None:
    """Assert, in timestamp ranks, the no-look-ahead rules for every fold."""
    purge = horizon if spec.purge is None else spec.purge
    previous_ends: list[int] = []
    for fold in folds:
        assert len(fold.train_idx) > 0 and len(fold.test_idx) > 0
        assert not set(fold.train_idx) & set(fold.test_idx)
        train_t, test_t = codes[fold.train_idx], codes[fold.test_idx]
        start, end = int(test_t.min()), int(test_t.max()) + 1
        # the test block is contiguous in time and holds every row of its timestamps
        assert set(np.flatnonzero((codes >= start) & (codes < end))) == set(fold.test_idx)
        # never train at or after the test fold, nor inside the purge window before it
        assert train_t.max() < start - purge
        # a training row's label window (t, t + horizon] ends before the test block
        assert (train_t + purge < start).all()
        # embargo: no training timestamp right after an earlier test block
        for prev_end in previous_ends:
            assert not ((train_t >= prev_end) & (train_t < prev_end + spec.embargo)).any()
        if spec.scheme == "rolling":
            min_train = spec.min_train if isinstance(spec.min_train, int) else None
            if min_train is not None:
                assert train_t.min() >= start - min_train
        previous_ends.append(end)
    starts = [int(codes[f.test_idx].min()) for f in folds]
    assert starts == sorted(starts)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(20, 400),
    horizon=st.integers(0, 6),
    scheme=st.sampled_from(["expanding", "rolling"]),
    n_splits=st.integers(1, 6),
    min_train=st.one_of(st.integers(8, 60), st.floats(0.1, 0.6)),
    test_size=st.one_of(st.none(), st.integers(1, 30)),
    purge=st.one_of(st.none(), st.integers(0, 6)),
    embargo=st.integers(0, 5),
)
def test_walk_forward_never_trains_at_or_after_the_test_fold(
    n: int,
    horizon: int,
    scheme: str,
    n_splits: int,
    min_train: int | float,
    test_size: int | None,
    purge: int | None,
    embargo: int,
) -> None:
    spec = ValidationSpec(
        scheme=scheme,
        n_splits=n_splits,
        min_train=min_train,
        test_size=test_size,
        purge=purge,
        embargo=embargo,
    )
    try:
        folds = walk_forward_splits(n, spec, horizon)
    except ConfigError:
        return
    assert len(folds) == n_splits
    _check_honest(np.arange(n), folds, spec, horizon)


@settings(max_examples=60, deadline=None)
@given(
    n_times=st.integers(30, 120),
    n_tickers=st.integers(1, 4),
    horizon=st.integers(0, 4),
    scheme=st.sampled_from(["expanding", "rolling"]),
    embargo=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_stacked_universe_is_split_by_timestamp_not_by_row(
    n_times: int, n_tickers: int, horizon: int, scheme: str, embargo: int, seed: int
) -> None:
    times = pd.date_range("2024-01-01", periods=n_times, freq="h", tz="UTC")
    stacked = pd.DataFrame(
        {
            "timestamp": np.tile(times, n_tickers),
            "ticker": np.repeat([f"T{i}" for i in range(n_tickers)], n_times),
        }
    )
    stacked = stacked.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    spec = ValidationSpec(scheme=scheme, n_splits=3, min_train=12, embargo=embargo)
    folds = walk_forward_splits(stacked["timestamp"], spec, horizon)
    codes = pd.factorize(stacked["timestamp"], sort=True)[0]
    _check_honest(codes, folds, spec, horizon)
    for fold in folds:
        train_times = set(stacked["timestamp"].iloc[fold.train_idx])
        test_times = set(stacked["timestamp"].iloc[fold.test_idx])
        assert not train_times & test_times
        # every ticker at a test timestamp is in the test fold
        assert len(fold.test_idx) == len(test_times) * n_tickers


def test_expanding_folds_cover_every_row_after_min_train_once() -> None:
    folds = walk_forward_splits(103, ValidationSpec(n_splits=4, min_train=23), horizon=2)
    tested = np.concatenate([f.test_idx for f in folds])
    assert np.array_equal(tested, np.arange(23, 103))
    assert [f.train_idx.max() for f in folds] == [f.test_idx.min() - 3 for f in folds]
    assert all(f.train_idx.min() == 0 for f in folds)


def test_rolling_window_keeps_min_train_timestamps_minus_the_purge() -> None:
    folds = walk_forward_splits(100, ValidationSpec(scheme="rolling", n_splits=4, min_train=20), horizon=3)
    assert [len(f.train_idx) for f in folds] == [17, 17, 17, 17]
    assert [f.train_idx.min() for f in folds] == [f.test_idx.min() - 20 for f in folds]


def test_embargo_removes_rows_right_after_each_earlier_test_fold() -> None:
    spec = ValidationSpec(n_splits=3, min_train=10, test_size=10, embargo=2, purge=0)
    folds = walk_forward_splits(40, spec, horizon=0)
    assert [list(f.test_idx[[0, -1]]) for f in folds] == [[10, 19], [20, 29], [30, 39]]
    assert list(folds[0].train_idx) == list(range(10))
    assert list(folds[1].train_idx) == list(range(20))
    assert list(folds[2].train_idx) == [*range(20), *range(22, 30)]


def test_explicit_purge_overrides_the_horizon() -> None:
    spec = ValidationSpec(n_splits=2, min_train=10, test_size=5, purge=4)
    folds = walk_forward_splits(20, spec, horizon=1)
    assert folds[0].train_idx.max() == folds[0].test_idx.min() - 5


def test_fractional_min_train_is_a_share_of_timestamps() -> None:
    folds = walk_forward_splits(200, ValidationSpec(n_splits=2, min_train=0.5, purge=0), horizon=0)
    assert folds[0].test_idx.min() == 100


@pytest.mark.parametrize(
    ("n", "spec", "horizon", "message"),
    [
        (10, ValidationSpec(n_splits=5, min_train=8), 0, "too few for n_splits=5"),
        (30, ValidationSpec(n_splits=3, min_train=10, test_size=10), 0, "fewer than min_train=10"),
        (30, ValidationSpec(scheme="rolling", n_splits=2, min_train=5), 5, "no training timestamps left"),
    ],
)
def test_too_short_data_is_a_config_error_naming_the_setting(
    n: int, spec: ValidationSpec, horizon: int, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        walk_forward_splits(n, spec, horizon)


def test_spec_rejects_unknown_keys_and_bad_min_train() -> None:
    with pytest.raises(ValueError, match="n_split"):
        ValidationSpec.model_validate({"n_split": 3})
    with pytest.raises(ValueError, match="min_train"):
        ValidationSpec(min_train=1.5)
    assert ValidationSpec(min_train=50.0).min_train == 50
