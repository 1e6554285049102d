"""The ``sigma-lab`` command: a thin face over the core package."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sigma_lab.errors import SigmaError

app = typer.Typer(help="Sigma Lab: systematic trading research workbench.", no_args_is_help=True)
data_app = typer.Typer(
    help="Market data: sources, loading, import and the local store.", no_args_is_help=True
)
db_app = typer.Typer(help="The database store.", no_args_is_help=True)
indicators_app = typer.Typer(help="The indicator library.", no_args_is_help=True)
packs_app = typer.Typer(help="Packs: YAML strategy families.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(db_app, name="db")
app.add_typer(indicators_app, name="indicators")
app.add_typer(packs_app, name="packs")


def _register_faces() -> None:
    """Sub-commands whose code lives beside what they drive (sweeps, jobs, signals, API keys)."""
    from api.cli import keys_app
    from sigma_lab.jobs_cli import RUN_CONTEXT, jobs_app, run_command
    from sigma_lab.signals.cli import signals_app
    from sigma_lab.sweep_cli import leaderboard_command, sweep_command

    app.command("sweep")(sweep_command)
    app.command("leaderboard")(leaderboard_command)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(keys_app, name="keys")
    app.add_typer(signals_app, name="signals")
    app.command("run", context_settings=RUN_CONTEXT)(run_command)


_register_faces()


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _print_frame(frame: Any) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 30):
        typer.echo(frame.to_string())


# -- data ---------------------------------------------------------------------------------


@data_app.command("sources")
def data_sources() -> None:
    """List the bar sources."""
    from sigma_lab.data import list_sources

    for name, description in list_sources().items():
        typer.echo(f"{name:<10} {description}")


@data_app.command("load")
def data_load(
    symbol: str,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1d",
    source: Annotated[str, typer.Option("--source", "-s")] = "sample",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    rows: Annotated[int, typer.Option(help="Rows to show from each end.")] = 5,
) -> None:
    """Load, validate and summarize bars."""
    from sigma_lab.data import load

    try:
        bars = load(symbol, timeframe=timeframe, start=start, end=end, source=source)
    except SigmaError as exc:
        _fail(exc)
    typer.echo(f"{symbol} {timeframe} from {source}: {len(bars)} bars, {bars.index[0]} .. {bars.index[-1]}")
    _print_frame(bars.head(rows))
    _print_frame(bars.tail(rows))


@data_app.command("fetch")
def data_fetch(
    symbol: str,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1d",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str, typer.Option("--source", "-s")] = "polygon",
) -> None:
    """Fetch bars from a remote source into the local store (with a progress bar)."""
    from sigma_lab.data import load

    try:
        bars = load(
            symbol, timeframe=timeframe, start=start, end=end, source=source, refresh=True, progress=True
        )
    except SigmaError as exc:
        _fail(exc)
    typer.echo(f"stored {len(bars)} bars of {symbol} {timeframe} from {source}")


@data_app.command("import")
def data_import(
    path: Path,
    symbol: str,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1d",
    tz: Annotated[str, typer.Option(help="Time zone of naive timestamps.")] = "America/New_York",
    timestamp_column: Annotated[str | None, typer.Option(help="Name of the timestamp column.")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", help="Column mapping target=source, e.g. close=Adj Close."),
    ] = None,
) -> None:
    """Import a CSV or Parquet file of bars into the local store."""
    from sigma_lab.data import import_bars

    mapping = {}
    for item in column or []:
        target, sep, src = item.partition("=")
        if not sep:
            _fail(ValueError(f"--column {item!r} must look like target=source"))
        mapping[target.strip()] = src.strip()
    try:
        bars = import_bars(
            path, symbol, timeframe, columns=mapping or None, tz=tz, timestamp_column=timestamp_column
        )
    except SigmaError as exc:
        _fail(exc)
    typer.echo(f"imported {len(bars)} bars of {symbol} {timeframe} from {path}")


@data_app.command("info")
def data_info_cmd(symbol: Annotated[str | None, typer.Argument()] = None) -> None:
    """What the local data store holds."""
    from sigma_lab.data import data_info

    info = data_info(symbol)
    if len(info) == 0:
        typer.echo("the local data store is empty")
        return
    _print_frame(info)


# -- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from sigma_lab.config import get_settings
    from sigma_lab.store import current_revision, upgrade

    url = get_settings().database
    upgrade(url)
    typer.echo(f"database at revision {current_revision(url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    from sigma_lab.store import current_revision

    typer.echo(current_revision() or "empty (run `sigma-lab db upgrade`)")


# -- indicators ---------------------------------------------------------------------------


@indicators_app.command("list")
def indicators_list(
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only this category.")] = None,
) -> None:
    """List every indicator with its category, parameters and output columns."""
    from sigma_lab.indicators import catalog

    table = catalog()
    if category:
        table = table[table["category"] == category]
    _print_frame(table[["name", "category", "params", "columns", "warmup"]].set_index("name"))


@indicators_app.command("show")
def indicators_show(name: str) -> None:
    """Show one indicator: what it is, its parameters and bounds, its columns and warm-up."""
    from sigma_lab.indicators import get

    try:
        ind = get(name)
    except SigmaError as exc:
        _fail(exc)
    typer.echo(f"{ind.name} ({ind.category}): {ind.description}")
    for p in ind.params:
        bounds = list(p.choices) if p.choices else f"[{p.low}, {p.high}]"
        typer.echo(f"  {p.name} = {p.default!r}  {bounds}  {p.description}".rstrip())
    typer.echo(f"columns: {', '.join(ind.columns())}")
    typer.echo(f"inputs: {', '.join(ind.inputs)}; warm-up: {ind.warmup_bars()} bars")
    if ind.talib:
        typer.echo(f"TA-Lib twin: {ind.talib}")


# -- packs and the pipeline ---------------------------------------------------------------


@packs_app.command("list")
def packs_list() -> None:
    """List the packs and their models."""
    from sigma_lab.packs import list_packs, load_pack

    try:
        for name in list_packs():
            pack = load_pack(name)
            typer.echo(f"{name}: {pack.meta.description}")
            for model_id in sorted(pack.model_configs):
                typer.echo(f"  {model_id}")
    except SigmaError as exc:
        _fail(exc)


@packs_app.command("show")
def packs_show(name: str) -> None:
    """Show a pack: metadata, indicator sets, model configs and policy templates."""
    from sigma_lab.packs import load_pack

    try:
        pack = load_pack(name)
    except SigmaError as exc:
        _fail(exc)
    typer.echo(_json(pack.meta.model_dump(mode="json")))
    for title, items in (
        ("indicator sets", pack.indicator_sets),
        ("model configs", pack.model_configs),
        ("policy templates", pack.policy_templates),
        ("sweep presets", pack.sweep_presets),
    ):
        typer.echo(f"{title}: {', '.join(sorted(items)) or '-'}")


@packs_app.command("validate")
def packs_validate(root: Annotated[Path | None, typer.Option(help="Packs folder to check.")] = None) -> None:
    """Validate every pack file; exit 1 listing each problem (file:line: key path: what)."""
    from sigma_lab.packs import packs_root, validate_packs

    problems = validate_packs(root)
    if problems:
        for problem in problems:
            typer.secho(str(problem), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    typer.echo(f"all packs under {packs_root(root)} are valid")


@app.command("build")
def build(
    model_id: str,
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Build a model's training matrix (bars + indicator set + label) with QA and lineage."""
    from sigma_lab.matrix import build_matrix

    try:
        result = build_matrix(model_id, start=start, end=end)
    except SigmaError as exc:
        _fail(exc)
    typer.echo(
        f"built {result.model_id}: {result.rows} rows, QA {result.qa_status}, "
        f"hash {result.matrix_hash[:16]}, run {result.run_id}\n{result.matrix_path}"
    )


