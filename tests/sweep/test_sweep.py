"""Sweeps equal single backtests, whatever the executor and chunk size; specs; memory; resume."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import sigma_lab.sweep as sw
from sigma_lab.backtest import batch
from sigma_lab.backtest.metrics import METRIC_KEYS
from sigma_lab.errors import ConfigError
from sigma_lab.sweep.evaluate import SweepContext, evaluate_chunk

from .conftest import walk_bars

GRID = {"fast": [3, 5, 8, 13], "slow": [10, 21, 34], "stop_loss": [None, 0.03]}


def assert_matches_single_runs(result: sw.SweepResult, indices) -> None:
    for i in indices:
        full = result.rerun(int(i))
        for key in METRIC_KEYS:
            got, want = float(result.table.loc[i, key]), float(full.metrics[key])
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=0), (
                i,
                key,
            )
        assert result.table.loc[i, "final_equity"] == full.final_equity


def test_sma_sweep_equals_single_backtests_for_every_config(bars):
    result = sw.sweep(bars, "sma_cross", grid=GRID, fees_bps=3, direction="both", progress=False)
    assert len(result.table) == 4 * 3 * 2 - 2  # fast < slow drops (13, 10) for both stops
    assert_matches_single_runs(result, result.table.index)


def test_generic_strategy_and_execution_grid_equal_single_backtests(bars):
    grid = {
        "period": [10, 20],
        "nstd": [1.5, 2.0],
        "take_profit": [None, 0.04],
        "direction": ["long", "short"],
    }
    result = sw.sweep(bars, "bollinger_reversion", grid=grid, fees_bps=1, progress=False, chunk_size=3)
    assert_matches_single_runs(result, result.table.index)


def test_score_sweep_equals_run_scores(bars):
    rng = np.random.default_rng(5)
    scores = pd.Series(rng.uniform(0, 1, len(bars)), index=bars.index)
    grid = {"long_threshold": [0.55, 0.7], "short_threshold": [0.6], "direction": ["long", "both"]}
    result = sw.sweep(bars, scores, grid=grid, progress=False)
    assert_matches_single_runs(result, result.table.index)


@pytest.mark.parametrize("chunk_size", [1, 5, 1000])
def test_results_do_not_depend_on_chunk_size(bars, chunk_size):
    base = sw.sweep(bars, "sma_cross", grid=GRID, progress=False).table
    other = sw.sweep(bars, "sma_cross", grid=GRID, progress=False, chunk_size=chunk_size).table
    pd.testing.assert_frame_equal(base, other)


def test_dask_local_cluster_gives_identical_results(bars):
    distributed = pytest.importorskip("distributed")
    local = sw.sweep(bars, "sma_cross", grid=GRID, progress=False).table
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = sw.sweep(bars, "sma_cross", grid=GRID, progress=False, chunk_size=4, executor=client)
    pd.testing.assert_frame_equal(local, remote.table)
    assert_matches_single_runs(remote, remote.table.index[::5])


def test_grid_applies_strategy_ordering_and_user_constraints(bars):
    cfg = sw.build_configs(
        {"fast": [5, 10, 20], "slow": [10, 20]}, None, None, 0, ["slow - fast >= 10"], "sma_cross", 100
    )
    assert cfg.to_dict(orient="list") == {"fast": [5, 10], "slow": [20, 20]}
    assert all(cfg["fast"] < cfg["slow"])


def test_random_sampling_is_reproducible_and_distinct():
    space = {
        "fast": {"low": 2, "high": 50, "int": True},
        "slow": {"low": 10, "high": 300, "log": True, "int": True},
    }
    a = sw.build_configs(None, space, 40, 11, (), "sma_cross", 1000)
    b = sw.build_configs(None, space, 40, 11, (), "sma_cross", 1000)
    c = sw.build_configs(None, space, 40, 12, (), "sma_cross", 1000)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) == 40 and not a.duplicated().any() and (a["fast"] < a["slow"]).all()


def test_budget_defaults_to_risk_profile_and_rejects_oversized_grids(bars):
    assert sw.budget("conservative") < sw.budget("aggressive")
    with pytest.raises(ConfigError, match="budget of 3"):
        sw.sweep(bars, "sma_cross", grid={"fast": [2, 3], "slow": [5, 6]}, max_configs=3, progress=False)
    with pytest.raises(ConfigError, match="unknown sweep parameter 'nope'"):
        sw.sweep(bars, "sma_cross", grid={"nope": [1]}, progress=False)


def test_kernel_streams_metrics_without_bars_times_configs_memory():
    bars = walk_bars(20_000)
    configs = pd.DataFrame({"fast": np.repeat(np.arange(2, 42), 25), "slow": np.tile(np.arange(50, 75), 40)})
    ctx = SweepContext(bars=bars, strategy="sma_cross", execution={})
    evaluate_chunk(ctx, configs.iloc[:4])
    tracemalloc.start()
    out = evaluate_chunk(ctx, configs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.shape == (1000, batch.N_OUT)
    table = 65 * len(bars) * 8  # the distinct moving averages, computed once
    assert peak < 2.5 * table + 2_000_000
    assert peak < len(bars) * len(configs) * 8 / 5


def test_interrupted_sweep_resumes_from_finished_chunks(bars, workspace):
    grid = {"fast": [3, 5, 8, 13], "slow": [10, 21, 34]}
    full = sw.sweep(bars, "sma_cross", grid=grid, progress=False)

    def stop_after_two(number: int) -> None:
        if number == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sw.sweep(
            bars, "sma_cross", grid=grid, progress=False, persist=True, chunk_size=3, on_chunk=stop_after_two
        )
    from sigma_lab.store import Sweep, session_scope

    with session_scope() as session:
        row = session.query(Sweep).one()
        assert row.status == "failed" and sorted(row.chunks_done) == [0, 1]
        sweep_id = row.id
    seen: list[int] = []
    resumed = sw.sweep(
        bars, "sma_cross", grid=grid, progress=False, chunk_size=3, resume=sweep_id, on_chunk=seen.append
    )
    assert sorted(seen) == [2, 3]
    pd.testing.assert_frame_equal(resumed.table, full.table)
    with pytest.raises(ConfigError, match="differ"):
        sw.sweep(bars, "sma_cross", grid={"fast": [3], "slow": [10]}, progress=False, resume=sweep_id)


def test_walk_forward_scores_each_config_in_and_out_of_sample(bars):
    folds = sw.walk_forward(bars, "sma_cross", {"fast": [5, 10], "slow": [20, 40]}, n_folds=3)
    assert set(folds["sample"]) == {"in", "out"} and folds["fold"].nunique() == 3
    assert len(folds) == 3 * 2 * 4
    summary = sw.walk_forward_summary(folds)
    assert list(summary["fold"]) == [0, 1, 2]


def test_heatmap_and_parallel_coordinates(bars):
    result = sw.sweep(bars, "sma_cross", grid={"fast": [5, 10], "slow": [20, 40, 60]}, progress=False)
    fig = result.heatmap("fast", "slow", "sharpe")
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).shape == (3, 2)
    assert result.parallel("sharpe").data[0].type == "parcoords"
