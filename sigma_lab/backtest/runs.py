"""Backtests that are stored and can be re-run exactly: trained models and rule strategies.

- :func:`run_model` backtests a trained model on its **out-of-fold** probabilities only (the
  scores each walk-forward fold's model gave rows it never trained on; the final model, fit on
  every row, is never asked to predict). Each fold's test span runs on its own, starting flat
  with fresh cash, and the whole out-of-fold span runs once more as the combined result, which
  the gate judges.
- :func:`backtest_strategy` loads bars through :func:`sigma_lab.data.load`, runs a named rule
  strategy and records it.
- :func:`record_backtest` writes a run, its folds and its trade ledger in one transaction, with
  everything needed to re-run it: the bars spec or the model and training run, the strategy and
  its parameters, the execution settings fully resolved (``periods_per_year`` included), and the
  lineage hashes (bars, matrix, config, model artifact, package version).
- :func:`rerun` rebuilds a stored run from its row and raises :class:`LineageMismatchError` when
  the inputs no longer hash to what was recorded, rather than silently giving other numbers.

Model defaults come from the model config (``backtest`` section), and keywords override them:

===============================  ===============================================
config ``backtest``              run keyword
===============================  ===============================================
``threshold``                    ``long_threshold`` and ``short_threshold``
``fill``                         ``fill``
``fee_rate`` (fraction)          ``fees_bps`` (``fee_rate * 1e4``)
``slippage_rate`` (fraction)     ``slippage_bps`` (``slippage_rate * 1e4``)
``allow_short``                  ``direction`` (``"both"`` if true, else ``"long"``)
``hold_bars`` (default horizon)  ``time_stop``
===============================  ===============================================

The config's ``score`` section names the metric the leaderboard ranks the model by and the
minimum number of trades a run needs to be ranked (:attr:`ModelBacktest.score`).

Model backtests are single-ticker for now: a universe model whose matrix stacks several
tickers raises :class:`~sigma_lab.errors.ConfigError` (the rows of different tickers share
timestamps, and one bar frame per backtest is the engine's contract).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

import sigma_lab
from sigma_lab.backtest.engine import BacktestResult
from sigma_lab.backtest.gate import PROFILES, GateResult, gate
from sigma_lab.backtest.metrics import METRIC_KEYS, PERCENT_METRICS, periods_per_year
from sigma_lab.backtest.scores import resolve_score_keywords, run_scores
from sigma_lab.backtest.settings import (
    EXECUTION_KEYS,
    execution_settings,
)
from sigma_lab.backtest.strategies import get_strategy, run_strategy
from sigma_lab.data.bars import BAR_COLUMNS, OPTIONAL_COLUMNS, validate_bars
from sigma_lab.errors import ConfigError, NotFoundError, SigmaError

RUN_KINDS: tuple[str, ...] = ("strategy", "model", "signals")
_FOLD_METRICS = ("trades", "total_return", "sharpe", "max_drawdown", "win_rate")


class LineageMismatchError(SigmaError):
    """The inputs of a stored run (bars, matrix, model) no longer hash to what was recorded."""


@dataclass(frozen=True)
class StrategyBacktest:
    """A rule-strategy backtest with its gate verdict, re-run spec, lineage and store id."""

    result: BacktestResult
    gate: GateResult
    params: dict[str, Any]
    lineage: dict[str, Any]
    run_id: int | None = None

    @property
    def metrics(self) -> dict[str, float]:
        """The backtest's metrics."""
        return self.result.metrics


