"""Backtests driven by model scores.

Scores at bar t are known at t's close (out-of-fold probabilities from training), so orders they
decide fill under the same execution rules as any signal. Two shapes are accepted:

- a probability of "up" per bar (Series or array): the long score is ``p``, the short score
  ``1 - p`` and the confidence ``max(p, 1 - p)``;
- class probabilities (a DataFrame with columns such as ``UP``/``DOWN``/``FLAT``, matched
  case-insensitively via ``up_label``/``down_label``): the long score is P(up), the short
  score P(down), the confidence the largest class probability, and the side is the larger
  class (a bar whose largest class is neither up nor down, e.g. FLAT, or is tied, takes no side).
  ``larger_class=False`` drops that rule: a side may trade whenever its score reaches its
  threshold, as an asymmetric label needs (a 2:1 triple barrier pays off above P(take profit)
  = 1/3, while STOP_LOSS may still be the likelier class); when both sides qualify the larger
  score takes the bar.

A side's condition at t holds when its score is at least its threshold and beats the other
side's score, the confidence is at least ``min_confidence``, the bar's New York hour (of its
timestamp) is in ``allowed_hours``, the momentum gate agrees (long only after a positive
``momentum_bars``-bar return, short only after a negative one) and, with ``top_pct``, the
confidence reaches the ``1 - top_pct`` quantile of the confidences of the *previous* New York
session (the current session's later bars are unknown at t, so ranking within it would look
ahead; the first session has no reference and takes no trades). Entries are the bars where
the condition holds; with ``exit_when_off`` (default) a position exits on the first bar where
its condition no longer holds, otherwise only brackets, time stop and opposite entries exit.
``sizing="confidence"`` commits ``size x confidence`` of equity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from sigma_lab.backtest.engine import BacktestResult, simulate_signals
from sigma_lab.backtest.settings import EXECUTION_KEYS, ExecutionSettings, execution_settings, pydantic_error
from sigma_lab.data.bars import validate_bars
from sigma_lab.errors import ConfigError


class ScoreParams(BaseModel):
    """How model scores become signals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    long_threshold: float = 0.55
    short_threshold: float = 0.55
    top_pct: float | None = None
    allowed_hours: tuple[int, ...] | None = None
    min_confidence: float = 0.0
    momentum_bars: int | None = None
    exit_when_off: bool = True
    larger_class: bool = True
    up_label: str = "UP"
    down_label: str = "DOWN"

    @field_validator("allowed_hours")
    @classmethod
    def _hours(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None:
            bad = [h for h in value if not 0 <= h <= 23]
            if bad or not value:
                raise ValueError(f"hours must be New York hours 0..23 (non-empty), got {list(value)}")
        return value

    @model_validator(mode="after")
    def _check(self) -> ScoreParams:
        for name in ("long_threshold", "short_threshold", "min_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.top_pct is not None and not 0.0 < self.top_pct <= 1.0:
            raise ValueError(f"top_pct must be within (0, 1], got {self.top_pct}")
        if self.momentum_bars is not None and self.momentum_bars < 1:
            raise ValueError(f"momentum_bars must be >= 1, got {self.momentum_bars}")
        return self


SCORE_KEYS: frozenset[str] = frozenset(ScoreParams.model_fields)


def _column(frame: pd.DataFrame, label: str) -> pd.Series:
    for col in frame.columns:
        if str(col).lower() == label.lower():
            return frame[col]
    raise ConfigError(f"scores have no {label!r} column (columns: {[str(c) for c in frame.columns]})")


def _aligned(values: Any, index: pd.DatetimeIndex) -> pd.Series | pd.DataFrame:
    if isinstance(values, (pd.Series, pd.DataFrame)):
        if not values.index.equals(index):
            if not isinstance(values.index, pd.DatetimeIndex) or not values.index.isin(index).any():
                raise ConfigError("scores share no timestamps with the bars")
            values = values.reindex(index)
        return values
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (len(index),):
        raise ConfigError(f"scores have shape {arr.shape}; expected one value per bar ({len(index)},)")
    return pd.Series(arr, index=index)


def score_signals(
    bars: pd.DataFrame, scores: Any, params: ScoreParams, *, direction: str = "both"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long condition, short condition and confidence per bar (see the module docstring).

    ``direction`` says which sides may trade at all, so a side that cannot trade never
    suppresses the other."""
    idx = bars.index
    aligned = _aligned(scores, idx)
    if isinstance(aligned, pd.DataFrame):
        probs = aligned.apply(pd.to_numeric, errors="coerce").astype("float64")
        long_score = _column(probs, params.up_label).to_numpy()
        short_score = _column(probs, params.down_label).to_numpy()
        matrix = probs.to_numpy()
        with np.errstate(invalid="ignore"):
            confidence = np.max(matrix, axis=1)
        valid = ~np.isnan(matrix).any(axis=1)
        unique_max = (matrix == confidence[:, None]).sum(axis=1) == 1
        if params.larger_class:
            long_side = valid & unique_max & (long_score >= confidence)
            short_side = valid & unique_max & (short_score >= confidence)
        else:
            long_side = short_side = valid
    else:
        long_score = pd.to_numeric(aligned, errors="coerce").astype("float64").to_numpy()
        short_score = 1.0 - long_score
        confidence = np.fmax(long_score, short_score)
        valid = ~np.isnan(long_score)
        long_side = short_side = valid
        matrix = long_score
    finite = matrix[~np.isnan(matrix)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise ConfigError("scores must be probabilities within [0, 1]")
    with np.errstate(invalid="ignore"):
        common = valid & (confidence >= params.min_confidence)
        long_hit = long_side & (long_score >= params.long_threshold) & (direction != "short")
        short_hit = short_side & (short_score >= params.short_threshold) & (direction != "long")
        if params.larger_class:
            long_ok = common & long_hit & (long_score > short_score)
            short_ok = common & short_hit & (short_score > long_score)
        else:
            long_ok = common & long_hit & ~(short_hit & (short_score >= long_score))
            short_ok = common & short_hit & ~(long_hit & (long_score >= short_score))
    ny = idx.tz_convert("America/New_York")
    if params.allowed_hours is not None:
        hours_ok = np.isin(ny.hour, np.asarray(params.allowed_hours))
        long_ok &= hours_ok
        short_ok &= hours_ok
    if params.momentum_bars is not None:
        close = bars["close"].to_numpy()
        mom = np.full(len(close), np.nan)
        k = params.momentum_bars
        mom[k:] = close[k:] / close[:-k] - 1.0
        with np.errstate(invalid="ignore"):
            long_ok &= mom > 0
            short_ok &= mom < 0
    if params.top_pct is not None:
        session = pd.Series(ny.date, index=idx)
        conf = pd.Series(confidence, index=idx)
        cutoff = conf.groupby(session.to_numpy()).quantile(1.0 - params.top_pct)
        previous = cutoff.shift(1)
        threshold = previous.reindex(session.to_numpy()).to_numpy()
        with np.errstate(invalid="ignore"):
            top_ok = confidence >= threshold
        long_ok &= top_ok
        short_ok &= top_ok
    return long_ok, short_ok, confidence


def resolve_score_keywords(kw: Mapping[str, Any], what: str) -> tuple[ScoreParams, ExecutionSettings]:
    """Score parameters and execution settings from one set of keywords; an unknown or invalid
    keyword raises ConfigError naming it (``what`` says whose keywords they are)."""
    unknown = sorted(set(kw) - SCORE_KEYS - EXECUTION_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown keyword {unknown[0]!r} for {what}; score keywords are {sorted(SCORE_KEYS)}, "
            f"execution keywords {sorted(EXECUTION_KEYS)}"
        )
    try:
        params = ScoreParams(**{k: v for k, v in kw.items() if k in SCORE_KEYS})
    except ValidationError as exc:
        raise pydantic_error(exc, "score parameter") from None
    return params, execution_settings(**{k: v for k, v in kw.items() if k in EXECUTION_KEYS})


def run_scores(bars: pd.DataFrame, scores: Any, **score_params_and_execution: Any) -> BacktestResult:
    """Backtest model scores (known at each bar's close) under the execution settings.

    Score keywords are those of :class:`ScoreParams`, beside the execution keywords; an
    unknown or invalid one raises ConfigError naming it.
    """
    params, settings = resolve_score_keywords(score_params_and_execution, "run_scores")
    bars = validate_bars(bars)
    long_ok, short_ok, confidence = score_signals(bars, scores, params, direction=settings.direction)
    long_exit = ~long_ok if params.exit_when_off else np.zeros_like(long_ok)
    short_exit = ~short_ok if params.exit_when_off else np.zeros_like(short_ok)
    short = settings.direction != "long"
    return simulate_signals(
        bars,
        long_ok,
        long_exit,
        short_ok if short else None,
        short_exit if short else None,
        settings=settings,
        confidence=confidence,
        params=params.model_dump(),
        validated=True,
    )
