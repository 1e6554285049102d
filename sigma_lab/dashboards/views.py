"""The four dashboards as ipywidgets apps: leaderboard explorer, backtest report, sweep explorer,
model page.

Each app reads through :mod:`sigma_lab.dashboards.data`, draws with :mod:`sigma_lab.reports`
and :mod:`sigma_lab.sweep.plots` (plotly ``FigureWidget``s, whose plotly.js ships in the Python
package: nothing is loaded from the internet) and explains every metric with a hover tooltip
and a glossary. An app is built from the page's query parameters, keeps its controls as
attributes (so tests and notebooks can drive them) and displays as its ``widget``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from sigma_lab import reports
from sigma_lab.backtest.metrics import METRIC_KEYS
from sigma_lab.dashboards import data
from sigma_lab.dashboards.glossary import explain, format_value, glossary_html, header_html, label
from sigma_lab.dashboards.query import int_param
from sigma_lab.errors import SigmaError
from sigma_lab.store import METRIC_COLUMNS
from sigma_lab.sweep.plots import heatmap

_CSS = """<style>
.sigma-table {border-collapse: collapse; font-size: 13px; margin: 4px 0 12px 0}
.sigma-table th, .sigma-table td {padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right}
.sigma-table th {background: #f4f4f4}
.sigma-table td.text, .sigma-table th.text {text-align: left}
.sigma-metrics {display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 12px 0}
.sigma-metric {border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; min-width: 120px}
.sigma-metric .v {font-size: 18px; font-weight: 600}
.sigma-error {color: #a00; border-left: 4px solid #a00; padding: 4px 10px; background: #fff4f4}
abbr[title] {cursor: help}
</style>"""
_TEXT_COLUMNS = frozenset(
    {
        "name",
        "ticker",
        "pack",
        "tag",
        "risk_profile",
        "kind",
        "status",
        "summary",
        "item",
        "value",
        "side",
        "exit_reason",
        "time",
        "entry_time",
        "exit_time",
    }
)
_ANY = ("(any)", "")


# --- small builders ----------------------------------------------------------------------------------


def error_html(message: str) -> str:
    """A visible error box (no traceback) for a page that cannot show what was asked."""
    return f"{_CSS}<div class='sigma-error'>{html.escape(message)}</div>"


def table_html(frame: pd.DataFrame, *, table_id: str, index: bool = False, row_key: str | None = None) -> str:
    """``frame`` as an HTML table: metric headers carry their explanation as a tooltip, values are
    formatted like everywhere else, and each cell has ``data-col`` (rows ``data-key``) for tests."""
    if index:
        frame = frame.reset_index()
    columns = list(frame.columns)
    head = "".join(
        f"<th class='{'text' if c in _TEXT_COLUMNS else 'num'}' data-col='{html.escape(str(c))}'>"
        f"{header_html(str(c)) if explain(str(c)) else html.escape(str(c))}</th>"
        for c in columns
    )
    rows = []
    for record in frame.to_dict(orient="records"):
        key = f" data-key='{html.escape(str(record[row_key]))}'" if row_key else ""
        cells = "".join(
            f"<td class='{'text' if c in _TEXT_COLUMNS else 'num'}' data-col='{html.escape(str(c))}'>"
            f"{html.escape(_cell(str(c), record[c]))}</td>"
            for c in columns
        )
        rows.append(f"<tr{key}>{cells}</tr>")
    body = "".join(rows) or f"<tr><td colspan='{len(columns)}' class='text'>no rows</td></tr>"
    return (
        f"<table class='sigma-table' id='{table_id}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _cell(column: str, value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if column in ("id", "fold", "n_train", "n_test", "bars", "config_index") and value is not None:
        try:
            return str(int(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not explain(column):
        return f"{value:g}"
    if isinstance(value, (int, float, bool)) or value is None:
        return format_value(column, value)
    return str(value)


def metrics_html(metrics: Mapping[str, Any], keys: Iterable[str], *, panel_id: str) -> str:
    """Metric cards: label (with its explanation as tooltip), then the value (``data-metric`` set)."""
    cards = "".join(
        f"<div class='sigma-metric'><div>{header_html(k)}</div>"
        f"<div class='v' data-metric='{html.escape(k)}'>"
        f"{html.escape(format_value(k, metrics.get(k)))}</div></div>"
        for k in keys
    )
    return f"<div class='sigma-metrics' id='{panel_id}'>{cards}</div>"


def glossary_accordion(metrics: Iterable[str]) -> w.Accordion:
    """A closed accordion explaining ``metrics`` in plain language."""
    box = w.Accordion(children=[w.HTML(glossary_html(metrics))])
    box.set_title(0, "What do these numbers mean? (glossary)")
    box.selected_index = None
    return box


def _figure_box(fig: go.Figure | None = None) -> w.VBox:
    return w.VBox([go.FigureWidget(fig)] if fig is not None else [], layout=w.Layout(width="100%"))


def _show_figure(box: w.Box, fig: go.Figure) -> None:
    box.children = [go.FigureWidget(fig)]


def _choices(values: Sequence[str]) -> list[tuple[str, str | None]]:
    return [_ANY, *((v, v) for v in values)]


def _metric_options(metrics: Iterable[str]) -> list[tuple[str, str]]:
    return [(f"{label(m)} ({m})", m) for m in metrics]


class _App:
    """Shared display: an app shows as its ``widget``."""

    widget: w.Widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# --- leaderboard explorer -------------------------------------------------------------------------------


class LeaderboardExplorer(_App):
    """Backtest runs ranked by a chosen metric, filtered by pack, model, tag, risk profile and gate;
    choosing a run shows its equity curve, drawdown and metrics."""

    def __init__(self, params: Mapping[str, str] | None = None, *, page_size: int = 25) -> None:
        params = dict(params or {})
        options = data.filter_options()
        by = params.get("by", "sharpe")
        self.page_size = page_size
        self.by = w.Dropdown(
            options=_metric_options(METRIC_COLUMNS),
            value=by if by in METRIC_COLUMNS else "sharpe",
            description="Rank by",
            tooltip="The metric the runs are sorted by",
        )
        self.order = w.ToggleButtons(
            options=[("highest first", False), ("lowest first", True)],
            value=params.get("order") == "asc",
            tooltip="Sort direction",
        )
        self.filters = {
            name: w.Dropdown(
                options=_choices(options[name]),
                description=title,
                value=params.get(name) if params.get(name) in options[name] else "",
            )
            for name, title in (
                ("pack", "Pack"),
                ("model_id", "Model"),
                ("tag", "Tag"),
                ("risk_profile", "Risk profile"),
            )
        }
        self.filters["risk_profile"].tooltip = explain("risk_profile")
        gate = params.get("gate", "") if params.get("gate") in ("pass", "fail") else ""
        self.gate = w.Dropdown(
            options=[_ANY, ("passed", "pass"), ("failed", "fail")],
            value=gate,
            description="Gate",
            tooltip=explain("gate_pass"),
        )
        self.next_page = w.Button(description="Next page", disabled=True)
        self.first_page = w.Button(description="First page", disabled=True)
        self.table = w.HTML()
        self.run = w.Dropdown(description="Show run", options=[], layout=w.Layout(width="420px"))
        self.detail = w.HTML()
        self.figure = _figure_box()
        self._cursors: list[str | None] = [None]
        self._next: str | None = None
        controls = [self.by, self.order, *self.filters.values(), self.gate]
        for control in controls:
            control.observe(self._reset, names="value")
        self.next_page.on_click(self._forward)
        self.first_page.on_click(lambda _: self._reset())
        self.run.observe(self._show_run, names="value")
        self.widget = w.VBox(
            [
                w.HTML(
                    f"{_CSS}<h2>Leaderboard</h2><p>Backtest runs ranked by the chosen metric. Hover over a "
                    "column name for what it means; pick a run below the table for its equity curve.</p>"
                ),
                w.HBox([self.by, self.order]),
                w.HBox([self.filters["pack"], self.filters["model_id"]]),
                w.HBox([self.filters["tag"], self.filters["risk_profile"], self.gate]),
                self.table,
                w.HBox([self.first_page, self.next_page]),
                self.run,
                self.detail,
                self.figure,
                glossary_accordion(
                    [*dict.fromkeys([*METRIC_COLUMNS, *data.SHOWN_METRICS]), "gate_pass", "risk_profile"]
                ),
            ]
        )
        self._load()

    def current_filters(self) -> dict[str, Any]:
        """The leaderboard filters as chosen on the page."""
        chosen = {name: box.value or None for name, box in self.filters.items()}
        return {**chosen, "gate_pass": {"pass": True, "fail": False}.get(self.gate.value)}

    def _reset(self, _change: Any = None) -> None:
        self._cursors = [None]
        self._load()

    def _forward(self, _button: Any = None) -> None:
        if self._next is not None:
            self._cursors.append(self._next)
            self._load()

    def _load(self) -> None:
        by = self.by.value
        rows, self._next = data.ranked_runs(
            by,
            ascending=self.order.value,
            filters=self.current_filters(),
            limit=self.page_size,
            cursor=self._cursors[-1],
        )
        self.rows = rows
        shown = rows[
            [
                "id",
                "name",
                "ticker",
                "tag",
                "risk_profile",
                "gate_pass",
                *dict.fromkeys([by, *data.SHOWN_METRICS]),
            ]
        ]
        self.table.value = table_html(shown, table_id="leaderboard-table", row_key="id")
        self.next_page.disabled = self._next is None
        self.first_page.disabled = len(self._cursors) == 1
        options = [
            (f"#{r.id} {r.name} ({label(by)} {format_value(by, getattr(r, by))})", int(r.id))
            for r in rows.itertuples()
        ]
        self.run.options = options
        self.run.value = options[0][1] if options else None
        if not options:
            self.detail.value = error_html("No backtest runs match these filters.")
            self.figure.children = []

    def _show_run(self, change: Any = None) -> None:
        run_id = self.run.value
        if run_id is None:
            return
        record = data.run_record(int(run_id))
        verdict = {True: "passed", False: "failed", None: "not judged"}[record["gate_pass"]]
        reasons = ", ".join(record["gate_reasons"] or [])
        self.detail.value = (
            f"{_CSS}<h3 id='run-title'>Run #{run_id}: "
            f"{html.escape(str(record['model_id'] or record['strategy']))}"
            f" on {html.escape(str(record['ticker']))}</h3>"
            f"<p>{header_html('gate_pass')}: <b>{verdict}</b>"
            f"{f' ({html.escape(reasons)})' if reasons else ''}"
            f" under the {html.escape(str(record['risk_profile']))} profile. "
            f"<a href='backtest.ipynb?run_id={run_id}' target='_blank' "
            "style='color:#1a5fb4;text-decoration:underline'>Full report</a></p>"
            + metrics_html(
                record["metrics"] or {}, METRIC_KEYS[:10] + ("trades", "exposure"), panel_id="run-metrics"
            )
        )
        try:
            result = _rerun(int(run_id))
        except SigmaError as exc:
            self.figure.children = [w.HTML(error_html(f"No equity curve for run {run_id}: {exc}"))]
            return
        _show_figure(
            self.figure, reports.equity_drawdown_figure(result, title=f"Run #{run_id}: equity and drawdown")
        )


def _rerun(run_id: int) -> Any:
    from sigma_lab.backtest.runs import rerun

    return rerun(run_id)


def leaderboard_dashboard(params: Mapping[str, str] | None = None) -> LeaderboardExplorer:
    """The leaderboard explorer for the page's query (``by``, ``order=asc``, ``pack``, ``model_id``,
    ``tag``, ``risk_profile``, ``gate=pass|fail``)."""
    return LeaderboardExplorer(params)


# --- backtest report ---------------------------------------------------------------------------------------


class BacktestReport(_App):
    """One stored backtest: metrics, price with trades, equity and drawdown, monthly returns,
    per-fold table, trades and lineage."""

    def __init__(self, run_id: int) -> None:
        choices = data.run_choices()
        if run_id not in {v for _, v in choices}:
            choices = [(f"#{run_id}", run_id), *choices]
        self.picker = w.Dropdown(
            options=choices,
            value=run_id,
            description="Run",
            layout=w.Layout(width="480px"),
            tooltip="Pick another stored backtest run",
        )
        self.header = w.HTML()
        self.figure = _figure_box()
        self.monthly = _figure_box()
        self.tables = w.HTML()
        self.picker.observe(lambda change: self.show(int(change["new"])), names="value")
        self.widget = w.VBox(
            [
                w.HTML(f"{_CSS}<h2>Backtest report</h2>"),
                self.picker,
                self.header,
                self.figure,
                self.monthly,
                self.tables,
                glossary_accordion([*METRIC_KEYS, "gate_pass", "risk_profile"]),
            ]
        )
        self.show(run_id)

    def show(self, run_id: int) -> None:
        """Fill the page with run ``run_id`` (the old run's figures go first, so none is shown stale)."""
        self.figure.children = [w.HTML(f"<p>Drawing run #{run_id}...</p>")]
        self.monthly.children = []
        try:
            record = data.run_record(run_id)
        except SigmaError as exc:
            self.header.value = error_html(str(exc))
            self.figure.children, self.monthly.children, self.tables.value = [], [], ""
            return
        params = record["params"] or {}
        what = record["model_id"] or record["strategy"] or "run"
        period = " to ".join(
            pd.Timestamp(t).strftime("%Y-%m-%d")
            for t in (record["range_start"], record["range_end"])
            if t is not None
        )
        verdict = {True: "passed", False: "failed", None: "not judged"}[record["gate_pass"]]
        reasons = ", ".join(record["gate_reasons"] or [])
        self.header.value = (
            f"{_CSS}<h3 id='report-title'>Run #{run_id}: {html.escape(str(what))} on "
            f"{html.escape(str(record['ticker']))} {html.escape(str(record['timeframe'] or ''))}</h3>"
            f"<p>Period {html.escape(period or 'n/a')}. {header_html('gate_pass')} <b>{verdict}</b>"
            f"{f' ({html.escape(reasons)})' if reasons else ''} under the "
            f"{html.escape(str(record['risk_profile']))} {header_html('risk_profile')}.</p>"
            + metrics_html(record["metrics"] or {}, METRIC_KEYS, panel_id="report-metrics")
        )
        parts = []
        if record["folds"]:
            parts.append(
                "<h3>Walk-forward folds</h3>"
                + table_html(reports.fold_table(record["folds"]), table_id="fold-table", index=True)
            )
        ledger = record["ledger"]
        if len(ledger):
            shown = ledger[
                ["entry_time", "exit_time", "side", "entry_price", "exit_price", "return", "exit_reason"]
            ].head(50)
            parts.append(
                f"<h3>Trades (first {len(shown)} of {len(ledger)})</h3>"
                + table_html(shown, table_id="trade-table")
            )
        lineage = reports.lineage_table(record)
        settings = {k: v for k, v in params.items() if k not in ("bars",)}
        lineage = pd.concat(
            [
                lineage,
                pd.DataFrame([{"item": f"param: {k}", "value": str(v)} for k, v in sorted(settings.items())]),
            ],
            ignore_index=True,
        )
        parts.append(
            "<h3>Lineage: what this run was made from</h3>" + table_html(lineage, table_id="lineage-table")
        )
        self.tables.value = _CSS + "".join(parts)
        try:
            result = _rerun(run_id)
        except SigmaError as exc:
            self.figure.children = [w.HTML(error_html(f"Cannot redraw run {run_id}: {exc}"))]
            self.monthly.children = []
            return
        _show_figure(self.figure, reports.backtest_figure(result, title=f"Run #{run_id}"))
        _show_figure(self.monthly, reports.monthly_returns_heatmap(result))


def backtest_dashboard(params: Mapping[str, str] | None = None) -> BacktestReport | w.HTML:
    """The backtest report of ``run_id`` from the query (default: the newest run)."""
    params = dict(params or {})
    try:
        run_id = int_param(params, "run_id") or data.latest_id("backtest")
    except SigmaError as exc:
        return w.HTML(error_html(str(exc)))
    return BacktestReport(run_id)


# --- sweep explorer ---------------------------------------------------------------------------------------


class SweepExplorer(_App):
    """A stored sweep as a heatmap of a chosen metric over two chosen parameters."""

    def __init__(self, sweep_id: int, params: Mapping[str, str] | None = None) -> None:
        params = dict(params or {})
        choices = data.sweep_choices()
        if sweep_id not in {v for _, v in choices}:
            choices = [(f"#{sweep_id}", sweep_id), *choices]
        self.picker = w.Dropdown(
            options=choices, value=sweep_id, description="Sweep", layout=w.Layout(width="480px")
        )
        self.x = w.Dropdown(description="Across (x)")
        self.y = w.Dropdown(description="Down (y)")
        metric = params.get("metric", "sharpe")
        self.metric = w.Dropdown(
            options=_metric_options(METRIC_COLUMNS),
            value=metric if metric in METRIC_COLUMNS else "sharpe",
            description="Metric",
            tooltip="The number coloured in the heatmap",
        )
        self.metric_help = w.HTML()
        self.summary = w.HTML()
        self.figure = _figure_box()
        self.top = w.HTML()
        self.picker.observe(lambda change: self.load(int(change["new"])), names="value")
        for control in (self.x, self.y, self.metric):
            control.observe(self._draw, names="value")
        self.widget = w.VBox(
            [
                w.HTML(
                    f"{_CSS}<h2>Sweep explorer</h2><p>Every configuration a sweep tried; the colour is the "
                    "chosen metric (the best value where other parameters vary).</p>"
                ),
                self.picker,
                w.HBox([self.x, self.y, self.metric]),
                self.metric_help,
                self.summary,
                self.figure,
                self.top,
                glossary_accordion([*METRIC_COLUMNS, "gate_pass"]),
            ]
        )
        self._wanted = (params.get("x"), params.get("y"))
        self._busy = False
        self.load(sweep_id)

    def load(self, sweep_id: int) -> None:
        """Read sweep ``sweep_id`` and draw it."""
        self.table, names, self.info = data.sweep_table(sweep_id)
        self.names = names
        x, y = self._wanted if all(v in names for v in self._wanted) else (names + [None, None])[:2]
        self._busy = True
        try:
            self.x.options, self.y.options = names, names
            self.x.value, self.y.value = x, y
        finally:
            self._busy = False
        self._draw()

    def _draw(self, _change: Any = None) -> None:
        if self._busy:
            return
        metric = self.metric.value
        self.metric_help.value = f"<p><b>{html.escape(label(metric))}</b>: {html.escape(explain(metric))}</p>"
        if len(self.names) < 2 or self.x.value is None or self.y.value == self.x.value:
            self.summary.value = error_html(
                "Choose two different parameters (this sweep needs at least two)."
            )
            self.figure.children = []
            return
        table = self.table
        finite = table[metric].replace([float("inf"), float("-inf")], float("nan")).dropna()
        if finite.empty:
            self.summary.value = error_html(f"No configuration has a value for {metric}.")
            self.figure.children = []
            return
        best = finite.idxmax()
        where = ", ".join(f"{n}={table.loc[best, n]}" for n in self.names)
        self.summary.value = (
            f"<p id='sweep-best'>{len(table)} configurations. Highest {header_html(metric)}: "
            f"<b data-metric='{html.escape(metric)}'>"
            f"{html.escape(format_value(metric, finite.loc[best]))}</b> "
            f"at {html.escape(where)}.</p>"
        )
        _show_figure(self.figure, heatmap(table, self.x.value, self.y.value, metric))
        top = table.loc[finite.sort_values(ascending=False).index[:10]]
        self.top.value = (
            _CSS
            + "<h3>Top configurations</h3>"
            + table_html(
                top[
                    [
                        *self.names,
                        *dict.fromkeys([metric, "sharpe", "total_return", "max_drawdown", "trades"]),
                    ]
                ],
                table_id="sweep-top",
            )
        )


def sweep_dashboard(params: Mapping[str, str] | None = None) -> SweepExplorer | w.HTML:
    """The sweep explorer of ``sweep_id`` from the query (default: the newest sweep); ``x``, ``y`` and
    ``metric`` pick the heatmap."""
    params = dict(params or {})
    try:
        sweep_id = int_param(params, "sweep_id") or data.latest_id("sweep")
        return SweepExplorer(sweep_id, params)
    except SigmaError as exc:
        return w.HTML(error_html(str(exc)))


# --- model page --------------------------------------------------------------------------------------------


class ModelPage(_App):
    """A model's card (data, features, validation, out-of-fold metrics) and the timeline of its
    builds, trainings and backtests."""

    KINDS: tuple[str, ...] = ("build", "training", "backtest")

    def __init__(self, model_id: str) -> None:
        models = data.model_ids()
        if model_id not in models:
            models = [model_id, *models]
        self.picker = w.Dropdown(
            options=models, value=model_id, description="Model", layout=w.Layout(width="480px")
        )
        self.kinds = w.ToggleButtons(
            options=[
                ("everything", None),
                ("builds", "build"),
                ("trainings", "training"),
                ("backtests", "backtest"),
            ],
            value=None,
            tooltip="Which kind of runs the timeline table lists",
        )
        self.card = w.HTML()
        self.importances = _figure_box()
        self.timeline_figure = _figure_box()
        self.timeline = w.HTML()
        self.picker.observe(lambda change: self.show(str(change["new"])), names="value")
        self.kinds.observe(self._list, names="value")
        self.widget = w.VBox(
            [
                w.HTML(f"{_CSS}<h2>Model</h2>"),
                self.picker,
                self.card,
                self.importances,
                w.HTML("<h3>Timeline: builds, trainings and backtests</h3>"),
                self.timeline_figure,
                self.kinds,
                self.timeline,
                glossary_accordion(["auc", "log_loss", "brier", "accuracy", "sharpe", "gate_pass"]),
            ]
        )
        self.show(model_id)

    def show(self, model_id: str) -> None:
        """Fill the page with ``model_id``."""
        self.model_id = model_id
        try:
            card, training_run_id = data.model_card(model_id)
        except SigmaError as exc:
            self.card.value = error_html(str(exc))
            self.importances.children = []
        else:
            self.card.value = _card_html(card, training_run_id)
            if training_run_id is not None:
                _show_figure(self.importances, reports.training_figure(training_run_id))
        self.events = data.model_timeline(model_id)
        if self.events.empty:
            self.timeline_figure.children = []
        else:
            fig = go.Figure()
            for kind in self.KINDS:
                sel = self.events[self.events["kind"] == kind]
                fig.add_trace(
                    go.Scatter(
                        x=sel["time"],
                        y=sel["kind"],
                        mode="markers",
                        name=kind,
                        text=[f"#{i}: {s}" for i, s in zip(sel["id"], sel["summary"], strict=True)],
                        marker={"size": 12},
                    )
                )
            fig.update_layout(
                height=260,
                title=f"{model_id}: history",
                yaxis={"categoryorder": "array", "categoryarray": list(self.KINDS)},
            )
            _show_figure(self.timeline_figure, fig)
        self._list()

    def _list(self, _change: Any = None) -> None:
        kind = self.kinds.value
        events = self.events if kind is None else self.events[self.events["kind"] == kind]
        self.timeline.value = _CSS + table_html(events, table_id="timeline-table", row_key="kind")


def _card_html(card: Mapping[str, Any], training_run_id: int | None) -> str:
    spec = card.get("spec") or {}
    validation = spec.get("validation") or {}
    data_info = card.get("data") or {}
    facts = [
        ("Estimator", f"{card.get('estimator')} {spec.get('estimator', {}).get('params', {})}"),
        ("Label", f"{card.get('label')} (horizon {card.get('horizon')} bars), classes {card.get('classes')}"),
        ("Features", f"{len(card.get('features') or [])}: {', '.join(card.get('features') or [])}"),
        (
            "Data",
            f"{data_info.get('n_rows')} rows, {data_info.get('n_labelled')} labelled, "
            f"{data_info.get('n_oof')} scored out of fold",
        ),
        ("Validation", f"walk-forward {validation.get('scheme')}, {validation.get('n_splits')} folds"),
        ("Training run", str(training_run_id)),
        ("Model file sha256", str(card.get("model_sha256"))),
    ]
    rows = "".join(
        f"<tr><th class='text'>{html.escape(k)}</th><td class='text'>{html.escape(v)}</td></tr>"
        for k, v in facts
    )
    folds = pd.DataFrame(card.get("folds") or [])
    keep = [
        c
        for c in (
            "fold",
            "n_train",
            "n_test",
            "test_start",
            "test_end",
            "auc",
            "log_loss",
            "brier",
            "accuracy",
        )
        if c in folds.columns
    ]
    fold_part = table_html(folds[keep], table_id="card-folds") if keep else ""
    metrics = card.get("metrics") or {}
    return (
        f"{_CSS}<h3 id='card-title'>Model card: {html.escape(str(card.get('model_id')))}</h3>"
        f"<table class='sigma-table' id='card-facts'>{rows}</table>"
        "<h4>Out-of-fold scores (data the model never trained on)</h4>"
        + metrics_html(
            metrics,
            [k for k in ("auc", "log_loss", "brier", "accuracy") if k in metrics],
            panel_id="card-metrics",
        )
        + ("<h4>Per fold</h4>" + fold_part if fold_part else "")
    )


def model_dashboard(params: Mapping[str, str] | None = None) -> ModelPage | w.HTML:
    """The model page of ``model_id`` from the query (default: the newest trained model)."""
    params = dict(params or {})
    try:
        model_id = params.get("model_id") or data.latest_model_id()
    except SigmaError as exc:
        return w.HTML(error_html(str(exc)))
    return ModelPage(model_id)
