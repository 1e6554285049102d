"""Plotly figures and tables of results: what notebooks, dashboards and reports show.

- a backtest: :func:`backtest_figure` (price with trade markers, equity, drawdown; what
  ``BacktestResult.plot()`` returns), :func:`equity_drawdown_figure`,
  :func:`monthly_returns` and :func:`monthly_returns_heatmap`, :func:`fold_table` and
  :func:`lineage_table`;
- stored runs: :func:`build_figure` (label classes of a build), :func:`training_figure`
  (feature importances), :func:`backtest_runs` and :func:`runs_figure` (Sharpe against drawdown,
  coloured by the gate).

:func:`use_offline_plotly` makes figures embed plotly.js in notebook output, so a saved or
executed notebook shows its figures with no internet (no CDN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sigma_lab.backtest.metrics import drawdown
from sigma_lab.errors import ConfigError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sigma_lab.backtest.engine import BacktestResult

RUN_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "strategy", "ticker", "timeframe", "risk_profile",
    "sharpe", "total_return", "max_drawdown", "trades", "gate_pass", "job_id",
)
#: Columns of :func:`fold_table`, in order (those a fold has).
FOLD_COLUMNS: tuple[str, ...] = (
    "train_start", "train_end", "n_train", "test_start", "test_end", "n_test", "bars",
    "trades", "total_return", "sharpe", "max_drawdown", "win_rate",
)
MONTHS: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

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


# --- one backtest -----------------------------------------------------------------------------------


def _equity_series(equity: pd.Series | BacktestResult) -> pd.Series:
    series = getattr(equity, "equity", equity)
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise ConfigError("expected an equity Series with a DatetimeIndex, or a BacktestResult")
    if series.empty:
        raise ConfigError("the equity curve is empty")
    return series


def _add_trade_markers(fig: go.Figure, trades: pd.DataFrame, row: int) -> None:
    """Entries (up/down triangles by side) and exits (crosses, labelled with the reason) on ``row``."""
    import plotly.graph_objects as go

    for side, symbol, color in ((1, "triangle-up", "green"), (-1, "triangle-down", "red")):
        sel = trades[trades["side"] == side]
        if len(sel):
            fig.add_trace(go.Scatter(x=sel["entry_time"], y=sel["entry_price"], mode="markers",
                                     name="long entry" if side == 1 else "short entry",
                                     marker={"symbol": symbol, "color": color, "size": 9}), row=row, col=1)
    closed = trades[trades["exit_reason"] != "end"]
    if len(closed):
        fig.add_trace(go.Scatter(x=closed["exit_time"], y=closed["exit_price"], mode="markers", name="exit",
                                 text=closed["exit_reason"],
                                 marker={"symbol": "x", "color": "black", "size": 8}), row=row, col=1)


def _add_equity_drawdown(fig: go.Figure, equity: pd.Series, row: int) -> None:
    """The equity curve on ``row`` and its drawdown (a fraction below the running peak) on ``row + 1``."""
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=equity.index, y=equity, name="equity"), row=row, col=1)
    fig.add_trace(go.Scatter(x=equity.index, y=drawdown(equity.to_numpy(dtype=np.float64)), name="drawdown",
                             fill="tozeroy", line={"color": "firebrick"}), row=row + 1, col=1)


def backtest_figure(result: BacktestResult, title: str | None = None) -> go.Figure:
    """Price with trade markers, equity and drawdown of one backtest, as one plotly figure."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.3, 0.2],
                        vertical_spacing=0.03, subplot_titles=("Price", "Equity", "Drawdown"))
    fig.add_trace(go.Scatter(x=result.bars.index, y=result.bars["close"], name="close",
                             line={"color": "#555"}), row=1, col=1)
    _add_trade_markers(fig, result.trades, row=1)
    _add_equity_drawdown(fig, result.equity, row=2)
    fig.update_layout(height=800, hovermode="x unified", showlegend=True, title=title)
    return fig


