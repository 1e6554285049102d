"""The core functions a job can run by name, and the pipeline that chains them.

Every stage takes ``job_id`` (``None`` outside a job) and keyword parameters, does its work
through one ``sigma_lab`` call that records its run tied to the job (``job_id=``), and returns
a JSON-able dict.

:func:`pipeline` runs build -> sweep -> gate -> train, recording each stage on the job as it
goes and stopping with the reason when the gate fails. The sweep stage runs the job function
registered as ``"sweep"`` (:func:`sweep` by default; called as ``fn(job_id, symbol=...,
timeframe=..., source=..., strategy=..., base_params=..., risk_profile=..., start=..., end=...,
grid=..., preset=..., pack=..., keep=..., execution=..., model_id=..., packs_root=...)`` and
returning a dict with ``best_params``); it runs when the pipeline is given a ``grid`` or a pack
``preset`` and is recorded as skipped (with the reason) otherwise, the gate then using
``strategy_params`` as given.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sigma_lab.errors import ConfigError, NotFoundError, SigmaError

Stage = Callable[..., dict[str, Any]]

#: The pipeline's stages, in order.
PIPELINE_STAGES: tuple[str, ...] = ("build", "sweep", "gate", "train")


class PipelineStopped(SigmaError):
    """The pipeline stopped before its end on purpose (the gate failed); ``result`` says where and why."""

    def __init__(self, stage: str, reason: str, result: dict[str, Any]) -> None:
        self.stage = stage
        self.reason = reason
        self.result = result
        super().__init__(f"pipeline stopped at the {stage} stage: {reason}")


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def record_stage(job_id: int | None, stage: str, status: str, **info: Any) -> None:
    """Append a stage record to the job's ``result["stages"]`` and show it as the job's current stage."""
    if job_id is None:
        return
    from sigma_lab.store import Job, session_scope
    from sigma_lab.store.types import to_jsonable

    entry = {"stage": stage, "status": status, "at": dt.datetime.now(dt.UTC).isoformat(), **info}
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        result = dict(job.result or {})
        result["stages"] = [*result.get("stages", []), to_jsonable(entry)]
        job.result = result
        job.stage = stage


def build(job_id: int | None = None, *, model_id: str, start: str | None = None,
          end: str | None = None, packs_root: str | None = None) -> dict[str, Any]:
    """Build ``model_id``'s matrix, its build run tied to the job."""
    from sigma_lab.matrix import build_matrix

    result = build_matrix(model_id, start, end, root=packs_root, progress=False, job_id=job_id)
    return {
        "model_id": model_id,
        "build_run_id": result.run_id,
        "matrix_hash": result.matrix_hash,
        "rows": result.rows,
        "qa_status": result.qa_status,
        "matrix_path": str(result.matrix_path),
    }


def train(job_id: int | None = None, *, model_id: str, packs_root: str | None = None) -> dict[str, Any]:
    """Train ``model_id`` (building its matrix if missing), its training run tied to the job."""
    from sigma_lab.train import train as train_model

    result = train_model(model_id, root=packs_root, job_id=job_id)
    return {
        "model_id": model_id,
        "training_run_id": result.run_id,
        "metrics": {k: _finite(v) for k, v in result.metrics.items() if _finite(v) is not None},
        "artifact": str(result.artifact.path) if result.artifact else None,
    }