@app.command("train")
def train(model_id: str) -> None:
    """Train a model with walk-forward validation; store the artifact, card and run."""
    from sigma_lab.train import train as train_model

    try:
        result = train_model(model_id)
    except SigmaError as exc:
        _fail(exc)
    _print_frame(result.folds)
    overall = {k: v for k, v in result.metrics.items() if not isinstance(v, (dict, list))}
    typer.echo(_json(overall))
    if result.artifact is not None:
        typer.echo(
            f"artifact {result.artifact.path} (sha256 {result.artifact.sha256[:16]}), run {result.run_id}"
        )


@app.command("backtest")
def backtest(
    target: Annotated[str, typer.Argument(help="A symbol (with --strategy) or a trained model id.")],
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="Rule strategy, e.g. sma_cross.")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-p", help="Strategy, score or execution keyword: name=value (repeatable)."),
    ] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t")] = None,
    source: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    run_id: Annotated[int | None, typer.Option(help="Training run of the model (default: latest).")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    risk_profile: Annotated[str, typer.Option(help="conservative, balanced or aggressive.")] = "balanced",
    store: Annotated[bool, typer.Option(help="Record the run in the store.")] = True,
) -> None:
    """Backtest a rule strategy on a symbol, or a trained model on its out-of-fold scores."""
    from sigma_lab.backtest.runs import backtest_command

    try:
        _, report = backtest_command(
            target,
            strategy=strategy,
            timeframe=timeframe,
            source=source,
            start=start,
            end=end,
            run_id=run_id,
            settings=setting or (),
            store=store,
            tag=tag,
            risk_profile=risk_profile,
        )
    except SigmaError as exc:
        _fail(exc)
    typer.echo(report)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the REST API with uvicorn (OpenAPI at /docs)."""
    from api.cli import serve as serve_api

    serve_api(host, port, workers=workers)


@app.command("dashboards")
def dashboards(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8866,
    pool_size: Annotated[int, typer.Option(help="Warm kernels kept ready.")] = 1,
    cull_idle_timeout: Annotated[int, typer.Option(help="Seconds before an idle kernel is culled.")] = 600,
) -> None:
    """Serve the Voila dashboards on localhost (Ctrl-C stops them)."""
    from sigma_lab.dashboards import DASHBOARDS, serve_dashboards

    try:
        server = serve_dashboards(port, pool_size=pool_size, cull_idle_timeout=cull_idle_timeout)
    except SigmaError as exc:
        _fail(exc)
    for name in DASHBOARDS:
        typer.echo(f"{name:<12} {server.page(name)}")
    raise typer.Exit(code=server.wait())


# -- demo ---------------------------------------------------------------------------------


@app.command("demo")
def demo() -> None:
    """Run the main job end to end on the sample data and embedded defaults."""
    from sigma_lab.demo import run_demo

    try:
        run_demo(echo=typer.echo)
    except SigmaError as exc:
        _fail(exc)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="sigma-lab")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
