"""Command-line pieces of the API face: ``keys`` (bootstrap and manage API keys) and ``serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from sigma_lab import auth
from sigma_lab.errors import SigmaError

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, researcher or admin.")] = "viewer",
    name: Annotated[str, typer.Option(help="Who or what the key is for.")] = "cli",
    requests_per_minute: Annotated[int | None, typer.Option()] = None,
    concurrent_jobs: Annotated[int | None, typer.Option()] = None,
    sweeps_per_day: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Create an API key and print it; it is not shown again."""
    quotas = {
        k: v
        for k, v in {
            "requests_per_minute": requests_per_minute,
            "concurrent_jobs": concurrent_jobs,
            "sweeps_per_day": sweeps_per_day,
        }.items()
        if v is not None
    }
    try:
        key_id, plaintext = auth.create_key(role, name, quotas)
    except SigmaError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"created key {key_id} ({role}); store it now, it is not shown again:", err=True)
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list() -> None:
    """List the keys (prefix, role, state)."""
    from sigma_lab.store import session_scope

    with session_scope() as session:
        for key in auth.list_keys(session):
            state = "active" if key["active"] else "revoked"
            typer.echo(f"{key['id']:>4}  {key['prefix']}  {key['role']:<10} {state:<8} {key['name']}")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""
    from sigma_lab.store import session_scope

    try:
        with session_scope() as session:
            auth.revoke_key(session, key_id)
    except SigmaError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"revoked key {key_id}")


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, reload: bool = False) -> None:
    """Run the API with uvicorn on the configured store (embedded SQLite by default)."""
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload)