def equity_drawdown_figure(equity: pd.Series | BacktestResult, title: str | None = None) -> go.Figure:
    """Equity (top) and drawdown (bottom) of an equity curve or a :class:`BacktestResult`."""
    from plotly.subplots import make_subplots

    series = _equity_series(equity)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.05, subplot_titles=("Equity", "Drawdown"))
    _add_equity_drawdown(fig, series, row=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_layout(height=550, hovermode="x unified", showlegend=False, title=title)
    return fig


def monthly_returns(equity: pd.Series | BacktestResult, initial: float | None = None) -> pd.DataFrame:
    """Returns per calendar month (UTC) as a year x month table (``Jan`` ... ``Dec``), NaN where no bars.

    Each month compounds from the previous month's last equity; the first month from
    ``initial`` (a :class:`BacktestResult`'s starting cash by default, else the first equity value).
    """
    series = _equity_series(equity)
    if initial is None:
        settings = getattr(equity, "settings", None)
        initial = float(settings.init_cash) if settings is not None else float(series.iloc[0])
    if not initial > 0:
        raise ConfigError(f"monthly_returns: the initial equity must be positive, got {initial}")
    month_end = series.resample("ME").last().dropna()
    base = month_end.shift(1)
    base.iloc[0] = initial
    returns = month_end / base - 1.0
    values = returns.to_numpy(dtype=np.float64)
    table = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "return": values}
    ).pivot(index="year", columns="month", values="return")
    table = table.reindex(columns=range(1, 13))
    table.columns = list(MONTHS)
    table.index.name = "year"
    return table


def monthly_returns_heatmap(
    equity: pd.Series | BacktestResult, initial: float | None = None, title: str = "Monthly returns"
) -> go.Figure:
    """Heatmap of :func:`monthly_returns`: years down, months across, red below zero and green above."""
    import plotly.graph_objects as go

    table = monthly_returns(equity, initial)
    z = table.to_numpy(dtype=np.float64) * 100.0
    fig = go.Figure(go.Heatmap(
        z=z, x=list(table.columns), y=[str(y) for y in table.index], colorscale="RdYlGn", zmid=0.0,
        texttemplate="%{z:.1f}%", colorbar={"title": "return %"},
        hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
    ))
    fig.update_layout(title=title, yaxis={"autorange": "reversed", "type": "category"},
                      height=140 + 40 * len(table))
    return fig


def fold_table(folds: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per-fold table of a model backtest (``ModelBacktest.folds`` or a stored run's ``folds``), by fold.

    A stored fold's ``metrics`` dict is flattened; the columns are those of :data:`FOLD_COLUMNS`
    the folds have.
    """
    rows = folds.to_dict(orient="records") if isinstance(folds, pd.DataFrame) else [dict(f) for f in folds]
    flat = []
    for row in rows:
        if "fold" not in row:
            raise ConfigError(f"fold_table: a fold row has no 'fold' number: {sorted(row)}")
        metrics = row.get("metrics") if isinstance(row.get("metrics"), Mapping) else {}
        flat.append({**metrics, **{k: v for k, v in row.items() if k != "metrics" and v is not None}})
    frame = pd.DataFrame(flat, columns=["fold", *FOLD_COLUMNS])
    present = [c for c in FOLD_COLUMNS if frame[c].notna().any()]
    return frame.set_index("fold")[present]


def lineage_table(run: Any) -> pd.DataFrame:
    """What a run was made from, one ``item``/``value`` row each: its lineage hashes, seed and version.

    ``run`` is a stored run (a dict with ``lineage``), a ``StrategyBacktest``/``ModelBacktest``
    (with ``.lineage``) or the lineage mapping itself.
    """
    if isinstance(run, Mapping) and isinstance(run.get("lineage"), Mapping):
        extra = {k: run[k] for k in ("seed", "package_version") if run.get(k) is not None}
        lineage = {**run["lineage"], **extra}
    elif isinstance(getattr(run, "lineage", None), Mapping):
        lineage = dict(run.lineage)
    elif isinstance(run, Mapping):
        lineage = dict(run)
    else:
        raise ConfigError(f"lineage_table: expected a run or a lineage mapping, got {type(run).__name__}")
    return pd.DataFrame(
        [{"item": k, "value": v if isinstance(v, (str, int, float, bool)) or v is None else str(v)}
         for k, v in sorted(lineage.items())],
        columns=["item", "value"],
    )


# --- stored runs -------------------------------------------------------------------------------------


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
        label = sel["strategy"].fillna("model").astype(str) + " #" + sel["id"].astype(str)
        fig.add_trace(go.Scatter(
            x=sel["max_drawdown"], y=sel["sharpe"], mode="markers", name="passed" if verdict else "failed",
            marker={"color": color, "size": 10}, text=label,
        ))
    fig.update_layout(title="Backtests: Sharpe vs max drawdown", xaxis_title="max drawdown",
                      yaxis_title="Sharpe", height=400)
    return fig
