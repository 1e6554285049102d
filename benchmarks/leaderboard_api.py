"""The REST leaderboard over a million sweep results in PostgreSQL: latency and throughput.

Creates its own database on the server of ``--database-url`` (and drops it at the end), migrates
it, seeds ``--results`` sweep results through the store's bulk insert (``COPY``) spread over
``--sweeps`` sweeps (packs, tags and risk profiles varied) plus ``--runs`` backtest runs, then
starts the API with uvicorn in a subprocess on 127.0.0.1 and drives it with ``--clients``
concurrent httpx clients, ``--requests`` requests per case:

- ``GET /leaderboard`` (backtest runs and every sweep result, by Sharpe, a few filters) and
  ``GET /sweeps/{id}/results`` sorted by Sharpe, deeper pages by cursor;
- uncached: every request carries a distinct ``_nc`` query parameter, so each misses the
  response cache and runs its query; cached: the same URLs again with Redis as the cache.

Prints p50/p95/p99 latency and throughput per case, and the same for ``--serial-requests``
requests from a single client: with ``--clients`` clients in a closed loop a request waits for
the ones ahead of it, so latency is about clients / throughput; the single-client figures are
the service time of one request.

    .venv/bin/python benchmarks/leaderboard_api.py                       # 1,000,000 results
    .venv/bin/python benchmarks/leaderboard_api.py --results 20000 --requests 200   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PACKS = ("zerosigma", "swingsigma", "longsigma", "overnightsigma", "momentumsigma")
PROFILES = ("conservative", "balanced", "aggressive")


def _server_url(url: str, database: str) -> str:
    return sa.make_url(url).set(database=database).render_as_string(hide_password=False)


def create_database(url: str) -> str:
    """A fresh database on ``url``'s server; returns its URL."""
    name = f"sigma_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(_server_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _server_url(url, name)


