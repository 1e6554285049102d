"""``sigma-lab signals``: generate a model's signals, list them, track them (a typer sub-app).

Scheduling is a cron line, e.g. every weekday after the close::

    15 16 * * 1-5  cd /srv/sigma && .venv/bin/sigma-lab signals run aapl_eq_swing_daily
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

signals_app = typer.Typer(help="Live signals: generate, list, track.", no_args_is_help=True)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(1) from None


def _line(d: dict) -> str:
    if d["accepted"]:
        return (
            f"{d['ticker']:<6} {d['side']:<5} conf {d['confidence']:.3f}  entry {d['entry']:.2f}  "
            f"stop {d['stop']:.2f}  target {d['target']:.2f}  time stop {d['time_stop_bars']} bars"
        )
    return f"{d['ticker']:<6} {d['side']:<5} rejected: {d['reject_reason']}"


@signals_app.command("run")
def run_command(
    model_id: Annotated[str, typer.Argument(help="The trained model to generate signals of.")],
    asof: Annotated[str | None, typer.Option(help="Date or timestamp (default: the newest bars).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decisions as JSON.")] = False,
) -> None:
    """Generate, check against the policy, store and deliver the model's signals at its latest bar."""
    from sigma_lab.errors import SigmaError
    from sigma_lab.signals import generate
    from sigma_lab.store.types import to_jsonable

    try:
        decisions = generate(model_id, asof)
    except SigmaError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(to_jsonable(decisions), indent=2))
        return
    for d in decisions:
        new = "new " if d["created"] else ""
        typer.echo(f"{new}signal {d['id']} {d['date']} {_line(d)}")


@signals_app.command("list")
def list_command(
    model_id: Annotated[str | None, typer.Option(help="Only this model's signals.")] = None,
    ticker: Annotated[str | None, typer.Option(help="Only this ticker.")] = None,
    rejected: Annotated[bool, typer.Option(help="Include rejected candidates.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest N.")] = 20,
) -> None:
    """Stored signals, newest first, with their outcomes."""
    from sigma_lab.signals import list_signals
    from sigma_lab.store import session_scope

    with session_scope() as session:
        rows = list_signals(
            session, model_id=model_id, ticker=ticker, accepted=None if rejected else True, limit=limit
        )
    for d in rows:
        outcome = d["outcome"] or "untracked"
        ret = f" {d['realized_return']:+.2%}" if d["realized_return"] is not None else ""
        typer.echo(f"{d['id']:>6} {d['date']} {d['model_id']} {_line(d)}  [{outcome}{ret}]")


@signals_app.command("track")
def track_command(
    model_id: Annotated[str | None, typer.Option(help="Only this model's signals.")] = None,
    asof: Annotated[str | None, typer.Option(help="Follow on bars up to this time (default: all).")] = None,
) -> None:
    """Follow open signals on the bars after them; print the model's live record."""
    from sigma_lab.errors import SigmaError
    from sigma_lab.signals import performance, track
    from sigma_lab.store import session_scope

    try:
        closed = track(model_id, asof=asof)
    except SigmaError as exc:
        _fail(exc)
    typer.echo(f"{closed} signal(s) closed")
    if model_id is not None:
        with session_scope() as session:
            perf = performance(session, model_id)
        typer.echo(json.dumps(perf, indent=2, default=str))
