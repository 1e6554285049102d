"""``sigma-lab sweep`` and ``sigma-lab leaderboard``: a typer sub-app over :mod:`sigma_lab.sweep`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Parameter sweeps and the leaderboard.", no_args_is_help=True)


def _bars(symbol: str, timeframe: str, start: str | None, end: str | None):  # noqa: ANN202
    from sigma_lab.data import load

    return load(symbol, timeframe=timeframe, start=start, end=end)


@app.command("sweep")
def sweep_command(
    symbol: Annotated[str, typer.Argument(help="Ticker whose bars to sweep on.")],
    strategy: Annotated[str, typer.Option(help="Rule strategy, e.g. sma_cross.")] = "sma_cross",
    grid: Annotated[
        str | None, typer.Option(help='JSON grid, e.g. \'{"fast": [5, 10], "slow": [30, 60]}\'.')
    ] = None,
    preset: Annotated[str | None, typer.Option(help="PACK/NAME of a sweep preset instead of --grid.")] = None,
    timeframe: Annotated[str, typer.Option(help="Bar timeframe.")] = "1d",
    start: Annotated[str | None, typer.Option(help="First date.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date.")] = None,
    risk_profile: Annotated[str, typer.Option(help="Gate profile and default budget.")] = "balanced",
    keep: Annotated[int, typer.Option(help="Top configurations recorded as full backtest runs.")] = 5,
    tag: Annotated[str | None, typer.Option(help="Tag for the leaderboard.")] = None,
    resume: Annotated[int | None, typer.Option(help="Sweep id to resume.")] = None,
    heatmap: Annotated[
        Path | None, typer.Option(help="Write a heatmap of the first two parameters (HTML).")
    ] = None,
    execution: Annotated[
        str | None, typer.Option(help="JSON execution settings, e.g. '{\"fees_bps\": 1}'.")
    ] = None,
) -> None:
    """Run a persisted sweep and print its best configurations."""
    from sigma_lab.errors import SigmaError
    from sigma_lab.sweep import sweep
    from sigma_lab.sweep_presets import load_preset

    try:
        kwargs: dict = {"risk_profile": risk_profile, **json.loads(execution or "{}")}
        if preset:
            pack, _, name = preset.partition("/")
            spec = load_preset(pack, name)
            strategy = spec.strategy or strategy
            kwargs = {**spec.sweep_kwargs(), **kwargs}
        elif grid:
            kwargs["grid"] = json.loads(grid)
        else:
            raise typer.BadParameter("give --grid or --preset")
        result = sweep(
            _bars(symbol, timeframe, start, end),
            strategy,
            persist=True,
            keep=keep,
            tag=tag,
            ticker=symbol,
            resume=resume,
            **kwargs,
        )
    except (SigmaError, json.JSONDecodeError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    cols = [
        *result.params,
        "sharpe",
        "deflated_sharpe",
        "total_return",
        "max_drawdown",
        "trades",
        "gate_pass",
    ]
    typer.echo(f"sweep {result.sweep_id}: {len(result.table)} configurations")
    typer.echo(result.top(10)[cols].to_string())
    if heatmap is not None and len(result.params) >= 2:
        result.heatmap(result.params[0], result.params[1]).write_html(heatmap)
        typer.echo(f"heatmap written to {heatmap}")


@app.command("leaderboard")
def leaderboard_command(
    by: Annotated[str, typer.Option(help="Metric to rank by.")] = "sharpe",
    source: Annotated[str, typer.Option(help="runs or sweeps.")] = "runs",
    pack: Annotated[str | None, typer.Option()] = None,
    model_id: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    risk_profile: Annotated[str | None, typer.Option()] = None,
    passed: Annotated[bool | None, typer.Option("--passed/--failed", help="Gate verdict.")] = None,
    limit: Annotated[int, typer.Option()] = 20,
    cursor: Annotated[str | None, typer.Option(help="Cursor printed by the previous page.")] = None,
) -> None:
    """Print the leaderboard, best first, with deflated Sharpe and gate verdicts."""
    from sigma_lab.errors import SigmaError
    from sigma_lab.sweep import leaderboard

    try:
        page = leaderboard(
            by,
            source=source,
            pack=pack,
            model_id=model_id,
            tag=tag,
            risk_profile=risk_profile,
            gate_pass=passed,
            limit=limit,
            cursor=cursor,
        )
    except SigmaError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    cols = [
        c
        for c in ("id", "sweep_id", "strategy", "model_id", "pack", "tag", by, "deflated_sharpe", "gate_pass")
        if c in page.rows.columns
    ]
    typer.echo(page.rows[cols].to_string(index=False) if len(page.rows) else "no runs")
    if page.next_cursor:
        typer.echo(f"next page: --cursor {page.next_cursor}")
