"""The Voila dashboards' logic: store queries, widget apps, the metric glossary, the server.

The notebooks under ``dashboards/`` stay thin: each reads the page's query string with
:func:`query_params` and displays one app, e.g. ``backtest_dashboard(query_params())``.
:func:`serve_dashboards` runs Voila on localhost with a warm kernel pool and kernel culling.
"""

from sigma_lab.dashboards.glossary import GLOSSARY, explain, format_value, glossary_html, label
from sigma_lab.dashboards.query import int_param, parse_query, query_params
from sigma_lab.dashboards.serve import (
    DASHBOARDS,
    DEFAULT_PORT,
    DashboardServer,
    dashboard_url,
    serve_dashboards,
    voila_command,
)
from sigma_lab.dashboards.signals_view import SignalsPage, signals_dashboard
from sigma_lab.dashboards.views import (
    BacktestReport,
    LeaderboardExplorer,
    ModelPage,
    SweepExplorer,
    backtest_dashboard,
    leaderboard_dashboard,
    model_dashboard,
    sweep_dashboard,
)

__all__ = [
    "DASHBOARDS",
    "DEFAULT_PORT",
    "GLOSSARY",
    "BacktestReport",
    "DashboardServer",
    "LeaderboardExplorer",
    "ModelPage",
    "SignalsPage",
    "SweepExplorer",
    "backtest_dashboard",
    "dashboard_url",
    "explain",
    "format_value",
    "glossary_html",
    "int_param",
    "label",
    "leaderboard_dashboard",
    "model_dashboard",
    "parse_query",
    "query_params",
    "serve_dashboards",
    "signals_dashboard",
    "sweep_dashboard",
    "voila_command",
]
