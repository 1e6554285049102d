"""Small plotly figures and tables the stage notebooks show, read back from the store.

:func:`use_offline_plotly` makes figures embed plotly.js in the notebook output, so an
executed notebook shows its figures with no internet (no CDN).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

RUN_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "strategy", "ticker", "timeframe", "risk_profile",
    "sharpe", "total_return", "max_drawdown", "trades", "gate_pass", "job_id",
)


_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']?https?:[^>]*>\s*</script>")


def use_offline_plotly() -> None:
    """Render figures with plotly.js embedded in the output and nothing loaded from the internet.

    Plotly's ``notebook`` renderer embeds plotly.js once per notebook but also links MathJax
    from a CDN; the ``sigma_offline`` renderer registered here drops that link.
    """
    import plotly.io as pio
    from plotly.io._base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        def to_mimebundle(self, fig_dict: dict) -> dict:
            bundle = super().to_mimebundle(fig_dict)
            return {**bundle, "text/html": _REMOTE_SCRIPT.sub("", bundle["text/html"])}

    pio.renderers["sigma_offline"] = OfflineNotebookRenderer(connected=False)
    pio.renderers.default = "sigma_offline"


def build_figure(build_run_id: int) -> go.Figure:
    """Label class counts of a matrix build (from its stored manifest)."""
    import plotly.graph_objects as go

    from sigma_lab.store import repo, session_scope

    with session_scope() as session:
        run = repo.get_build_run(session, build_run_id)
    counts = (run["manifest"] or {}).get("class_counts") or {}
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values())))
    fig.update_layout(title=f"{run['model_id']}: label classes ({run['n_rows']} rows)",
                      xaxis_title="class", yaxis_title="rows", height=350)
    return fig


def training_figure(training_run_id: int, top: int = 15) -> go.Figure:
    """The ``top`` feature importances of a training run."""
    import plotly.graph_objects as go

    from sigma_lab.store import repo, session_scope

    with session_scope() as session:
        run = repo.get_training_run(session, training_run_id)
    importances = pd.Series(run["feature_importances"], dtype=float).sort_values().tail(top)
    fig = go.Figure(go.Bar(x=importances.to_numpy(), y=list(importances.index), orientation="h"))
    fig.update_layout(title=f"{run['model_id']}: feature importance (AUC {run['auc'] or float('nan'):.3f})",
                      height=120 + 22 * len(importances))
    return fig


def backtest_runs(limit: int = 50) -> pd.DataFrame:
    """The newest backtest runs with their headline metrics and gate verdict."""
    import sqlalchemy as sa

    from sigma_lab.store import BacktestRun, session_scope

    columns = [getattr(BacktestRun, name) for name in RUN_COLUMNS]
    query = sa.select(*columns).order_by(BacktestRun.id.desc()).limit(limit)
    with session_scope() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def runs_figure(runs: pd.DataFrame) -> go.Figure:
    """Sharpe against max drawdown of backtest runs, coloured by the gate's verdict."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for verdict, color in ((True, "seagreen"), (False, "firebrick")):
        sel = runs[runs["gate_pass"] == verdict]
        fig.add_trace(go.Scatter(
            x=sel["max_drawdown"], y=sel["sharpe"], mode="markers", name="passed" if verdict else "failed",
            marker={"color": color, "size": 10}, text=sel["strategy"] + " #" + sel["id"].astype(str),
        ))
    fig.update_layout(title="Backtests: Sharpe vs max drawdown", xaxis_title="max drawdown",
                      yaxis_title="Sharpe", height=400)
    return fig
