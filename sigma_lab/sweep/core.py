"""``sweep(bars, "sma_cross", grid=...)``: run many configurations, rank them, keep the best.

The configurations (a grid or seeded random draws, see :mod:`sigma_lab.sweep.spec`) are cut
into chunks; an executor runs each chunk through the batched kernels; with ``persist=True``
every finished chunk is written to the store at once (results bulk inserted, the chunk number
appended to the sweep's ``chunks_done``), so ``sweep(..., resume=sweep_id)`` after an
interruption only runs the chunks still missing. Each row gets the deflated Sharpe ratio given
the number of configurations tried and the gate verdict of the risk profile; the top ``keep``
configurations are re-run in full with the single-run engine and recorded as backtest runs
linked to the sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sigma_lab.backtest import batch
from sigma_lab.backtest.engine import BacktestResult
from sigma_lab.backtest.gate import gate
from sigma_lab.backtest.metrics import periods_per_year
from sigma_lab.backtest.scores import run_scores
from sigma_lab.backtest.settings import EXECUTION_KEYS, execution_settings
from sigma_lab.backtest.strategies import get_strategy, run_strategy
from sigma_lab.data.bars import validate_bars
from sigma_lab.errors import ConfigError
from sigma_lab.packs import content_hash
from sigma_lab.sweep.deflated import deflate_table
from sigma_lab.sweep.evaluate import SweepContext
from sigma_lab.sweep.executors import get_executor
from sigma_lab.sweep.spec import Constraint, budget, grid_configs, random_configs

if TYPE_CHECKING:
    import plotly.graph_objects as go

METRICS: tuple[str, ...] = (*batch.OUT_COLUMNS, "deflated_sharpe", "gate_pass")
DEFAULT_CHUNK = 4096


@dataclass
class SweepResult:
    """A finished sweep: one row per configuration (parameters, then metrics)."""

    table: pd.DataFrame
    params: list[str]
    strategy: str | None
    bars: pd.DataFrame = field(repr=False)
    execution: dict[str, Any] = field(default_factory=dict)
    scores: Any = field(default=None, repr=False)
    risk_profile: str = "balanced"
    sweep_id: int | None = None
    run_ids: dict[int, int] = field(default_factory=dict)

    def top(self, k: int = 10, by: str = "sharpe", ascending: bool = False) -> pd.DataFrame:
        """The ``k`` best rows by ``by`` (NaN last; ties keep configuration order)."""
        if by not in self.table.columns:
            raise ConfigError(f"cannot rank by {by!r}; columns are {list(self.table.columns)}")
        return self.table.sort_values(by, ascending=ascending, na_position="last", kind="stable").head(k)

    def config(self, index: int) -> dict[str, Any]:
        """The parameters of configuration ``index`` as plain Python values."""
        row = {name: self.table.at[index, name] for name in self.params}
        out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}

    def rerun(self, index: int) -> BacktestResult:
        """Configuration ``index`` re-run in full (equity, trades) by the single-run engine."""
        params = {**self.execution, **self.config(index)}
        if self.strategy is None:
            return run_scores(self.bars, self.scores, **params)
        return run_strategy(self.bars, self.strategy, **params)

    def heatmap(self, x: str, y: str, metric: str = "sharpe", agg: str = "max") -> go.Figure:
        """A plotly heatmap of ``metric`` over two parameters (other parameters aggregated by ``agg``)."""
        from sigma_lab.sweep.plots import heatmap

        return heatmap(self.table, x, y, metric, agg)

    def parallel(self, metric: str = "sharpe") -> go.Figure:
        """A plotly parallel-coordinates view of the parameters coloured by ``metric``."""
        from sigma_lab.sweep.plots import parallel_coordinates

        return parallel_coordinates(self.table, self.params, metric)


def _split(bars: pd.DataFrame, strategy: str, execution: Mapping[str, Any]) -> None:
    unknown = sorted(set(execution) - EXECUTION_KEYS)
    if unknown:
        raise ConfigError(f"unknown execution keyword {unknown[0]!r} for sweep({strategy!r}, ...)")


def build_configs(
    grid: Mapping[str, Any] | None,
    random: Mapping[str, Any] | None,
    n_samples: int | None,
    seed: int,
    constraints: Sequence[Constraint],
    strategy: str | None,
    limit: int,
) -> pd.DataFrame:
    """The configurations of a sweep: grid or random draws, with the strategy's orderings applied."""
    rules = list(constraints)
    if strategy is not None:
        rules += [
            f"{lo} < {hi}"
            for lo, hi in get_strategy(strategy).checks
            if lo in (grid or random or {}) and hi in (grid or random or {})
        ]
    if (grid is None) == (random is None):
        raise ConfigError("give exactly one of grid={...} or random={...} (with n_samples)")
    if grid is not None:
        return grid_configs(grid, rules, limit=limit)
    if n_samples is None:
        raise ConfigError("random sampling needs n_samples")
    return random_configs(random, n_samples, seed, rules, limit=limit)


