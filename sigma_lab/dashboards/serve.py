"""Serving the dashboards: Voila on the loopback interface, with a warm kernel pool and culling.

- **Warm pool**: ``--preheat_kernel=True --pool_size=N`` keeps N kernels per dashboard that have
  already imported Sigma Lab and wait for a request; a page then opens in a second or two.
- **Culling**: kernels idle for ``cull_idle_timeout`` seconds are shut down (checked every
  ``cull_interval`` seconds), including those of browser tabs left open.
- **No internet**: the ``sigma`` template is Voila's ``lab`` template without its Font Awesome
  CDN link, and figures are plotly ``FigureWidget``s whose plotly.js ships in the Python package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from sigma_lab.errors import ConfigError, NotFoundError

#: Voila templates shipped with the package (added to JUPYTER_PATH for the server).
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"
#: The dashboards folder of a source checkout.
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "dashboards"
DASHBOARDS: tuple[str, ...] = ("leaderboard", "backtest", "sweep", "model", "signals")


def dashboards_dir(directory: str | Path | None = None) -> Path:
    """The folder of dashboard notebooks (default: ``dashboards/`` of the checkout)."""
    folder = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    if not folder.is_dir():
        raise NotFoundError(
            f"dashboards folder {folder} does not exist; pass directory=... (the repo's dashboards/)"
        )
    return folder.resolve()


def voila_command(
    port: int,
    *,
    directory: str | Path | None = None,
    host: str = "127.0.0.1",
    pool_size: int = 1,
    cull_idle_timeout: int = 600,
    cull_interval: int = 60,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The ``python -m voila`` command line :func:`serve_dashboards` runs."""
    if not 0 < port < 65536:
        raise ConfigError(f"dashboard port must be within 1..65535, got {port}")
    if pool_size < 0 or cull_idle_timeout < 0 or cull_interval < 1:
        raise ConfigError(
            f"pool_size and cull_idle_timeout must be >= 0 and cull_interval >= 1, got "
            f"{pool_size}, {cull_idle_timeout}, {cull_interval}"
        )
    return [
        sys.executable,
        "-m",
        "voila",
        str(dashboards_dir(directory)),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--template=sigma",
        "--theme=light",
        f"--preheat_kernel={pool_size > 0}",
        f"--pool_size={pool_size}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=True",
        "--VoilaConfiguration.show_tracebacks=False",
        *extra_args,
    ]


DEFAULT_PORT = 8866


def dashboard_url(name: str, base: str = f"http://127.0.0.1:{DEFAULT_PORT}/", **query: object) -> str:
    """The URL of dashboard ``name`` (one of :data:`DASHBOARDS`) under ``base``, with a query string."""
    if name not in DASHBOARDS:
        raise ConfigError(f"unknown dashboard {name!r}; choose one of {list(DASHBOARDS)}")
    args = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    return f"{base.rstrip('/')}/voila/render/{name}.ipynb" + (f"?{args}" if args else "")


@dataclass
class DashboardServer:
    """A running Voila server: its base ``url`` and process; ``stop()`` ends it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None

    def page(self, name: str, **query: object) -> str:
        """The URL of dashboard ``name`` (one of :data:`DASHBOARDS`) with a query string."""
        return dashboard_url(name, self.url, **query)

    def wait(self) -> int:
        """Block until the server exits (Ctrl-C stops it) and return its exit code."""
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            self.stop()
            return 0

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server and its kernels."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_dashboards(
    port: int = DEFAULT_PORT,
    *,
    directory: str | Path | None = None,
    host: str = "127.0.0.1",
    pool_size: int = 1,
    cull_idle_timeout: int = 600,
    cull_interval: int = 60,
    env: Mapping[str, str] | None = None,
    log_path: str | Path | None = None,
    startup_timeout: float = 60.0,
) -> DashboardServer:
    """Start Voila serving the dashboards on ``host:port`` and return once it answers.

    ``env`` adds environment variables for the server and its kernels (``SIGMA_WORKSPACE``,
    ``SIGMA_DATABASE_URL``...); the server's output goes to ``log_path`` (default: inherited).
    Call ``.wait()`` to serve until interrupted, or ``.stop()``.
    """
    command = voila_command(
        port,
        directory=directory,
        host=host,
        pool_size=pool_size,
        cull_idle_timeout=cull_idle_timeout,
        cull_interval=cull_interval,
    )
    paths = [str(JUPYTER_DATA), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    full_env = {**os.environ, **(env or {}), "JUPYTER_PATH": os.pathsep.join(paths)}
    log = Path(log_path) if log_path is not None else None
    out = log.open("ab") if log is not None else None
    try:
        process = subprocess.Popen(
            command, env=full_env, stdout=out, stderr=subprocess.STDOUT if out else None
        )
    finally:
        if out is not None:
            out.close()
    url = f"http://{host}:{port}/"
    server = DashboardServer(url, process, log)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(
                f"Voila exited with code {process.returncode} before serving on {url}"
                + (f"; see {log}" if log else "")
            )
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.stop()
    raise ConfigError(
        f"Voila did not answer on {url} within {startup_timeout:.0f} s" + (f"; see {log}" if log else "")
    )
