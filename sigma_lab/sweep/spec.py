"""Sweep specifications: a cartesian grid or seeded random sampling, constraints and a budget.

A configuration is one row of a DataFrame whose columns are parameter names: rule-strategy
parameters, execution settings (fees, stops, sizing) and score parameters. Constraints are
pandas expressions over those columns (``"fast < slow"``) or callables returning a boolean
mask; a strategy's own orderings (fast < slow) are always applied. The budget caps the number
of configurations: ``max_configs`` when given, else the risk profile's budget
(:data:`BUDGETS`), so a stricter profile tries fewer things.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError

#: Default maximum number of configurations per risk profile.
BUDGETS: dict[str, int] = {"conservative": 10_000, "balanced": 100_000, "aggressive": 1_000_000}

Constraint = str | Callable[[pd.DataFrame], Any]


def budget(risk_profile: str = "balanced", max_configs: int | None = None) -> int:
    """The configuration budget: ``max_configs`` if given, else the risk profile's."""
    if max_configs is not None:
        if max_configs < 1:
            raise ConfigError(f"max_configs must be >= 1, got {max_configs}")
        return int(max_configs)
    try:
        return BUDGETS[risk_profile]
    except KeyError:
        raise ConfigError(f"unknown risk_profile {risk_profile!r}; use one of {sorted(BUDGETS)}") from None


def _values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray | range):
        raise ConfigError(f"grid[{name!r}] must be a list of values, got {values!r}")
    out = list(values)
    if not out:
        raise ConfigError(f"grid[{name!r}] is empty")
    return [v.item() if isinstance(v, np.generic) else (tuple(v) if isinstance(v, list) else v) for v in out]


def _apply(frame: pd.DataFrame, constraints: Sequence[Constraint]) -> pd.DataFrame:
    for rule in constraints:
        try:
            mask = frame.eval(rule) if isinstance(rule, str) else rule(frame)
        except Exception as exc:
            raise ConfigError(f"sweep constraint {rule!r} failed: {exc}") from None
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(frame),):
            raise ConfigError(f"sweep constraint {rule!r} must give one boolean per configuration")
        frame = frame[mask]
    return frame.reset_index(drop=True)


def grid_configs(
    grid: Mapping[str, Any], constraints: Sequence[Constraint] = (), *, limit: int
) -> pd.DataFrame:
    """Every combination of the grid's values (last name varies fastest) that meets the constraints."""
    if not grid:
        raise ConfigError("the sweep grid is empty; give at least one parameter with values")
    names = list(grid)
    lists = [_values(n, grid[n]) for n in names]
    total = int(np.prod([len(v) for v in lists], dtype=np.float64))
    if total > 50 * limit and not constraints:
        raise ConfigError(
            f"the grid has {total} configurations, over the budget of {limit}; shrink it or raise max_configs"
        )
    frame = pd.DataFrame(list(itertools.product(*lists)), columns=names)
    frame = _apply(frame, constraints)
    if len(frame) > limit:
        raise ConfigError(
            f"the grid has {len(frame)} configurations after constraints, over the budget of "
            f"{limit}; shrink it, sample randomly or raise max_configs"
        )
    return frame


def _draw(name: str, dist: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(dist, Mapping):
        low, high = dist.get("low"), dist.get("high")
        if low is None or high is None or not low < high:
            raise ConfigError(f"random[{name!r}] needs low < high, got {dict(dist)}")
        if dist.get("log"):
            draws = np.exp(rng.uniform(np.log(low), np.log(high), n))
        else:
            draws = rng.uniform(low, high, n)
        return np.floor(draws).astype(np.int64) if dist.get("int") else draws
    values = _values(name, dist)
    picks = rng.integers(0, len(values), n)
    return np.asarray([values[i] for i in picks], dtype=object)


def random_configs(
    space: Mapping[str, Any], n: int, seed: int, constraints: Sequence[Constraint] = (), *, limit: int
) -> pd.DataFrame:
    """``n`` distinct configurations drawn with ``seed``: lists are sampled uniformly, mappings
    ``{low, high, log, int}`` from (log-)uniform ranges; the same seed gives the same draws."""
    if n > limit:
        raise ConfigError(f"n_samples={n} is over the budget of {limit}; lower it or raise max_configs")
    if n < 1:
        raise ConfigError(f"n_samples must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(columns=list(space))
    for _ in range(20):
        draw = pd.DataFrame({name: _draw(name, dist, 4 * n, rng) for name, dist in space.items()})
        draw = _apply(draw, constraints)
        frame = pd.concat([frame, draw], ignore_index=True) if len(frame) else draw
        frame = frame.drop_duplicates(ignore_index=True)
        if len(frame) >= n:
            break
    frame = frame.iloc[:n].reset_index(drop=True)
    for col in frame.columns:
        frame[col] = pd.Series(frame[col].tolist(), dtype=None)
    return frame