@dataclass(frozen=True)
class ModelBacktest:
    """A trained model's backtest on its out-of-fold scores.

    ``folds`` has one row per walk-forward fold (its train and test time ranges, the number of
    out-of-fold rows and bars in the test span, and that fold's own metrics); ``fold_results``
    the fold backtests themselves; ``combined`` the backtest over the whole out-of-fold span,
    which ``gate`` judges. ``score`` is the config's ranking metric, its value and whether the
    run has the trades to be ranked.
    """

    model_id: str
    training_run_id: int | None
    combined: BacktestResult
    folds: pd.DataFrame
    fold_results: tuple[BacktestResult, ...]
    gate: GateResult
    score: dict[str, Any]
    params: dict[str, Any]
    lineage: dict[str, Any]
    run_id: int | None = None
    fold_spans: tuple[tuple[pd.Timestamp, pd.Timestamp], ...] = field(default=(), repr=False)

    @property
    def metrics(self) -> dict[str, float]:
        """The combined backtest's metrics."""
        return self.combined.metrics


# --- helpers ---------------------------------------------------------------------------------------


def bars_hash(bars: pd.DataFrame) -> str:
    """sha256 of a bar frame's content (column names, dtypes, values, index)."""
    from sigma_lab.matrix import matrix_hash

    return matrix_hash(bars)


def _check_profile(risk_profile: str) -> None:
    if risk_profile not in PROFILES:
        raise ConfigError(f"unknown risk_profile {risk_profile!r}; use one of {sorted(PROFILES)}")


def _bps(fraction: float) -> float:
    return round(fraction * 1e4, 10)


def model_defaults(model_id: str) -> dict[str, Any]:
    """The run keywords a model config's ``backtest`` section stands for (see the module docs)."""
    from sigma_lab.packs import get_model_config

    config = get_model_config(model_id)
    spec = config.backtest
    return {
        "long_threshold": spec.threshold,
        "short_threshold": spec.threshold,
        "fill": spec.fill,
        "fees_bps": _bps(spec.fee_rate),
        "slippage_bps": _bps(spec.slippage_rate),
        "direction": "both" if spec.allow_short else "long",
        "time_stop": spec.hold_bars if spec.hold_bars is not None else config.label.horizon,
        "larger_class": spec.larger_class,
        **_direction_labels(config),
    }


def _direction_labels(config: Any) -> dict[str, str]:
    """Which named classes are the long and the short score: class +1 favours a long
    (UP, TAKE_PROFIT), class -1 a short (DOWN, STOP_LOSS)."""
    from sigma_lab.labels import get as get_label

    names = get_label(config.label.kind).class_names(**config.label.params) or {}
    out = {}
    if 1 in names:
        out["up_label"] = names[1]
    if -1 in names:
        out["down_label"] = names[-1]
    return out