def backtest(
    job_id: int | None = None,
    *,
    symbol: str = "SPY",
    timeframe: str = "1h",
    strategy: str = "sma_cross",
    strategy_params: Mapping[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
    source: str = "sample",
    risk_profile: str = "balanced",
    model_id: str | None = None,
    execution: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Backtest a rule strategy on ``symbol`` bars with :func:`~sigma_lab.backtest.backtest_strategy`,
    gated under ``risk_profile`` and stored (re-runnable, with lineage) tied to the job.

    Returns ``backtest_run_id``, ``gate_pass``, ``gate_reasons``, ``risk_profile`` and the metrics.
    """
    from sigma_lab.backtest import backtest_strategy

    params = dict(strategy_params or {})
    clash = sorted(set(params) & set(execution or {}))
    if clash:
        raise ConfigError(f"backtest: {clash} given both as strategy parameters and as execution settings")
    run = backtest_strategy(
        symbol,
        strategy,
        timeframe=timeframe,
        source=source,
        start=start,
        end=end,
        risk_profile=risk_profile,
        model_id=model_id,
        job_id=job_id,
        **params,
        **dict(execution or {}),
    )
    return {
        "backtest_run_id": run.run_id,
        "gate_pass": run.gate.passed,
        "gate_reasons": list(run.gate.reasons),
        "risk_profile": run.gate.profile,
        "metrics": {k: _finite(v) for k, v in run.metrics.items() if _finite(v) is not None},
    }


#: Metrics a sweep stage reports for its best and top configurations.
SWEEP_METRICS: tuple[str, ...] = (
    "sharpe", "deflated_sharpe", "total_return", "max_drawdown", "trades", "gate_pass",
)


def _sweep_space(
    strategy: str,
    grid: Mapping[str, Sequence[Any]] | None,
    preset: str | None,
    pack: str | None,
    base_params: Mapping[str, Any] | None,
    execution: Mapping[str, Any] | None,
    packs_root: str | None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The strategy, the sweep keywords (grid, constraints, ...) and the fixed execution settings."""
    from sigma_lab.backtest.settings import EXECUTION_KEYS
    from sigma_lab.backtest.strategies import get_strategy

    if (grid is None) == (preset is None):
        raise ConfigError("sweep: give exactly one of grid={...} and preset=<name> (with pack=<pack>)")
    fixed = dict(execution or {})
    if preset is not None:
        if pack is None:
            raise ConfigError(f"sweep: preset {preset!r} needs the pack it belongs to (pack=...)")
        from sigma_lab.sweep_presets import load_preset

        chosen = load_preset(pack, preset, packs_root)
        if chosen.strategy is None:
            raise ConfigError(f"sweep: preset {preset!r} sweeps model scores; a job sweeps a rule strategy")
        strategy = chosen.strategy
        kwargs = chosen.sweep_kwargs()
        kwargs.pop("risk_profile")
        fixed = {**{k: kwargs.pop(k) for k in list(kwargs) if k in EXECUTION_KEYS}, **fixed}
    else:
        kwargs = {"grid": {k: list(v) for k, v in (grid or {}).items()}, "max_configs": None}
    own = {p.name for p in get_strategy(strategy).params}
    space = kwargs["grid"] if "grid" in kwargs else kwargs["random"]
    for name, value in (base_params or {}).items():
        if name in space:
            continue
        if name in own:
            space[name] = [value]
        else:
            fixed.setdefault(name, value)
    return strategy, kwargs, fixed


def attach_sweep(sweep_id: int | None, job_id: int | None, *, timeframe: str | None = None) -> None:
    """Tie a recorded sweep to the job that ran it (so the job publishes ``sweep.completed`` with it)."""
    if sweep_id is None:
        return
    import sqlalchemy as sa

    from sigma_lab.store import Sweep, session_scope

    values: dict[str, Any] = {"job_id": job_id}
    if timeframe is not None:
        values["timeframe"] = timeframe
    with session_scope() as session:
        if session.execute(sa.update(Sweep).where(Sweep.id == sweep_id).values(**values)).rowcount == 0:
            raise NotFoundError(f"sweep {sweep_id} does not exist")


def sweep(
    job_id: int | None = None,
    *,
    symbol: str = "SPY",
    timeframe: str = "1h",
    source: str = "sample",
    strategy: str = "sma_cross",
    grid: Mapping[str, Sequence[Any]] | None = None,
    preset: str | None = None,
    pack: str | None = None,
    base_params: Mapping[str, Any] | None = None,
    risk_profile: str = "balanced",
    keep: int = 3,
    rank_by: str = "sharpe",
    tag: str | None = None,
    model_id: str | None = None,
    max_configs: int | None = None,
    start: str | None = None,
    end: str | None = None,
    execution: Mapping[str, Any] | None = None,
    packs_root: str | None = None,
) -> dict[str, Any]:
    """Sweep a rule strategy over ``grid`` (or a pack's ``preset``) on ``symbol`` bars with
    :func:`sigma_lab.sweep.sweep`, persisted and tied to the job, the best ``keep`` re-run in full.

    ``base_params`` fix the strategy parameters the grid leaves out (and execution settings);
    ``execution`` holds fixed execution settings. Returns ``sweep_id``, ``n_configs``,
    ``best_params`` (the best configuration by ``rank_by``), its metrics and the ``top`` rows.
    """
    import sqlalchemy as sa

    from sigma_lab import data
    from sigma_lab.store import Job, session_scope
    from sigma_lab.sweep import budget, build_configs
    from sigma_lab.sweep import sweep as run_sweep

    if keep < 1:
        raise ConfigError(f"sweep: keep must be >= 1 (the best configurations re-run in full), got {keep}")
    strategy, kwargs, fixed = _sweep_space(strategy, grid, preset, pack, base_params, execution, packs_root)
    preset_budget = kwargs.pop("max_configs")
    max_configs = max_configs or preset_budget
    bars = data.load(symbol, timeframe, start, end, source)
    configs = build_configs(
        kwargs.get("grid"), kwargs.get("random"), kwargs.get("n_samples"), kwargs.get("seed", 0),
        kwargs.get("constraints", ()), strategy, budget(risk_profile, max_configs),
    )
    n_configs = len(configs)
    chunk_size = max(1, min(4096, -(-n_configs // 20)))
    done: list[int] = []

    def progress(number: int) -> None:
        done.append(number)
        if job_id is not None:
            share = min(0.99, len(done) * chunk_size / max(n_configs, 1))
            with session_scope() as session:
                session.execute(sa.update(Job).where(Job.id == job_id).values(progress=share))

    result = run_sweep(
        bars, strategy, **kwargs, risk_profile=risk_profile, max_configs=max_configs, chunk_size=chunk_size,
        progress=False, persist=True, keep=keep, rank_by=rank_by, tag=tag, pack=pack, model_id=model_id,
        ticker=str(symbol).strip().upper(), name=f"{strategy} on {symbol} {timeframe}", on_chunk=progress,
        **fixed,
    )
    attach_sweep(result.sweep_id, job_id, timeframe=timeframe)
    top = result.top(keep, by=rank_by)

    def row(index: int) -> dict[str, Any]:
        values = top.loc[index]
        metrics: dict[str, Any] = {k: _finite(values[k]) for k in SWEEP_METRICS}
        metrics["trades"] = int(values["trades"])
        metrics["gate_pass"] = bool(values["gate_pass"])
        return {"config_index": int(index), "params": result.config(int(index)),
                "backtest_run_id": result.run_ids.get(int(index)), **metrics}

    rows = [row(int(i)) for i in top.index]
    return {
        "sweep_id": result.sweep_id,
        "strategy": strategy,
        "n_configs": len(result.table),
        "rank_by": rank_by,
        "best_params": rows[0]["params"] if rows else {},
        "best": rows[0] if rows else None,
        "top": rows,
        "execution": fixed,
    }


def pipeline(
    job_id: int | None = None,
    *,
    model_id: str,
    strategy: str = "sma_cross",
    strategy_params: Mapping[str, Any] | None = None,
    risk_profile: str = "balanced",
    packs_root: str | None = None,
    start: str | None = None,
    end: str | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    preset: str | None = None,
    keep: int = 1,
    execution: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """build -> sweep -> gate -> train for ``model_id``; raises :class:`PipelineStopped` when the gate fails.

    The sweep stage runs when ``grid`` or ``preset`` (a sweep preset of the model's pack) is
    given, with ``strategy_params`` fixing what the grid leaves out. The gate backtests
    ``strategy`` (with the sweep's best parameters when a sweep ran, else ``strategy_params``)
    and ``execution`` on the model's ticker and timeframe under ``risk_profile``.
    """
    from sigma_lab.packs import get_model_config

    config = get_model_config(model_id, root=Path(packs_root) if packs_root else None)
    if not config.ticker:
        raise ConfigError(f"pipeline: model {model_id!r} has no single ticker to backtest the strategy on")
    summary: dict[str, Any] = {"model_id": model_id}

    record_stage(job_id, "build", "running")
    summary["build"] = build(job_id, model_id=model_id, start=start, end=end, packs_root=packs_root)
    record_stage(job_id, "build", "succeeded", **summary["build"])

    params = dict(strategy_params or {})
    sweep_stage = FUNCTIONS.get("sweep")
    if sweep_stage is not None and (grid is not None or preset is not None):
        record_stage(job_id, "sweep", "running")
        summary["sweep"] = sweep_stage(
            job_id, symbol=config.ticker, timeframe=config.data.timeframe, source=config.data.source,
            strategy=strategy, base_params=params, risk_profile=risk_profile, start=start, end=end,
            grid=grid, preset=preset, pack=config.pack, keep=keep, execution=execution,
            model_id=model_id, packs_root=packs_root,
        )
        strategy = summary["sweep"].get("strategy") or strategy
        params = dict(summary["sweep"].get("best_params") or params)
        record_stage(job_id, "sweep", "succeeded", **summary["sweep"])
    elif sweep_stage is None:
        record_stage(job_id, "sweep", "skipped", reason="no job function is registered as 'sweep'")
    else:
        reason = "no grid or preset given; the gate uses strategy_params"
        record_stage(job_id, "sweep", "skipped", reason=reason)

    record_stage(job_id, "gate", "running")
    verdict = backtest(
        job_id,
        symbol=config.ticker,
        timeframe=config.data.timeframe,
        strategy=strategy,
        strategy_params=params,
        start=start,
        end=end,
        source=config.data.source,
        risk_profile=risk_profile,
        model_id=model_id,
        execution={**dict(execution or {}), **dict((summary.get("sweep") or {}).get("execution") or {})},
    )
    summary["gate"] = {**verdict, "strategy": strategy, "strategy_params": params}
    if not verdict["gate_pass"]:
        reasons = ", ".join(verdict["gate_reasons"])
        reason = f"gate failed under the {verdict['risk_profile']} profile: {reasons}"
        record_stage(job_id, "gate", "failed", reason=reason, **summary["gate"])
        raise PipelineStopped("gate", reason, summary)
    record_stage(job_id, "gate", "succeeded", **summary["gate"])

    record_stage(job_id, "train", "running")
    summary["train"] = train(job_id, model_id=model_id, packs_root=packs_root)
    record_stage(job_id, "train", "succeeded", **summary["train"])
    return summary


#: Core functions a job can run by name.
FUNCTIONS: dict[str, Stage] = {
    "build": build,
    "train": train,
    "backtest": backtest,
    "sweep": sweep,
    "pipeline": pipeline,
}


def register(name: str, fn: Stage) -> None:
    """Make ``fn(job_id, **params) -> dict`` runnable as a function job called ``name``."""
    if not name or not callable(fn):
        raise ConfigError(f"register: need a name and a callable, got {name!r} and {fn!r}")
    FUNCTIONS[name] = fn


def get_function(name: str) -> Stage:
    """The registered function ``name``."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise NotFoundError(f"no job function named {name!r}; registered: {sorted(FUNCTIONS)}") from None
