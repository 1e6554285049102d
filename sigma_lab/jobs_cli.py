"""The ``sigma-lab run`` and ``sigma-lab jobs list | show | cancel`` commands.

``run_command`` runs a notebook under ``notebooks/`` as a job (``-p name value`` pairs become
Papermill parameters, values parsed as YAML so ``-p fast 5`` is an int); ``jobs_app`` lists,
shows and cancels jobs. Both call :func:`sigma_lab.jobs.recover` first, so jobs a crash left
running are marked failed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml

from sigma_lab import jobs
from sigma_lab.errors import ConfigError, SigmaError

jobs_app = typer.Typer(help="Background jobs: list, show and cancel.", no_args_is_help=True)

_TABLE = ("id", "kind", "status", "stage", "target", "created_at", "finished_at")


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["fast", "5", "symbol", "SPY"]`` -> ``{"fast": 5, "symbol": "SPY"}`` (values parsed as YAML)."""
    if len(pairs) % 2:
        raise ConfigError(f"-p takes a name and a value; got an odd number of items {pairs}")
    out: dict[str, Any] = {}
    for name, text in zip(pairs[::2], pairs[1::2], strict=True):
        if not name.isidentifier():
            raise ConfigError(f"-p {name} {text}: {name!r} is not a valid parameter name")
        try:
            out[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            out[name] = text
    return out


def _fail(exc: SigmaError) -> typer.Exit:
    typer.secho(f"error: {exc}", err=True, fg="red")
    return typer.Exit(code=2)


#: Context settings ``sigma-lab run`` must be registered with, so ``-p name value`` reaches it:
#: ``app.command("run", context_settings=RUN_CONTEXT)(run_command)``.
RUN_CONTEXT: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


def _param_pairs(args: list[str]) -> list[str]:
    """The ``name value`` items of ``-p name value`` / ``--param name value`` groups in ``args``."""
    out: list[str] = []
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--param") or len(rest) < 2:
            raise ConfigError(f"unexpected argument {flag!r}: parameters are given as `-p name value`")
        out += [rest.pop(0), rest.pop(0)]
    return out


def run_command(
    ctx: typer.Context,
    notebook: Annotated[str, typer.Argument(help="Notebook name under notebooks/ or a path to an .ipynb.")],
    detach: Annotated[bool, typer.Option("--detach", help="Return at once; the job keeps running.")] = False,
    timeout: Annotated[int, typer.Option(help="Per-cell execution timeout (s).")] = jobs.EXECUTION_TIMEOUT,
) -> None:
    """Run NOTEBOOK as a job with Papermill (`-p name value` sets a parameter) and say where its output is."""
    jobs.recover()
    try:
        params = parse_params(_param_pairs(list(ctx.args)))
        job_id = jobs.submit(notebook, params, execution_timeout=timeout)
    except SigmaError as exc:
        raise _fail(exc) from None
    typer.echo(f"job {job_id} submitted")
    if detach:
        return
    job = jobs.wait(job_id)
    typer.echo(f"job {job_id} {job['status']}: {job['output_path']}")
    if job["status"] != "succeeded":
        typer.secho(f"error: {job['error']}", err=True, fg="red")
        raise typer.Exit(code=1)


@jobs_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many jobs, newest first.")] = 20,
) -> None:
    """List the newest jobs."""
    jobs.recover()
    try:
        rows = jobs.list_jobs(status=status, limit=limit)
    except SigmaError as exc:
        raise _fail(exc) from None
    typer.echo("\t".join(_TABLE))
    for row in rows:
        typer.echo("\t".join("" if row[c] is None else str(row[c]) for c in _TABLE))


@jobs_app.command("show")
def show_command(job_id: Annotated[int, typer.Argument(help="The job id.")]) -> None:
    """Show one job as JSON: status, timings, parameters, output notebook, error and failing cell."""
    jobs.recover()
    try:
        job = jobs.get(job_id)
    except SigmaError as exc:
        raise _fail(exc) from None
    typer.echo(json.dumps(job, indent=2, default=str))


@jobs_app.command("cancel")
def cancel_command(job_id: Annotated[int, typer.Argument(help="The job id.")]) -> None:
    """Cancel a queued or running job (its worker process group is stopped)."""
    try:
        job = jobs.cancel(job_id)
    except SigmaError as exc:
        raise _fail(exc) from None
    typer.echo(f"job {job_id} {job['status']}")