def _model_scores(oof: pd.DataFrame, classes: Mapping[str, str] | None) -> pd.DataFrame | pd.Series:
    """Out-of-fold probabilities as ``run_scores`` reads them: columns named by class names
    (UP/DOWN/FLAT...) when the label has them, the probability of class 1 for an unnamed 0/1 label."""
    if classes:
        return oof.rename(columns=lambda c: classes.get(str(c), str(c)))
    if sorted(str(c) for c in oof.columns) == ["0", "1"]:
        return oof["1"].rename("p_up")
    return oof


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _nan_to_none(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


# --- model backtests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ModelInputs:
    config: Any
    manifest: dict[str, Any]
    model: Any
    bars: pd.DataFrame
    scores: pd.DataFrame | pd.Series
    spans: list[tuple[int, int, int]]


def _load_model_inputs(model_id: str, run_id: int | None) -> _ModelInputs:
    """The model config, matrix bars, trained model and out-of-fold scores, checked to line up."""
    from sigma_lab.matrix import load_matrix
    from sigma_lab.packs import get_model_config
    from sigma_lab.train import load_model

    config = get_model_config(model_id)
    frame, manifest = load_matrix(model_id)
    tickers = sorted(frame["ticker"].astype(str).unique()) if "ticker" in frame.columns else []
    if len(tickers) > 1:
        raise ConfigError(
            f"run_model: model {model_id!r} has a universe matrix of {len(tickers)} tickers "
            f"({', '.join(tickers[:5])}{', ...' if len(tickers) > 5 else ''}); model backtests are "
            "single-ticker only for now: backtest a single-ticker model, or run_scores on one "
            "ticker's bars and out-of-fold scores"
        )
    model = load_model(run_id if run_id is not None else model_id)
    if model.model_id is not None and model.model_id != model_id:
        raise ConfigError(f"run_model: training run {run_id} trained {model.model_id!r}, not {model_id!r}")
    if model.oof is None or model.oof_fold is None:
        raise NotFoundError(
            f"training run {model.run_id} of {model_id!r} has no out-of-fold scores; retrain it"
        )
    trained_on = (model.card.get("lineage") or {}).get("matrix_hash")
    current = manifest["lineage"]["matrix_hash"]
    if trained_on is not None and trained_on != current:
        raise LineageMismatchError(
            f"the matrix of {model_id!r} (hash {current[:12]}) is not the one training run "
            f"{model.run_id} used (hash {trained_on[:12]}); retrain the model or rebuild its matrix"
        )
    if len(model.oof) != len(frame) or not model.oof.index.equals(frame.index):
        raise LineageMismatchError(
            f"the out-of-fold scores of training run {model.run_id} do not line up with the rows "
            f"of {model_id!r}'s matrix; retrain the model"
        )
    columns = [c for c in (*BAR_COLUMNS, *OPTIONAL_COLUMNS) if c in frame.columns]
    bars = validate_bars(frame[columns])
    scores = _model_scores(model.oof, manifest.get("classes"))
    fold_of = model.oof_fold.to_numpy(dtype="float64", na_value=np.nan)
    spans = []
    for k in sorted({int(v) for v in fold_of[~np.isnan(fold_of)]}):
        pos = np.flatnonzero(fold_of == k)
        spans.append((k, int(pos[0]), int(pos[-1]) + 1))
    if not spans:
        raise NotFoundError(f"training run {model.run_id} of {model_id!r} scored no row out of fold")
    return _ModelInputs(config, manifest, model, bars, scores, spans)


def _card_folds(card: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(f["fold"]): f for f in card.get("folds") or [] if "fold" in f}


def _fold_row(k: int, result: BacktestResult, scores: Any, card_fold: Mapping[str, Any]) -> dict[str, Any]:
    known = scores.notna().all(axis=1) if isinstance(scores, pd.DataFrame) else scores.notna()
    scored = int(known.sum())
    return {
        "fold": k,
        "train_start": _timestamp(card_fold.get("train_start")),
        "train_end": _timestamp(card_fold.get("train_end")),
        "n_train": card_fold.get("n_train"),
        "test_start": result.bars.index[0],
        "test_end": result.bars.index[-1],
        "n_test": scored,
        "bars": len(result.bars),
        "final_equity": result.final_equity,
        **result.metrics,
    }


def _score_value(metric: str, metrics: Mapping[str, float], card: Mapping[str, Any]) -> float | None:
    if metric == "hit_rate":
        return metrics.get("win_rate")
    if metric in metrics:
        return metrics[metric]
    value = (card.get("metrics") or {}).get(metric)
    return None if value is None else float(value)


def run_model(
    model_id: str,
    *,
    run_id: int | None = None,
    fold_by_fold: bool = True,
    store: bool = True,
    tag: str | None = None,
    risk_profile: str = "balanced",
    job_id: int | None = None,
    **score_params_and_execution: Any,
) -> ModelBacktest:
    """Backtest the trained model ``model_id`` on its out-of-fold scores, per fold and combined.

    ``run_id`` picks the training run (default: the latest successful one). Keywords are score
    parameters (:class:`ScoreParams`) and execution settings; they override the model config's
    backtest defaults. An unknown or invalid keyword raises ConfigError naming it before
    anything is loaded or written. With ``store`` the run is recorded (:func:`record_backtest`),
    tied to the job ``job_id`` when given.
    """
    from sigma_lab.packs import content_hash

    _check_profile(risk_profile)
    kw = {**model_defaults(model_id), **score_params_and_execution}
    score_params, settings = resolve_score_keywords(kw, "run_model")
    inputs = _load_model_inputs(model_id, run_id)
    bars, scores, model = inputs.bars, inputs.scores, inputs.model
    if settings.periods_per_year is None:
        settings = execution_settings(settings, periods_per_year=periods_per_year(bars.index))
    run_kw = {**score_params.model_dump(), **settings.model_dump()}
    card_folds = _card_folds(model.card)
    rows: list[dict[str, Any]] = []
    fold_results: list[BacktestResult] = []
    if fold_by_fold:
        for k, lo, hi in inputs.spans:
            result = run_scores(bars.iloc[lo:hi], scores.iloc[lo:hi], **run_kw)
            fold_results.append(result)
            rows.append(_fold_row(k, result, scores.iloc[lo:hi], card_folds.get(k, {})))
    lo, hi = inputs.spans[0][1], inputs.spans[-1][2]
    combined = run_scores(bars.iloc[lo:hi], scores.iloc[lo:hi], **run_kw)
    verdict = gate(combined.metrics, risk_profile)
    spec = inputs.config.score
    value = _score_value(spec.metric, combined.metrics, model.card)
    params = {
        "model_id": model_id,
        "training_run_id": model.run_id,
        "fold_by_fold": fold_by_fold,
        "ticker": (inputs.manifest.get("tickers") or [inputs.config.ticker])[0],
        "timeframe": inputs.config.data.timeframe,
        "source": inputs.config.data.source,
        "score": score_params.model_dump(mode="json"),
        "execution": settings.model_dump(mode="json"),
    }
    lineage = {
        "bars_hash": bars_hash(combined.bars),
        "matrix_hash": inputs.manifest["lineage"]["matrix_hash"],
        "config_hash": content_hash(inputs.config.model_dump(mode="json", exclude={"description"})),
        "model_sha256": model.sha256,
        "training_run_id": model.run_id,
        "settings_hash": content_hash({"score": params["score"], "execution": params["execution"]}),
        "package_version": sigma_lab.__version__,
    }
    fold_columns = [
        "fold",
        "train_start",
        "train_end",
        "n_train",
        "test_start",
        "test_end",
        "n_test",
        "bars",
        "final_equity",
        *METRIC_KEYS,
    ]
    out = ModelBacktest(
        model_id=model_id,
        training_run_id=model.run_id,
        combined=combined,
        folds=pd.DataFrame(rows, columns=fold_columns),
        fold_results=tuple(fold_results),
        gate=verdict,
        score={
            "metric": spec.metric,
            "value": value,
            "min_trades": spec.min_trades,
            "eligible": bool(combined.metrics["trades"] >= spec.min_trades),
        },
        params=params,
        lineage=lineage,
        fold_spans=tuple((bars.index[a], bars.index[b - 1]) for _, a, b in inputs.spans),
    )
    if not store:
        return out
    seed = (model.card.get("spec") or {}).get("seed")
    stored = record_backtest(
        out.combined,
        kind="model",
        model_id=model_id,
        pack=inputs.config.pack,
        params=params,
        lineage=lineage,
        folds=out.folds,
        tag=tag,
        risk_profile=risk_profile,
        seed=seed,
        fold_starts=[start for start, _ in out.fold_spans],
        job_id=job_id,
    )
    return dataclasses.replace(out, run_id=stored)


# --- recording ---------------------------------------------------------------------------------------


def _fold_records(folds: pd.DataFrame | Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    if folds is None:
        return []
    rows = folds.to_dict(orient="records") if isinstance(folds, pd.DataFrame) else [dict(f) for f in folds]
    out = []
    for row in rows:
        metrics = {k: row[k] for k in (*METRIC_KEYS, "bars", "final_equity") if k in row}
        record: dict[str, Any] = {
            "fold": int(row["fold"]),
            "metrics": _nan_to_none(metrics),
        }
        for name in ("train_start", "train_end", "test_start", "test_end"):
            ts = _timestamp(row.get(name))
            record[name] = ts.to_pydatetime() if ts is not None else None
        for name in ("n_train", "n_test"):
            value = row.get(name)
            record[name] = None if value is None or pd.isna(value) else int(value)
        out.append(record)
    return out


def ledger_rows(
    trades: pd.DataFrame, ticker: str | None = None, fold_starts: Sequence[pd.Timestamp] | None = None
) -> pd.DataFrame:
    """The engine's trade ledger as the store keeps it: side ``long``/``short``, the ticker and,
    for model backtests, the fold whose test span holds the entry."""
    out = trades.copy()
    out["side"] = np.where(out["side"].to_numpy(dtype=np.int64) > 0, "long", "short").astype(object)
    out["ticker"] = ticker
    if fold_starts:
        starts = pd.DatetimeIndex(fold_starts)
        out["fold"] = starts.searchsorted(pd.DatetimeIndex(out["entry_time"]), side="right") - 1
    return out


def _execution(result: BacktestResult) -> dict[str, Any]:
    """The execution settings of ``result`` with ``periods_per_year`` resolved."""
    execution = result.settings.model_dump(mode="json")
    execution["periods_per_year"] = result.periods_per_year
    return execution


def run_spec(
    result: BacktestResult,
    kind: str,
    params: Mapping[str, Any],
    *,
    strategy: str | None = None,
    model_id: str | None = None,
) -> dict[str, Any]:
    """The stored re-run spec of ``result``: ``params`` plus the kind, the strategy (name and
    parameters) or model, and the fully resolved execution settings."""
    spec = dict(params)
    if kind == "strategy":
        strategy = strategy or result.params.get("strategy")
        if strategy is None:
            raise ConfigError("record_backtest: a strategy run needs the strategy name")
        get_strategy(strategy)
        bars_spec = spec.get("bars")
        if not isinstance(bars_spec, Mapping) or not {"symbol", "source", "timeframe"} <= set(bars_spec):
            raise ConfigError(
                "record_backtest: a strategy run needs params['bars'] with symbol, source "
                "and timeframe (and start, end) so it can be re-run"
            )
        spec["strategy"] = strategy
        spec["strategy_params"] = {k: v for k, v in result.params.items() if k != "strategy"}
    elif kind == "model":
        model_id = model_id or spec.get("model_id")
        if model_id is None:
            raise ConfigError("record_backtest: a model run needs model_id")
        spec["model_id"] = model_id
        spec.setdefault("score", result.params)
    spec["kind"] = kind
    spec["execution"] = _execution(result)
    return spec


def run_lineage(
    result: BacktestResult, spec: Mapping[str, Any], lineage: Mapping[str, Any]
) -> dict[str, Any]:
    """``lineage`` with the bars' content hash, a config hash of the run spec (unless given)
    and the package version."""
    from sigma_lab.packs import content_hash

    out = {**lineage, "package_version": sigma_lab.__version__}
    out.setdefault("bars_hash", bars_hash(result.bars))
    out.setdefault("config_hash", content_hash({k: v for k, v in spec.items() if k != "kind"}))
    return out


def record_backtest(
    result: BacktestResult,
    *,
    kind: str = "strategy",
    model_id: str | None = None,
    pack: str | None = None,
    strategy: str | None = None,
    params: Mapping[str, Any],
    lineage: Mapping[str, Any],
    folds: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    tag: str | None = None,
    risk_profile: str = "balanced",
    seed: int | None = None,
    started_at: dt.datetime | None = None,
    fold_starts: Sequence[pd.Timestamp] | None = None,
    job_id: int | None = None,
) -> int:
    """Store a backtest run, its folds and its trade ledger in one transaction; return its id.

    ``params`` is the re-run spec: for ``kind="strategy"`` a ``bars`` dict (``symbol``,
    ``source``, ``timeframe``, ``start``, ``end``, optional ``options``); for ``kind="model"``
    ``model_id``, ``training_run_id`` and the ``score`` parameters. The strategy name and
    parameters, the execution settings (with ``periods_per_year`` resolved) and the gate verdict
    under ``risk_profile`` are added from ``result``; ``lineage`` gets the bars' content hash and
    the package version. ``model_id`` on a strategy run names the model it was run for (the
    pipeline's gate); ``job_id`` ties the run to a job. Everything is checked before the
    transaction opens; a failure while writing rolls the whole run back.
    """
    from sigma_lab.store import repo, session_scope

    if kind not in RUN_KINDS:
        raise ConfigError(f"record_backtest: kind {kind!r} is not one of {list(RUN_KINDS)}")
    _check_profile(risk_profile)
    if not isinstance(result, BacktestResult):
        raise ConfigError(f"record_backtest: expected a BacktestResult, got {type(result).__name__}")
    spec = run_spec(result, kind, params, strategy=strategy, model_id=model_id)
    strategy, model_id = spec.get("strategy", strategy), spec.get("model_id", model_id)
    verdict = gate(result.metrics, risk_profile)
    lineage_out = run_lineage(result, spec, lineage)
    bars_spec = spec.get("bars") if isinstance(spec.get("bars"), Mapping) else {}
    ticker = bars_spec.get("symbol") or spec.get("ticker")
    run = {
        "model_id": model_id,
        "pack": pack,
        "status": "succeeded",
        "params": spec,
        "lineage": lineage_out,
        "seed": seed,
        "package_version": sigma_lab.__version__,
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC),
        "strategy": strategy,
        "tag": tag,
        "risk_profile": risk_profile,
        "ticker": ticker,
        "timeframe": bars_spec.get("timeframe") or spec.get("timeframe"),
        "range_start": result.bars.index[0].to_pydatetime(),
        "range_end": result.bars.index[-1].to_pydatetime(),
        "metrics": result.metrics,
        "gate_pass": verdict.passed,
        "gate_reasons": list(verdict.reasons),
        "training_run_id": spec.get("training_run_id") if kind == "model" else None,
        "job_id": job_id,
    }
    fold_rows = _fold_records(folds)
    ledger = ledger_rows(result.trades, ticker, fold_starts)
    with session_scope() as session:
        return repo.record_backtest_run(session, run, fold_rows, ledger)


# --- strategies ---------------------------------------------------------------------------------------


def backtest_strategy(
    symbol: str,
    strategy: str,
    *,
    timeframe: str = "1d",
    source: str = "sample",
    start: Any = None,
    end: Any = None,
    source_options: Mapping[str, Any] | None = None,
    store: bool = True,
    tag: str | None = None,
    risk_profile: str = "balanced",
    model_id: str | None = None,
    job_id: int | None = None,
    **params_and_execution: Any,
) -> StrategyBacktest:
    """Load ``symbol``'s bars, backtest the rule strategy ``strategy`` on them and record the run.

    ``source_options`` go to the bar source (e.g. ``{"path": "spy.csv"}`` for ``csv``). The
    strategy's parameters sit beside the execution keywords; anything invalid raises before
    bars are loaded or anything is written. The stored run names ``model_id`` when the
    strategy was run for a model, and is tied to the job ``job_id`` when given.
    """
    from sigma_lab import data

    _check_profile(risk_profile)
    strat = get_strategy(strategy)
    own = {p.name for p in strat.params}
    unknown = sorted(set(params_and_execution) - own - EXECUTION_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown keyword {unknown[0]!r} for strategy {strategy!r}; it takes {sorted(own)} "
            f"and the execution settings {sorted(EXECUTION_KEYS)}"
        )
    strat.resolve({k: v for k, v in params_and_execution.items() if k in own})
    execution_settings(**{k: v for k, v in params_and_execution.items() if k not in own})
    options = dict(source_options or {})
    bars = data.load(symbol, timeframe, start, end, source, **options)
    result = run_strategy(bars, strategy, **params_and_execution)
    spec = {
        "bars": {
            "symbol": str(symbol).strip().upper(),
            "source": source,
            "timeframe": timeframe,
            "start": None if start is None else str(start),
            "end": None if end is None else str(end),
            "first": result.bars.index[0].isoformat(),
            "last": result.bars.index[-1].isoformat(),
            "options": options,
        }
    }
    full = run_spec(result, "strategy", spec, strategy=strategy)
    lineage = run_lineage(result, full, {})
    out = StrategyBacktest(result, gate(result.metrics, risk_profile), full, lineage)
    if not store:
        return out
    stored = record_backtest(
        result,
        kind="strategy",
        strategy=strategy,
        params=spec,
        lineage=lineage,
        tag=tag,
        risk_profile=risk_profile,
        model_id=model_id,
        job_id=job_id,
    )
    return dataclasses.replace(out, run_id=stored)


# --- re-running ------------------------------------------------------------------------------------------


def _check_hash(found: str, stored: str | None, what: str, run_id: int) -> None:
    if stored is not None and found != stored:
        raise LineageMismatchError(
            f"backtest run {run_id}: the {what} changed since the run was stored "
            f"(hash {found[:12]} != recorded {stored[:12]}); the re-run would not be exact"
        )


def rerun(run_id: int) -> BacktestResult:
    """Rebuild the stored backtest run ``run_id`` from its row: reload its bars (or the model's
    out-of-fold scores) and run with the same settings. Raises :class:`LineageMismatchError`
    when the bars, matrix or model no longer hash to what the run recorded."""
    from sigma_lab import data
    from sigma_lab.data.sources import get_source
    from sigma_lab.store import repo, session_scope

    with session_scope() as session:
        row = repo.get_backtest_run(session, run_id, ledger=False)
    params, lineage = row["params"] or {}, row["lineage"] or {}
    kind = params.get("kind")
    execution = params.get("execution") or {}
    if kind == "strategy":
        spec = params["bars"]
        options = spec.get("options") or {}
        remote = get_source(spec["source"], **options).remote
        bars = data.load(
            spec["symbol"],
            spec["timeframe"],
            spec["first"],
            spec["last"],
            spec["source"],
            refresh=not remote,
            **options,
        )
        bars = validate_bars(bars)
        _check_hash(bars_hash(bars), lineage.get("bars_hash"), f"bars of {spec['symbol']}", run_id)
        return run_strategy(bars, params["strategy"], **params["strategy_params"], **execution)
    if kind == "model":
        inputs = _load_model_inputs(params["model_id"], params["training_run_id"])
        _check_hash(
            inputs.manifest["lineage"]["matrix_hash"],
            lineage.get("matrix_hash"),
            f"matrix of {params['model_id']!r}",
            run_id,
        )
        _check_hash(inputs.model.sha256, lineage.get("model_sha256"), "model artifact", run_id)
        lo, hi = inputs.spans[0][1], inputs.spans[-1][2]
        bars = inputs.bars.iloc[lo:hi]
        _check_hash(bars_hash(bars), lineage.get("bars_hash"), f"bars of {params['model_id']!r}", run_id)
        return run_scores(bars, inputs.scores.iloc[lo:hi], **params["score"], **execution)
    raise ConfigError(
        f"backtest run {run_id} is a {kind or 'unknown'!s} run; only strategy and model runs store what "
        "a re-run needs"
    )


# --- reports and the command line ------------------------------------------------------------------------


def _fmt(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if key in PERCENT_METRICS:
        return f"{100 * float(value):.2f} %"
    if key in ("trades", "max_drawdown_duration", "bars", "n_test"):
        return f"{int(value)}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return f"{float(value):.4f}"


def format_report(
    backtest: BacktestResult | StrategyBacktest | ModelBacktest, risk_profile: str = "balanced"
) -> str:
    """A plain-text report: what ran, the metrics, the per-fold table and the gate verdict.

    ``risk_profile`` applies to a bare :class:`BacktestResult`; the others carry their verdict.
    """
    lines: list[str] = []
    folds = None
    if isinstance(backtest, ModelBacktest):
        result, verdict = backtest.combined, backtest.gate
        lines.append(
            f"Backtest of model {backtest.model_id} (training run {backtest.training_run_id}) "
            "on out-of-fold scores"
        )
        folds = backtest.folds
    elif isinstance(backtest, StrategyBacktest):
        result, verdict = backtest.result, backtest.gate
        bars = backtest.params.get("bars", {})
        lines.append(
            f"Backtest of {result.params.get('strategy')} on {bars.get('symbol')} "
            f"{bars.get('timeframe')} ({bars.get('source')})"
        )
    else:
        result, verdict = backtest, gate(backtest.metrics, risk_profile)
        lines.append(f"Backtest {result.params or ''}".rstrip())
    idx = result.bars.index
    lines.append(
        f"Period: {_fmt('', idx[0])} to {_fmt('', idx[-1])} UTC, {len(idx)} bars; "
        f"final equity {result.final_equity:,.2f}"
    )
    lines.append("")
    width = max(len(k) for k in METRIC_KEYS)
    lines.append(f"{'metric':<{width}}  value")
    lines.append(f"{'-' * width}  {'-' * 12}")
    lines += [f"{k:<{width}}  {_fmt(k, result.metrics.get(k))}" for k in METRIC_KEYS]
    if folds is not None and len(folds):
        lines.append("")
        header = ["fold", "test_start", "test_end", "bars", *_FOLD_METRICS]
        table = [header] + [
            [
                str(int(r["fold"])),
                _fmt("", r["test_start"]),
                _fmt("", r["test_end"]),
                _fmt("bars", r["bars"]),
                *(_fmt(k, r[k]) for k in _FOLD_METRICS),
            ]
            for r in folds.to_dict(orient="records")
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    if isinstance(backtest, ModelBacktest):
        s = backtest.score
        lines.append("")
        lines.append(
            f"Score ({s['metric']}): {_fmt(s['metric'], s['value'])}; "
            f"{'ranked' if s['eligible'] else 'not ranked'} (min_trades {s['min_trades']})"
        )
    lines.append("")
    status = "PASS" if verdict.passed else "FAIL (" + ", ".join(verdict.reasons) + ")"
    lines.append(f"Gate ({verdict.profile}): {status}")
    run_id = getattr(backtest, "run_id", None)
    if run_id is not None:
        lines.append(f"Stored as backtest run {run_id}")
    return "\n".join(lines) + "\n"


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``["fast=10", "fees_bps=1.5", "allowed_hours=[10, 11]"]`` as keywords (YAML values)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"setting {item!r} is not of the form key=value")
        try:
            out[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise ConfigError(f"setting {key!r}: cannot read the value {text!r}") from None
    return out


def backtest_command(
    target: str,
    *,
    strategy: str | None = None,
    timeframe: str | None = None,
    source: str | None = None,
    start: str | None = None,
    end: str | None = None,
    run_id: int | None = None,
    settings: Sequence[str] = (),
    store: bool = True,
    tag: str | None = None,
    risk_profile: str = "balanced",
) -> tuple[StrategyBacktest | ModelBacktest, str]:
    """What ``sigma-lab backtest`` does: with ``strategy``, backtest that rule strategy on the
    symbol ``target``; without, backtest the trained model ``target`` (training run ``run_id``,
    default the latest). ``settings`` are ``key=value`` strategy, score and execution keywords.
    Returns the backtest and its :func:`format_report` text."""
    kw = parse_settings(settings)
    if strategy is None:
        given = {"timeframe": timeframe, "source": source, "start": start, "end": end}
        stray = [k for k, v in given.items() if v is not None]
        if stray:
            raise ConfigError(
                f"{stray[0]} applies to strategy backtests; a model backtests on its own matrix"
            )
        out: StrategyBacktest | ModelBacktest = run_model(
            target, run_id=run_id, store=store, tag=tag, risk_profile=risk_profile, **kw
        )
    else:
        if run_id is not None:
            raise ConfigError("run_id (a training run) applies to model backtests, not strategies")
        out = backtest_strategy(
            target,
            strategy,
            timeframe=timeframe or "1d",
            source=source or "sample",
            start=start,
            end=end,
            store=store,
            tag=tag,
            risk_profile=risk_profile,
            **kw,
        )
    return out, format_report(out)
