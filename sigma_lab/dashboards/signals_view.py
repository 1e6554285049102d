"""The signals dashboard: a model's live record, its signals with outcomes, and its rejections.

The page shows, for the model picked (query ``model_id``, default the model with the newest
signal), the live metrics of :func:`sigma_lab.signals.performance`, the equity of its closed
signal returns, and a table of its signals (``accepted`` toggles between signals and rejected
candidates with their reasons).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa

from sigma_lab.dashboards.views import (
    _CSS,
    _App,
    _figure_box,
    _show_figure,
    error_html,
    metrics_html,
    table_html,
)
from sigma_lab.errors import NotFoundError, SigmaError

#: The live metrics shown as cards, in order.
SIGNAL_METRICS: tuple[str, ...] = (
    "signals",
    "closed",
    "hit_rate",
    "avg_r",
    "sharpe",
    "max_drawdown",
    "signals_per_day",
)
SIGNAL_COLUMNS: tuple[str, ...] = (
    "id",
    "date",
    "ticker",
    "side",
    "confidence",
    "entry",
    "stop",
    "target",
    "outcome",
    "realized_return",
    "r_multiple",
)
REJECTED_COLUMNS: tuple[str, ...] = ("id", "date", "ticker", "side", "confidence", "reject_reason")


def signal_model_ids() -> list[str]:
    """Models that have stored signals, the one with the newest signal first."""
    from sigma_lab.store import Signal, session_scope

    with session_scope() as session:
        rows = session.execute(
            sa.select(Signal.model_id, sa.func.max(Signal.id).label("latest"))
            .group_by(Signal.model_id)
            .order_by(sa.desc("latest"))
        ).all()
    return [r.model_id for r in rows]


def signal_table(model_id: str, *, accepted: bool = True, limit: int = 200) -> pd.DataFrame:
    """The model's signals (or rejected candidates), newest first, with the dashboard's columns."""
    from sigma_lab.signals import list_signals
    from sigma_lab.store import session_scope

    with session_scope() as session:
        rows = list_signals(session, model_id=model_id, accepted=accepted, limit=limit)
    columns = list(SIGNAL_COLUMNS if accepted else REJECTED_COLUMNS)
    frame = pd.DataFrame(rows, columns=[*columns, "exit_time"]) if rows else pd.DataFrame(columns=columns)
    return frame[columns]


def signal_equity(model_id: str) -> pd.Series:
    """Equity compounding the model's closed signal returns, indexed by exit time (starts at 1)."""
    from sigma_lab.signals.tracking import CLOSED
    from sigma_lab.store import Signal, session_scope

    with session_scope() as session:
        rows = session.execute(
            sa.select(Signal.exit_time, Signal.realized_return)
            .where(Signal.model_id == model_id, Signal.accepted.is_(True), Signal.outcome.in_(CLOSED))
            .order_by(Signal.exit_time, Signal.id)
        ).all()
    returns = np.array([r.realized_return or 0.0 for r in rows], dtype=float)
    return pd.Series(
        np.cumprod(1.0 + returns), index=pd.DatetimeIndex([r.exit_time for r in rows]), name="equity"
    )


class SignalsPage(_App):
    """A model's live signals: metrics, equity of closed signals, and the signal table."""

    def __init__(self, model_id: str) -> None:
        models = signal_model_ids()
        if model_id not in models:
            models = [model_id, *models]
        self.picker = w.Dropdown(
            options=models, value=model_id, description="Model", layout=w.Layout(width="480px")
        )
        self.accepted = w.ToggleButtons(
            options=[("signals", True), ("rejected", False)],
            value=True,
            tooltip="Accepted signals with their outcomes, or rejected candidates with their reasons",
        )
        self.title = w.HTML()
        self.metrics = w.HTML()
        self.equity = _figure_box()
        self.table = w.HTML()
        self.picker.observe(lambda change: self.show(str(change["new"])), names="value")
        self.accepted.observe(self._list, names="value")
        self.widget = w.VBox(
            [
                w.HTML(f"{_CSS}<h2>Signals</h2>"),
                self.picker,
                self.title,
                self.metrics,
                self.equity,
                self.accepted,
                self.table,
            ]
        )
        self.show(model_id)

    def show(self, model_id: str) -> None:
        """Fill the page with ``model_id``'s record and signals."""
        from sigma_lab.signals import performance
        from sigma_lab.store import session_scope

        self.model_id = model_id
        with session_scope() as session:
            self.performance = performance(session, model_id)
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.performance["reject_reasons"].items()))
        self.title.value = (
            f"{_CSS}<h3 id='signals-title'>{html.escape(model_id)}</h3>"
            f"<div id='signals-rejections'>rejected candidates: {self.performance['rejected']}"
            f"{' (' + html.escape(reasons) + ')' if reasons else ''}</div>"
        )
        self.metrics.value = _CSS + metrics_html(self.performance, SIGNAL_METRICS, panel_id="signals-metrics")
        equity = signal_equity(model_id)
        if equity.empty:
            self.equity.children = []
        else:
            fig = go.Figure(
                go.Scatter(x=equity.index, y=equity.to_numpy(), mode="lines+markers", name="equity")
            )
            fig.update_layout(height=280, title=f"{model_id}: equity of closed signals", yaxis_title="equity")
            _show_figure(self.equity, fig)
        self._list()

    def _list(self, _change: Any = None) -> None:
        frame = signal_table(self.model_id, accepted=bool(self.accepted.value))
        self.table.value = _CSS + table_html(frame, table_id="signals-table", row_key="id")


def signals_dashboard(params: Mapping[str, str] | None = None) -> SignalsPage | w.HTML:
    """The signals page of ``model_id`` from the query (default: the model with the newest signal)."""
    params = dict(params or {})
    try:
        model_id = params.get("model_id")
        if not model_id:
            models = signal_model_ids()
            if not models:
                raise NotFoundError("no signals are stored yet; run `sigma-lab signals run MODEL_ID`")
            model_id = models[0]
        return SignalsPage(model_id)
    except SigmaError as exc:
        return w.HTML(error_html(str(exc)))
