"""Deflated Sharpe, persistence on SQLite and PostgreSQL, the leaderboard, ensembles, presets."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import sigma_lab.sweep as sw
from sigma_lab.errors import ConfigError
from sigma_lab.store import BacktestRun, SweepResult, session_scope
from sigma_lab.sweep_presets import load_preset


def test_deflated_sharpe_matches_hand_computation():
    n, var, t, sr, skew, kurt = 100, 0.5 / 252, 1250, 2.5 / math.sqrt(252), -3.0, 10.0
    z = NormalDist()
    g = 0.5772156649015329
    sr0 = math.sqrt(var) * ((1 - g) * z.inv_cdf(1 - 1 / n) + g * z.inv_cdf(1 - 1 / (n * math.e)))
    want = z.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    got = float(sw.deflated_sharpe(sr, n, var, t, skew, kurt))
    assert got == pytest.approx(want, rel=1e-12)
    assert float(sw.deflated_sharpe(sr, 1000, var, t, skew, kurt)) < got  # more tries, less credit


def test_persisted_sweep_links_top_runs_and_leaderboard_pages_stably(bars, database_url):
    grid = {"fast": [3, 5, 8, 13], "slow": [10, 21, 34]}
    result = sw.sweep(
        bars,
        "sma_cross",
        grid=grid,
        progress=False,
        persist=True,
        keep=3,
        chunk_size=4,
        tag="t1",
        pack="swingsigma",
        fees_bps=1,
    )
    assert len(result.run_ids) == 3
    with session_scope() as session:
        rows = session.query(SweepResult).filter_by(sweep_id=result.sweep_id).all()
        assert len(rows) == len(result.table)
        linked = {r.config_index: r.backtest_run_id for r in rows if r.backtest_run_id}
        assert linked == result.run_ids
        for r in rows:
            want = result.table.loc[r.config_index, "deflated_sharpe"]
            assert r.deflated_sharpe == pytest.approx(want, rel=1e-12)
        run = session.get(BacktestRun, result.run_ids[int(result.top(1).index[0])])
        assert run.sweep_id == result.sweep_id and run.lineage["bars_hash"]
    other = sw.sweep(
        bars,
        "sma_cross",
        grid={"fast": [5], "slow": [30]},
        progress=False,
        persist=True,
        keep=1,
        tag="t2",
        pack="zerosigma",
    )
    page = sw.leaderboard("sharpe", source="runs", limit=10)
    assert len(page.rows) == 4 and page.next_cursor is None
    assert list(page.rows["sharpe"]) == sorted(page.rows["sharpe"], reverse=True)
    assert set(sw.leaderboard(source="runs", tag="t2").rows["sweep_id"]) == {other.sweep_id}
    assert set(sw.leaderboard(source="runs", pack="swingsigma").rows["tag"]) == {"t1"}
    for verdict in (True, False):
        rows = sw.leaderboard(source="sweeps", gate_pass=verdict, limit=1000).rows
        want = int((result.table["gate_pass"] == verdict).sum() + (other.table["gate_pass"] == verdict).sum())
        assert len(rows) == want and (rows["gate_pass"] == verdict).all()
    seen, cursor = [], None
    while True:
        part = sw.leaderboard("total_return", source="sweeps", limit=4, cursor=cursor)
        seen += list(part.rows["id"])
        cursor = part.next_cursor
        if cursor is None:
            break
    everything = sw.leaderboard("total_return", source="sweeps", limit=1000).rows
    assert seen == list(everything["id"]) and len(set(seen)) == len(seen)
    assert all("spec_hash" in lin for lin in everything["lineage"])
    by_json = sw.leaderboard("sqn", source="sweeps", limit=1000).rows
    values = by_json["sqn"].dropna().to_list()
    assert values == sorted(values, reverse=True)


def test_ensemble_mean_vote_and_unanimity():
    idx = pd.date_range("2024-01-01", periods=3, freq="1D", tz="UTC")
    a = pd.DataFrame({"UP": [0.7, 0.6, 0.2], "DOWN": [0.3, 0.4, 0.8]}, index=idx)
    b = pd.DataFrame({"UP": [0.9, 0.3, 0.4], "DOWN": [0.1, 0.7, 0.6]}, index=idx)
    c = pd.DataFrame({"UP": [0.8, 0.55, 0.1], "DOWN": [0.2, 0.45, 0.9]}, index=idx)
    mean = sw.combine_scores([a, b], "mean", weights=[3, 1])
    assert mean["UP"].to_list() == pytest.approx([0.75, 0.525, 0.25])
    vote = sw.combine_scores([a, b, c], "vote", quorum=2, min_score=0.58)
    assert vote["UP"].to_list() == [1.0, 0.0, 0.0] and vote["DOWN"].to_list() == [0.0, 0.0, 1.0]
    unanimous = sw.combine_scores([a, b, c], "unanimous", min_score=0.5)
    assert unanimous["UP"].to_list() == [1.0, 0.0, 0.0] and unanimous["FLAT"].to_list() == [0.0, 1.0, 0.0]
    with pytest.raises(ConfigError, match="quorum"):
        sw.combine_scores([a, b], "vote", quorum=3)


def test_pack_presets_load_and_drive_a_sweep(bars, workspace):
    preset = load_preset("swingsigma", "sma_cross_basic")
    result = sw.sweep(bars, preset.strategy, progress=False, **preset.sweep_kwargs())
    assert (
        len(result.table) > 10 and result.table["fees_bps"].isna().all()
        if "fees_bps" in result.table
        else True
    )
    hours = load_preset("zerosigma", "threshold_by_hours")
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-01-02 14:30", periods=len(bars), freq="1h", tz="UTC")
    hourly = bars.set_axis(idx)
    scores = pd.Series(rng.uniform(0, 1, len(bars)), index=idx)
    out = sw.sweep(hourly, scores, progress=False, **hours.sweep_kwargs())
    assert len(out.table) == 20
    full = out.rerun(7)
    assert out.table.loc[7, "sharpe"] == pytest.approx(full.metrics["sharpe"], rel=1e-12)


def _ties_and_nulls_sweep(n: int = 23) -> int:
    """A sweep whose Sharpe ratios tie in threes and are NULL for every fifth configuration."""
    from sigma_lab.store import repo

    rows = [
        {
            "config_index": i,
            "params": {"i": i},
            "metrics": {"sharpe": None if i % 5 == 0 else float((i * 7) % 11 // 3), "total_return": 0.1},
        }
        for i in range(n)
    ]
    with session_scope() as session:
        sweep_id = repo.create_sweep(session, {"strategy": "sma_cross", "status": "succeeded"})
        repo.bulk_insert_sweep_results(session, sweep_id, rows)
    return sweep_id


@pytest.mark.parametrize("ascending", [False, True])
def test_keyset_pages_walk_ranked_rows_then_null_rows_by_id_on_every_database(database_url, ascending):
    sweep_id = _ties_and_nulls_sweep()
    _ties_and_nulls_sweep(7)
    with session_scope() as session:
        stored = [(r.id, r.sharpe) for r in session.query(SweepResult).filter_by(sweep_id=sweep_id)]
    ranked = sorted(
        (r for r in stored if r[1] is not None), key=lambda r: (r[1] if ascending else -r[1], r[0])
    )
    want = [r[0] for r in ranked] + sorted(r[0] for r in stored if r[1] is None)
    for limit in (1, 4, 18, 19, 50):
        seen, cursor, pages = [], None, 0
        while True:
            page = sw.leaderboard(
                "sharpe", source="sweeps", sweep_id=sweep_id, ascending=ascending, limit=limit, cursor=cursor
            )
            seen += list(page.rows["id"])
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == want, limit
        assert pages == max(1, -(-len(want) // limit))


def test_leaderboard_records_are_the_dataframe_rows_without_pandas(database_url):
    from sigma_lab.sweep.leaderboard import leaderboard_records

    sweep_id = _ties_and_nulls_sweep()
    page = sw.leaderboard("sharpe", source="sweeps", sweep_id=sweep_id, limit=10)
    records, cursor = leaderboard_records("sharpe", source="sweeps", sweep_id=sweep_id, limit=10)
    assert cursor == page.next_cursor
    assert [r["id"] for r in records] == list(page.rows["id"])
    assert list(records[0]) == list(page.rows.columns) and "sharpe" in records[0]
    with pytest.raises(ConfigError, match="cursor"):
        leaderboard_records("sharpe", source="sweeps", cursor="not-a-cursor")
