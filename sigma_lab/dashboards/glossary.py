"""Plain-language explanations of every number the dashboards show, for readers who are not quants.

The conventions behind the numbers (annualization, risk-free rate, closed trades only) are those
of :mod:`sigma_lab.backtest.metrics`; the gate's thresholds are :mod:`sigma_lab.backtest.gate`'s.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

from sigma_lab.backtest.metrics import PERCENT_METRICS

#: metric -> (short label, plain-language explanation).
GLOSSARY: dict[str, tuple[str, str]] = {
    "total_return": (
        "Total return",
        "How much the account grew over the whole test, as a percentage of the starting cash. "
        "+25 % means 100 became 125.",
    ),
    "cagr": (
        "Yearly growth (CAGR)",
        "The steady yearly growth rate that would turn the starting cash into the final amount "
        "over the same time: the total return expressed per year.",
    ),
    "ann_volatility": (
        "Volatility (yearly)",
        "How much the account value jumps around, scaled to a year. Higher means a bumpier ride.",
    ),
    "sharpe": (
        "Sharpe ratio",
        "Return per unit of bumpiness: average return above the risk-free rate divided by its "
        "volatility, per year. Above 1 is good, above 2 is rare; negative means it lost money.",
    ),
    "sortino": (
        "Sortino ratio",
        "Like the Sharpe ratio, but only downward moves count as risk, so upside surprises are not "
        "punished. Higher is better.",
    ),
    "calmar": (
        "Calmar ratio",
        "Yearly growth divided by the worst fall from a peak. It answers: how much growth do I get "
        "for the worst pain I had to sit through? Higher is better.",
    ),
    "max_drawdown": (
        "Max drawdown",
        "The worst fall of the account from a previous high, as a percentage (shown negative). "
        "-12 % means at some point the account was 12 % below its best value so far.",
    ),
    "max_drawdown_duration": (
        "Longest drawdown (bars)",
        "The longest stretch of bars the account spent below a previous high before recovering.",
    ),
    "win_rate": (
        "Win rate",
        "The share of finished trades that made money. A strategy can be profitable with a low win "
        "rate if its winners are much larger than its losers.",
    ),
    "profit_factor": (
        "Profit factor",
        "Money made by winning trades divided by money lost by losing trades. Above 1 means the "
        "winners outweigh the losers.",
    ),
    "expectancy": ("Expectancy", "The average profit or loss per finished trade, in currency."),
    "avg_win": ("Average win", "The average profit of the winning trades, in currency."),
    "avg_loss": ("Average loss", "The average loss of the losing trades, in currency (shown negative)."),
    "payoff_ratio": (
        "Payoff ratio",
        "How large the average win is compared with the average loss. 2 means winners are twice "
        "the size of losers.",
    ),
    "sqn": (
        "System quality (SQN)",
        "A score of how consistent the trade results are: average trade result divided by how much "
        "trade results vary, times the square root of the number of trades.",
    ),
    "trades": (
        "Trades",
        "How many round trips (a buy and the matching sell) finished during the test. Few trades "
        "means the other numbers rest on little evidence.",
    ),
    "exposure": (
        "Time in market",
        "The share of bars the strategy held a position. 30 % means it was invested 30 % of the time.",
    ),
    "turnover": (
        "Turnover (yearly)",
        "How much was traded per year compared with the account's size; high turnover means high "
        "trading costs.",
    ),
    "best_trade": ("Best trade", "The return of the single best finished trade."),
    "worst_trade": ("Worst trade", "The return of the single worst finished trade."),
    "deflated_sharpe": (
        "Deflated Sharpe",
        "The probability that the Sharpe ratio is real skill rather than luck, after accounting for "
        "how many configurations were tried to find it. Close to 1 is convincing; near 0.5 or "
        "below is what luck alone would produce.",
    ),
    "gate_pass": (
        "Gate",
        "Whether the run passed the risk profile's minimum standards: enough trades, a good "
        "enough Sharpe ratio, a drawdown within the limit and a positive total return.",
    ),
    "gate_reasons": (
        "Gate reasons",
        "Which standards a run missed: too few trades, poor Sharpe, excessive drawdown, negative "
        "return, or too little data to judge.",
    ),
    "risk_profile": (
        "Risk profile",
        "The set of standards the gate applies: conservative (strictest), balanced or aggressive.",
    ),
    "auc": (
        "AUC",
        "How well the model's scores rank ups above downs on data it never trained on: 0.5 is a "
        "coin flip, 1.0 is perfect. In markets, 0.55 can already be useful.",
    ),
    "log_loss": (
        "Log loss",
        "How far the model's probabilities were from what happened; lower is better. It punishes "
        "confident wrong answers hard.",
    ),
    "brier": (
        "Brier score",
        "The average squared gap between predicted probability and outcome; lower is better "
        "(0.25 is what always saying 50/50 scores).",
    ),
    "accuracy": ("Accuracy", "The share of out-of-fold predictions whose most likely class was right."),
}

_INTEGER = frozenset({"trades", "max_drawdown_duration"})


def label(metric: str) -> str:
    """The short human label of ``metric`` (the key itself when it is not in the glossary)."""
    return GLOSSARY.get(metric, (metric, ""))[0]


def explain(metric: str) -> str:
    """The plain-language explanation of ``metric`` ('' when there is none)."""
    return GLOSSARY.get(metric, ("", ""))[1]


def format_value(metric: str, value: Any) -> str:
    """``value`` as the dashboards show it: percentages for returns, integers for counts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, str):
        return value
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if metric in PERCENT_METRICS:
        return f"{100 * number:.2f} %"
    if metric in _INTEGER:
        return f"{int(number)}"
    return f"{number:.3f}"


def header_html(metric: str) -> str:
    """A column header or label with the explanation as a hover tooltip (HTML ``title``)."""
    tip = explain(metric)
    text = html.escape(label(metric))
    if not tip:
        return text
    return f'<abbr title="{html.escape(tip)}" data-explains="{html.escape(metric)}">{text}</abbr>'


def glossary_html(metrics: Iterable[str]) -> str:
    """A definition list explaining ``metrics`` (those with an entry), in the order given."""
    items = [
        f"<dt><b>{html.escape(label(m))}</b> <code>{html.escape(m)}</code></dt>"
        f"<dd style='margin:0 0 0.6em 1.2em'>{html.escape(explain(m))}</dd>"
        for m in dict.fromkeys(metrics)
        if m in GLOSSARY
    ]
    return "<dl class='sigma-glossary'>" + "".join(items) + "</dl>"