def drop_database(url: str) -> None:
    """Drop the benchmark database (closing what still uses it)."""
    name = sa.make_url(url).database
    admin = sa.create_engine(_server_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _results(rng: np.random.Generator, n: int, start: int) -> Iterator[dict[str, Any]]:
    sharpe = rng.normal(0.3, 1.0, n)
    sharpe[rng.random(n) < 0.01] = np.nan
    total = rng.normal(0.05, 0.2, n)
    drawdown = -np.abs(rng.normal(0.1, 0.05, n))
    trades = rng.integers(0, 200, n)
    dsr = rng.random(n)
    for i in range(n):
        s = None if np.isnan(sharpe[i]) else float(sharpe[i])
        yield {
            "config_index": start + i,
            "chunk": (start + i) // 4096,
            "params": {"fast": int(5 + i % 50), "slow": int(60 + i % 200)},
            "metrics": {
                "sharpe": s,
                "total_return": float(total[i]),
                "max_drawdown": float(drawdown[i]),
                "trades": int(trades[i]),
                "deflated_sharpe": float(dsr[i]),
            },
            "gate_pass": bool(s is not None and s > 0.5 and trades[i] >= 20),
        }


def seed(results: int, sweeps: int, runs: int) -> list[int]:
    """Sweeps with ``results`` results in all, and ``runs`` backtest runs; returns the sweep ids."""
    from sigma_lab.store import BacktestRun, repo, session_scope

    rng = np.random.default_rng(7)
    ids: list[int] = []
    per = results // sweeps
    for k in range(sweeps):
        n = per if k < sweeps - 1 else results - per * (sweeps - 1)
        with session_scope() as session:
            sweep_id = repo.create_sweep(
                session,
                {
                    "strategy": "sma_cross",
                    "pack": PACKS[k % len(PACKS)],
                    "tag": f"bench{k % 4}",
                    "risk_profile": PROFILES[k % 3],
                    "ticker": "SPY",
                    "timeframe": "1h",
                    "status": "succeeded",
                    "n_configs": n,
                    "n_done": n,
                },
            )
            repo.bulk_insert_sweep_results(session, sweep_id, _results(rng, n, 0))
        ids.append(sweep_id)
        print(f"  sweep {sweep_id}: {n:,} results", flush=True)
    table = BacktestRun.__table__
    sharpe = rng.normal(0.3, 1.0, runs)
    rows = [
        {
            "strategy": "sma_cross",
            "pack": PACKS[i % len(PACKS)],
            "model_id": f"spy_eq_swing_daily_v{i % 20}",
            "tag": f"bench{i % 4}",
            "risk_profile": PROFILES[i % 3],
            "status": "succeeded",
            "sharpe": float(sharpe[i]),
            "total_return": float(sharpe[i]) / 10,
            "gate_pass": bool(sharpe[i] > 0.5),
            "metrics": {"sharpe": float(sharpe[i])},
            "params": {"fast": i % 50},
            "lineage": {"bench": True},
            "sweep_id": ids[i % len(ids)],
        }
        for i in range(runs)
    ]
    with session_scope() as session:
        for start in range(0, runs, 5000):
            session.execute(table.insert(), rows[start : start + 5000])
    with session_scope() as session:
        session.execute(sa.text("ANALYZE"))
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(database_url: str, redis_url: str | None, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the API on a free loopback port; returns the process and the base URL."""
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGMA_")}
    env.update({"SIGMA_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)})
    if redis_url:
        env["SIGMA_REDIS_URL"] = redis_url
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "api:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-keep-alive",
        "30",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the API did not start within 60 s")


def stop_api(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def drive(
    base: str, headers: dict[str, str], paths: list[str], clients: int
) -> tuple[np.ndarray, float]:
    """GET every path with ``clients`` concurrent clients; returns latencies (s) and wall time.

    A non-200 answer stops the run; a dropped connection is counted and reported, not timed.
    """
    import httpx

    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            path = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                answer = await http.get(path, headers=headers)
            except httpx.TransportError as exc:
                errors.append(f"GET {path}: {type(exc).__name__}")
                continue
            latencies.append(time.perf_counter() - t0)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")

    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - start
    if errors:
        print(f"  {len(errors)} connection errors (not timed), e.g. {errors[0]}", flush=True)
    return np.asarray(latencies), wall


def report(name: str, latencies: np.ndarray, wall: float) -> None:
    p50, p95, p99 = np.percentile(latencies * 1000, [50, 95, 99])
    print(
        f"{name:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  "
        f"{len(latencies) / wall:8.0f} req/s  ({len(latencies)} requests)",
        flush=True,
    )


def cases(base: str, headers: dict[str, str], sweep_id: int, limit: int) -> dict[str, list[str]]:
    """URL templates per case; ``{i}`` is replaced for uncached runs."""
    import httpx

    deep = f"/sweeps/{sweep_id}/results?sort=sharpe&limit={limit}"
    cursor = None
    for _ in range(5):
        page = httpx.get(
            base + deep + (f"&cursor={cursor}" if cursor else ""), headers=headers, timeout=60
        ).json()
        cursor = page["next_cursor"]
    return {
        "GET /leaderboard (runs, sharpe)": [f"/leaderboard?limit={limit}"],
        "GET /leaderboard (sweeps, sharpe)": [f"/leaderboard?source=sweeps&limit={limit}"],
        "GET /leaderboard (sweeps, pack+gate filter)": [
            f"/leaderboard?source=sweeps&pack={p}&gate_pass=true&limit={limit}" for p in PACKS
        ],
        "GET /sweeps/{id}/results (sharpe, page 1)": [deep],
        "GET /sweeps/{id}/results (sharpe, page 6)": [f"{deep}&cursor={cursor}"],
    }


def run(args: argparse.Namespace) -> None:
    from sigma_lab import auth
    from sigma_lab.config import get_settings
    from sigma_lab.store import ensure_schema

    url = create_database(args.database_url)
    print(f"database {sa.make_url(url).database}: seeding {args.results:,} sweep results", flush=True)
    os.environ["SIGMA_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        ensure_schema(url)
        t0 = time.perf_counter()
        sweep_ids = seed(args.results, args.sweeps, args.runs)
        print(f"seeded in {time.perf_counter() - t0:.1f} s", flush=True)
        _, plaintext = auth.create_key("viewer", "bench", {"requests_per_minute": 100_000_000})
        headers = {"X-API-Key": plaintext}
        for label, redis_url in (("uncached", None), ("cached", args.redis_url)):
            proc, base = start_api(url, redis_url, args.workers)
            try:
                for name, paths in cases(base, headers, sweep_ids[0], args.limit).items():
                    if label == "uncached":
                        urls = [
                            f"{paths[i % len(paths)]}&_nc={i}-{uuid.uuid4().hex[:6]}"
                            for i in range(args.requests)
                        ]
                    else:
                        asyncio.run(drive(base, headers, paths, 1))
                        urls = [paths[i % len(paths)] for i in range(args.requests)]
                    latencies, wall = asyncio.run(drive(base, headers, urls, args.clients))
                    report(f"{label:<9} {name}", latencies, wall)
                    if args.serial_requests:
                        serial = [f"{u}&_s=1" if label == "uncached" else u for u in urls]
                        latencies, wall = asyncio.run(drive(base, headers, serial[: args.serial_requests], 1))
                        report(f"{label:<9} {name} [1 client]", latencies, wall)
            finally:
                stop_api(proc)
    finally:
        from sigma_lab.store.engine import dispose_engines

        dispose_engines()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=50, help="rows per page")
    parser.add_argument(
        "--serial-requests",
        type=int,
        default=200,
        help="also time this many requests from one client (the service time without queueing)",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