def _finish_table(
    configs: pd.DataFrame, metrics: np.ndarray, ppy: float, n_returns: int, risk_profile: str
) -> pd.DataFrame:
    table = configs.copy()
    for j, name in enumerate(batch.OUT_COLUMNS):
        table[name] = metrics[:, j]
    table["trades"] = table["trades"].astype(np.int64)
    table["max_drawdown_duration"] = table["max_drawdown_duration"].astype(np.int64)
    table["deflated_sharpe"] = deflate_table(
        table["sharpe"].to_numpy(), ppy, n_returns, table["skew"].to_numpy(), table["kurtosis"].to_numpy()
    )
    cols = ["trades", "sharpe", "max_drawdown", "total_return"]
    values = table[cols].to_numpy(dtype=np.float64)
    table["gate_pass"] = [gate(dict(zip(cols, v, strict=True)), risk_profile).passed for v in values]
    table.index.name = "config_index"
    return table


def sweep(
    bars: pd.DataFrame,
    strategy: str | Any,
    grid: Mapping[str, Any] | None = None,
    *,
    random: Mapping[str, Any] | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    constraints: Sequence[Constraint] = (),
    max_configs: int | None = None,
    risk_profile: str = "balanced",
    chunk_size: int = DEFAULT_CHUNK,
    executor: Any = None,
    progress: bool = True,
    persist: bool = False,
    resume: int | None = None,
    keep: int = 0,
    rank_by: str = "sharpe",
    name: str | None = None,
    tag: str | None = None,
    pack: str | None = None,
    model_id: str | None = None,
    ticker: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
    **execution: Any,
) -> SweepResult:
    """Sweep a rule strategy (``strategy`` is its name) or model scores (a Series/DataFrame).

    ``grid`` maps parameter names to value lists (cartesian product); ``random`` maps them to
    value lists or ``{low, high, log, int}`` ranges sampled ``n_samples`` times with ``seed``.
    Parameters may be the strategy's, execution settings or score parameters; the remaining
    keywords are fixed execution settings. ``persist`` records the sweep (``resume`` continues a
    recorded one); ``keep`` re-runs and records the best ``keep`` configurations by ``rank_by``.
    """
    bars = validate_bars(bars)
    strat_name = strategy if isinstance(strategy, str) else None
    scores = None if strat_name is not None else strategy
    if strat_name is not None:
        get_strategy(strat_name)
    _split(bars, str(strategy if strat_name else "scores"), execution)
    execution_settings(**execution)
    if resume is not None:
        persist = True
    limit = budget(risk_profile, max_configs)
    configs = build_configs(grid, random, n_samples, seed, constraints, strat_name, limit)
    ctx = SweepContext(bars=bars, strategy=strat_name, execution=dict(execution), scores=scores)
    ctx.kinds(list(configs.columns))
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
    chunks = [(i, configs.iloc[s : s + chunk_size]) for i, s in enumerate(range(0, len(configs), chunk_size))]
    spec = {
        "strategy": strat_name,
        "grid": grid,
        "random": random,
        "n_samples": n_samples,
        "seed": seed,
        "constraints": [c for c in constraints if isinstance(c, str)],
        "execution": execution,
        "chunk_size": chunk_size,
        "n_configs": len(configs),
        "configs_hash": content_hash(configs.to_dict(orient="list")),
    }
    from sigma_lab.backtest.runs import bars_hash

    lineage = {"bars_hash": bars_hash(bars), "spec_hash": content_hash(spec)}
    if scores is not None:
        lineage["scores_hash"] = content_hash(pd.DataFrame(scores).to_dict(orient="list"))
    metrics = np.full((len(configs), batch.N_OUT), np.nan)
    done: set[int] = set()
    sweep_id = None
    if persist:
        from sigma_lab.sweep import persist as store

        meta = {
            "name": name,
            "strategy": strat_name,
            "tag": tag,
            "risk_profile": risk_profile,
            "pack": pack,
            "model_id": model_id,
            "ticker": ticker,
            "spec": spec,
            "lineage": lineage,
            "seed": seed,
        }
        sweep_id, done = store.open_sweep(meta, resume, len(configs))
        for _number, rows in store.finished_chunks(sweep_id, done):
            metrics[rows[:, 0].astype(np.int64)] = rows[:, 1:]
    todo = [(i, frame) for i, frame in chunks if i not in done]
    runner = get_executor(executor)
    bar = tqdm(
        total=len(configs),
        initial=len(configs) - sum(len(f) for _, f in todo),
        disable=not progress,
        desc=f"sweep {strat_name or 'scores'}",
        unit="cfg",
    )
    try:
        for number, rows in runner.map_chunks(ctx, todo):
            frame = chunks[number][1]
            metrics[frame.index.to_numpy()] = rows
            if persist:
                store.save_chunk(sweep_id, number, frame, rows, risk_profile)
            bar.update(len(frame))
            if on_chunk is not None:
                on_chunk(number)
    except BaseException:
        if persist:
            store.mark(sweep_id, "failed")
        raise
    finally:
        bar.close()
    ppy = float(execution.get("periods_per_year") or periods_per_year(bars.index))
    table = _finish_table(configs, metrics, ppy, len(bars), risk_profile)
    result = SweepResult(
        table, list(configs.columns), strat_name, bars, dict(execution), scores, risk_profile, sweep_id
    )
    if persist:
        result.run_ids = store.finish(result, keep, rank_by, lineage)
    return result


