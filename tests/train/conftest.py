"""Fixtures for training tests: a small real matrix built from the sample SPY hourly bars."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from sigma_lab.train.spec import TrainSpec

SAMPLE = Path(__file__).resolve().parents[2] / "sigma_lab" / "data" / "sample" / "spy_1h.parquet"
FEATURES = ["ret_1", "ret_3", "range", "volume_z", "sma_gap"]
#: Small, fast trees: these tests pin behaviour, not skill.
FAST_HGB = {"max_iter": 25, "max_leaf_nodes": 8, "learning_rate": 0.1}


def spy_matrix() -> pd.DataFrame:
    """Simple trailing features and a next-bar direction label (1 up, 0 not up; NaN at the end)."""
    bars = pd.read_parquet(SAMPLE).set_index("timestamp").sort_index()
    close = bars["close"]
    volume = bars["volume"]
    frame = pd.DataFrame(index=bars.index)
    frame["ret_1"] = close.pct_change()
    frame["ret_3"] = close.pct_change(3)
    frame["range"] = (bars["high"] - bars["low"]) / close
    frame["volume_z"] = (volume - volume.rolling(20).mean()) / volume.rolling(20).std()
    frame["sma_gap"] = close / close.rolling(10).mean() - 1.0
    future = close.shift(-1)
    frame["label"] = np.where(future.isna(), np.nan, (future > close).astype(float))
    return frame.dropna(subset=FEATURES)


@pytest.fixture(autouse=True, scope="session")
def _one_openmp_thread() -> Iterator[None]:
    """One OpenMP thread per fit: the test machine's cores are shared, and oversubscribed
    OpenMP in gradient boosting is an order of magnitude slower than one thread."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _fresh_store_state() -> Iterator[None]:
    """Forget cached engines and schema checks: ``database_url`` drops the schema per test."""
    from sigma_lab import store

    store.reset()
    yield
    store.reset()


@pytest.fixture(scope="session")
def spy_frame() -> pd.DataFrame:
    return spy_matrix()


@pytest.fixture
def features() -> list[str]:
    return list(FEATURES)


@pytest.fixture
def fast_spec() -> TrainSpec:
    return TrainSpec.model_validate(
        {"estimator": {"kind": "hgb", "params": FAST_HGB}, "validation": {"n_splits": 4, "min_train": 0.4}}
    )
