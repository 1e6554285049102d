"""The indicator registry: every indicator declares its metadata once, here.

An indicator is a function ``fn(bars, **params) -> dict[output, np.ndarray]`` registered with
:func:`indicator`, or, registered with ``fills=True``, ``fn(bars, out, **params)`` writing
output ``j`` into row ``out[j]`` of the result block (no temporaries, no copy). The registry
validates parameters against their declared bounds, names the output columns predictably
(``rsi_14``, ``macd_12_26_9_signal``) and builds the pandas result, so indicator functions
stay thin wrappers over numba kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sigma_lab.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One parameter of an indicator: its default and inclusive bounds."""

    name: str
    default: int | float | str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    description: str = ""

    def check(self, indicator: str, value: Any) -> int | float | str:
        kind = type(self.default)
        if self.choices is not None:
            if value not in self.choices:
                raise ConfigError(f"{indicator}: {self.name}={value!r} is not one of {list(self.choices)}")
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ConfigError(f"{indicator}: {self.name} must be a whole number, got {value!r}")
            value = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ConfigError(f"{indicator}: {self.name} must be a number, got {value!r}")
            value = float(value)
        if self.low is not None and value < self.low:
            raise ConfigError(f"{indicator}: {self.name}={value} is below its minimum {self.low}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"{indicator}: {self.name}={value} is above its maximum {self.high}")
        return value


@dataclass(frozen=True)
class Indicator:
    """Metadata and implementation of one registered indicator."""

    name: str
    category: str
    description: str
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    fn: Callable[..., Mapping[str, np.ndarray]]
    warmup: Callable[..., int]
    inputs: tuple[str, ...] = ("close",)
    talib: str | None = None
    check: Callable[..., str | None] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    fills: bool = False

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in; unknown names, out-of-bounds values and inconsistent combinations rejected."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"indicator {self.name!r} has no parameter {unknown[0]!r}; it takes {list(known) or 'none'}"
            )
        resolved = {n: p.check(self.name, params.get(n, p.default)) for n, p in known.items()}
        if self.check is not None:
            problem = self.check(**resolved)
            if problem:
                raise ConfigError(f"{self.name}: {problem}")
        return resolved

    def prefix(self, params: Mapping[str, Any]) -> str:
        resolved = self.resolve(params)
        parts = [self.name] + [_fmt(resolved[p.name]) for p in self.params]
        return "_".join(parts)

    def columns(self, **params: Any) -> list[str]:
        """Output column names for these parameters: ``<name>_<params>[_<output>]``."""
        prefix = self.prefix(params)
        return [prefix if out == "" else f"{prefix}_{out}" for out in self.outputs]

    def warmup_bars(self, **params: Any) -> int:
        """Bars needed before the first valid value."""
        return int(self.warmup(**self.resolve(params)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", "p").replace("-", "m")
    return str(value)


_REGISTRY: dict[str, Indicator] = {}


def indicator(
    name: str,
    category: str,
    *,
    params: tuple[Param, ...] = (),
    outputs: tuple[str, ...] = ("",),
    warmup: Callable[..., int] | int = 0,
    inputs: tuple[str, ...] = ("close",),
    talib: str | None = None,
    check: Callable[..., str | None] | None = None,
    fills: bool = False,
    **extra: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(bars, **params)`` returning ``{output: array}`` under ``name``.

    With ``fills=True`` the function is ``fn(bars, out, **params) -> None`` instead and writes
    output ``j`` (in ``outputs`` order) into the float64 row ``out[j]``, every element of it;
    that row becomes the result column without a copy. The docstring's first line becomes the
    catalogue description. ``check(**params)`` may return a message naming a parameter when a
    combination is invalid (``fast`` >= ``slow``). ``warmup`` is the number of leading bars
    without a valid value; :func:`compute` blanks them.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"indicator {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        wu = warmup if callable(warmup) else (lambda **_: warmup)
        _REGISTRY[name] = Indicator(
            name=name,
            category=category,
            description=doc[0] if doc else "",
            params=params,
            outputs=outputs,
            fn=fn,
            warmup=wu,
            inputs=inputs,
            talib=talib,
            check=check,
            extra=extra,
            fills=fills,
        )
        return fn

    return decorate


def registry() -> Mapping[str, Indicator]:
    """All registered indicators by name."""
    _load_all()
    return dict(_REGISTRY)


def get(name: str) -> Indicator:
    """The indicator called ``name``; a clear error names the close matches when unknown."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown indicator {name!r}{hint}") from None


@dataclass(frozen=True)
class _Plan:
    """What :func:`compute` needs for one (indicator, parameters) call, resolved once."""

    params: Mapping[str, Any]
    columns: pd.Index
    warmup: int


_PLANS: dict[tuple[Any, ...], _Plan] = {}
_PLANS_LIMIT = 4096


def _plan(ind: Indicator, params: Mapping[str, Any]) -> _Plan:
    """Resolved parameters, column index and warm-up, cached per indicator and parameter values.

    The key holds each value's ``repr``, so ``14``, ``14.0`` and ``True`` never share an entry
    (``True`` must still be rejected as a period). Invalid parameters raise and are not cached.
    """
    key = (ind.name, *((k, repr(v)) for k, v in sorted(params.items())))
    plan = _PLANS.get(key)
    if plan is None:
        resolved = ind.resolve(params)
        plan = _Plan(resolved, pd.Index(ind.columns(**resolved)), int(ind.warmup(**resolved)))
        if len(_PLANS) >= _PLANS_LIMIT:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def compute(bars: pd.DataFrame, name: str, **params: Any) -> pd.DataFrame:
    """Compute one indicator on a bar frame; a DataFrame of its output columns on the bars' index.

    Every output is NaN on the first ``warmup`` bars, so the declared warm-up is the contract.
    The result is backed by one float64 block (outputs by bars) with no copy after the kernels.
    """
    ind = get(name)
    plan = _plan(ind, params)
    block = np.empty((len(plan.columns), len(bars)), dtype="float64")
    _fill(ind, plan, bars, block)
    # a shallow copy of the cached column index, so renaming one result's axis leaves the cache alone
    return pd.DataFrame(block.T, index=bars.index, columns=plan.columns.copy(), copy=False)


def compute_into(bars: pd.DataFrame, name: str, out: np.ndarray, **params: Any) -> None:
    """Write one indicator's outputs into the rows of ``out`` (outputs by bars), warm-up as NaN.

    The array form of :func:`compute`, for callers that gather many indicators in one table.
    """
    ind = get(name)
    plan = _plan(ind, params)
    if out.shape != (len(plan.columns), len(bars)):
        raise ValueError(f"out has shape {out.shape}; {name!r} needs {(len(plan.columns), len(bars))}")
    _fill(ind, plan, bars, out)


def _fill(ind: Indicator, plan: _Plan, bars: pd.DataFrame, block: np.ndarray) -> None:
    missing = [c for c in ind.inputs if c not in bars.columns]
    if missing:
        raise ConfigError(f"indicator {ind.name!r} needs columns {missing} that the bars do not have")
    n = len(bars)
    if ind.fills:
        ind.fn(bars, block, **plan.params)
    else:
        values = ind.fn(bars, **plan.params)
        for j, out in enumerate(ind.outputs):
            arr = np.asarray(values[out], dtype="float64")
            if arr.shape != (n,):
                raise RuntimeError(
                    f"indicator {ind.name!r} output {out!r} has shape {arr.shape}, expected {(n,)}"
                )
            block[j] = arr
    if plan.warmup > 0:
        block[:, : plan.warmup] = np.nan


def catalog() -> pd.DataFrame:
    """A table of every indicator: category, description, parameters, outputs, warm-up, TA-Lib twin."""
    rows = []
    for ind in sorted(registry().values(), key=lambda i: (i.category, i.name)):
        rows.append(
            {
                "name": ind.name,
                "category": ind.category,
                "description": ind.description,
                "params": {p.name: p.default for p in ind.params},
                "bounds": {p.name: (p.choices or (p.low, p.high)) for p in ind.params},
                "columns": ind.columns(),
                "warmup": ind.warmup_bars(),
                "inputs": list(ind.inputs),
                "talib": ind.talib,
            }
        )
    return pd.DataFrame(rows)


def _load_all() -> None:
    """Import the modules that register indicators (idempotent)."""
    from sigma_lab.indicators import _modules  # noqa: F401
