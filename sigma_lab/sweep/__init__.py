"""Sweeps: many configurations through batched kernels, ranked with multiple-testing honesty.

``sigma_lab.sweep(bars, "sma_cross", grid={"fast": [...], "slow": [...]}, fees_bps=1)`` returns a
:class:`SweepResult` (``.table``, ``.top(k, by=...)``, ``.heatmap(x, y, metric)``, ``.rerun(i)``).
Also here: walk-forward sweeps, ensembles of trained models, the deflated Sharpe ratio, the
executors (local, Dask) and the leaderboard.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from sigma_lab.sweep.core import SweepResult, build_configs, sweep, walk_forward, walk_forward_summary
from sigma_lab.sweep.deflated import deflated_sharpe, expected_max_sharpe
from sigma_lab.sweep.ensemble import combine_scores
from sigma_lab.sweep.evaluate import SweepContext, evaluate_chunk
from sigma_lab.sweep.executors import DaskExecutor, LocalExecutor, get_executor
from sigma_lab.sweep.leaderboard import Page, leaderboard
from sigma_lab.sweep.spec import BUDGETS, budget

__all__ = [
    "BUDGETS",
    "DaskExecutor",
    "LocalExecutor",
    "Page",
    "SweepContext",
    "SweepResult",
    "budget",
    "build_configs",
    "combine_scores",
    "deflated_sharpe",
    "evaluate_chunk",
    "expected_max_sharpe",
    "get_executor",
    "leaderboard",
    "sweep",
    "walk_forward",
    "walk_forward_summary",
]


class _CallableModule(types.ModuleType):
    """Lets ``sigma_lab.sweep(bars, ...)`` call :func:`sweep` while the package stays importable."""

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
