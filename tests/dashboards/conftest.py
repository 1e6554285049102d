"""A workspace seeded with real runs, one Voila server over it, and headless Chromium.

The store holds three stored AAPL ``sma_cross`` backtests (different parameters, tags and risk
profiles), a persisted 3 x 3 sweep that kept its best configuration as a run, and the shipped SPY
hourly momentum model built, trained and backtested on its out-of-fold scores. Browser tests
skip when ``/usr/bin/chromium`` is missing, unless ``SIGMA_REQUIRE_SERVICES=1`` (CI), where that
is a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from threadpoolctl import threadpool_limits

from sigma_lab import store
from sigma_lab.config import get_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "artifacts" / "screenshots"
MODEL_ID = "spy_eq_intraday_hourly_momentum"
REQUIRE_SERVICES = os.environ.get("SIGMA_REQUIRE_SERVICES") == "1"


@dataclass(frozen=True)
class Seeded:
    """What the seeding stored: run ids by name, the sweep id and the model id."""

    workspace: Path
    runs: dict[str, int]
    sweep_id: int
    model_id: str


def _seed() -> tuple[dict[str, int], int]:
    from sigma_lab import data
    from sigma_lab.backtest.runs import backtest_strategy, run_model
    from sigma_lab.matrix import build_matrix
    from sigma_lab.sweep import sweep
    from sigma_lab.train import train

    runs = {}
    for name, fast, slow, tag, profile in (
        ("fast", 5, 20, "fast", "balanced"),
        ("slow", 10, 30, "slow", "aggressive"),
        ("slower", 20, 50, "slow", "balanced"),
    ):
        runs[name] = backtest_strategy(
            "AAPL", "sma_cross", fast=fast, slow=slow, tag=tag, risk_profile=profile
        ).run_id
    bars = data.load("AAPL", "1d", source="sample")
    result = sweep(
        bars,
        "sma_cross",
        grid={"fast": [5, 10, 20], "slow": [30, 50, 100]},
        persist=True,
        keep=1,
        progress=False,
        ticker="AAPL",
        tag="grid",
        name="aapl sma grid",
    )
    runs["sweep_best"] = next(iter(result.run_ids.values()))
    with threadpool_limits(limits=1):
        build_matrix(MODEL_ID, progress=False)
        train(MODEL_ID)
        runs["model"] = run_model(MODEL_ID, tag="model").run_id
    return runs, int(result.sweep_id)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A fresh embedded workspace (SQLite) holding real runs; the environment points at it."""
    ws = tmp_path_factory.mktemp("dashboards") / "workspace"
    ws.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIGMA_WORKSPACE", str(ws))
        for var in ("SIGMA_DATABASE_URL", "SIGMA_REDIS_URL", "SIGMA_DASK_SCHEDULER", "SIGMA_POLYGON_API_KEY"):
            mp.delenv(var, raising=False)
        get_settings.cache_clear()
        store.reset()
        runs, sweep_id = _seed()
        yield Seeded(ws, runs, sweep_id, MODEL_ID)
        get_settings.cache_clear()
        store.reset()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def voila_server(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Voila server for the session, on a free loopback port, over the seeded workspace."""
    from sigma_lab.dashboards import serve_dashboards

    log = tmp_path_factory.mktemp("voila") / "voila.log"
    server = serve_dashboards(
        _free_port(), env={"SIGMA_WORKSPACE": str(seeded.workspace)}, log_path=log, cull_idle_timeout=300
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(voila_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright, with a fresh profile."""
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) to run these"
        )
        if REQUIRE_SERVICES:
            pytest.fail(message + " [SIGMA_REQUIRE_SERVICES=1]")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new tab that records every request it makes (``page.requests``)."""
    tab = browser.new_page()
    tab.requests = []
    tab.on("request", lambda request: tab.requests.append(request.url))
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