def walk_forward(
    bars: pd.DataFrame,
    strategy: str | Any,
    grid: Mapping[str, Any],
    *,
    n_folds: int = 4,
    anchored: bool = False,
    constraints: Sequence[Constraint] = (),
    max_configs: int | None = None,
    risk_profile: str = "balanced",
    **execution: Any,
) -> pd.DataFrame:
    """Every configuration scored in-sample and out-of-sample on each walk-forward fold.

    The bars are cut into ``n_folds + 1`` equal segments; fold k trains on segment k (segments
    0..k when ``anchored``) and tests on segment k+1. Indicators and signals come from the full
    history (each only looks back), and each window is simulated from a flat start. Returns a
    long table: ``fold``, ``sample`` (``in``/``out``), ``config_index``, the parameters, metrics.
    """
    bars = validate_bars(bars)
    if n_folds < 1:
        raise ConfigError(f"n_folds must be >= 1, got {n_folds}")
    strat_name = strategy if isinstance(strategy, str) else None
    _split(bars, str(strategy), execution)
    configs = build_configs(grid, None, None, 0, constraints, strat_name, budget(risk_profile, max_configs))
    edges = np.linspace(0, len(bars), n_folds + 2).astype(int)
    if np.any(np.diff(edges) < 2):
        raise ConfigError(f"{len(bars)} bars are too few for {n_folds} walk-forward folds")
    frames = []
    for fold in range(n_folds):
        windows = {
            "in": (0 if anchored else edges[fold], edges[fold + 1]),
            "out": (edges[fold + 1], edges[fold + 2]),
        }
        for sample, (t0, t1) in windows.items():
            ctx = SweepContext(
                bars=bars,
                strategy=strat_name,
                execution=dict(execution),
                scores=None if strat_name else strategy,
                t0=int(t0),
                t1=int(t1),
            )
            from sigma_lab.sweep.evaluate import evaluate_chunk

            rows = evaluate_chunk(ctx, configs)
            part = configs.copy()
            for j, name in enumerate(batch.OUT_COLUMNS):
                part[name] = rows[:, j]
            part.insert(0, "config_index", np.arange(len(configs)))
            part.insert(0, "sample", sample)
            part.insert(0, "fold", fold)
            part["start"] = bars.index[t0]
            part["end"] = bars.index[t1 - 1]
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def walk_forward_summary(folds: pd.DataFrame, metric: str = "sharpe") -> pd.DataFrame:
    """Per fold, the configuration best in-sample by ``metric`` and its out-of-sample ``metric``."""
    ins = folds[folds["sample"] == "in"]
    outs = folds[folds["sample"] == "out"].set_index(["fold", "config_index"])
    rows = []
    for fold, part in ins.groupby("fold"):
        best = part.sort_values(metric, ascending=False, na_position="last", kind="stable").iloc[0]
        rows.append(
            {
                "fold": fold,
                "config_index": int(best["config_index"]),
                f"in_{metric}": best[metric],
                f"out_{metric}": outs.loc[(fold, int(best["config_index"])), metric],
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        out.attrs["mean_out"] = float(np.nanmean(out[f"out_{metric}"])) if len(out) else math.nan
    return out
