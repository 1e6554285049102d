"""A writer killed half-way through a large transaction leaves the database readable and consistent."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from sigma_lab.store import BacktestFold, BacktestRun, Trade, get_engine, repo, session_scope

T0 = "2024-03-01T14:30:00+00:00"

# Streams trades into one backtest run; after 60,000 rows (12 executed batches) it signals the
# test and hangs mid-transaction, so the kill lands between statements of an open transaction.
_WRITER = """
import datetime as dt, sys, time
from pathlib import Path
from sigma_lab.store import repo, session_scope

url, marker = sys.argv[1], Path(sys.argv[2])
t0 = dt.datetime.fromisoformat(sys.argv[3])

def trades():
    for i in range(10**9):
        if i == 60_000:
            marker.touch()
            time.sleep(600)
        yield {"side": "long", "entry_time": t0 + dt.timedelta(minutes=i), "entry_price": 100.0, "size": 1.0}

with session_scope(url) as session:
    repo.record_backtest_run(session, {"model_id": "killed"}, [{}], trades(), batch_size=5_000)
"""


def _counts(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        count = sa.select(sa.func.count())
        return {
            "runs": session.scalar(count.select_from(BacktestRun)),
            "killed_runs": session.scalar(count.where(BacktestRun.model_id == "killed")),
            "trades": session.scalar(count.select_from(Trade)),
            "folds": session.scalar(count.select_from(BacktestFold)),
            "orphan_trades": session.scalar(
                count.select_from(Trade).where(~sa.exists().where(BacktestRun.id == Trade.run_id))
            ),
            "runs_without_trades": session.scalar(
                count.select_from(BacktestRun).where(~sa.exists().where(Trade.run_id == BacktestRun.id))
            ),
        }


def _record_small_run(url: str, model_id: str, n: int) -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    trades = [
        {"side": "long", "entry_time": t0 + dt.timedelta(minutes=i), "entry_price": 1.0, "size": 1.0}
        for i in range(n)
    ]
    with session_scope(url) as session:
        repo.record_backtest_run(session, {"model_id": model_id}, [{}], trades)


def _a_write_transaction_is_open(url: str) -> bool:
    """True while another connection holds an uncommitted write transaction on the database."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.engine.make_url(url).database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            conn.close()
    with get_engine(url).connect() as conn:
        idle_in_transaction = sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        return conn.execute(idle_in_transaction).scalar() > 0


def test_killing_a_writer_mid_transaction_leaves_no_partial_run(database_url: str, tmp_path: Path) -> None:
    _record_small_run(database_url, "before", 10)
    marker = tmp_path / "half-way"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, database_url, str(marker), T0],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if writer.poll() is not None:
            raise AssertionError(f"writer ended before the kill: {writer.communicate()[1]}")
        assert time.monotonic() < deadline, "writer never reached the middle of its transaction"
        time.sleep(0.05)
    assert _a_write_transaction_is_open(database_url)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    assert _counts(database_url) == {
        "runs": 1,
        "killed_runs": 0,
        "trades": 10,
        "folds": 1,
        "orphan_trades": 0,
        "runs_without_trades": 0,
    }
    if database_url.startswith("sqlite"):
        with get_engine(database_url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    _record_small_run(database_url, "after", 5)
    counts = _counts(database_url)
    assert (counts["runs"], counts["trades"], counts["orphan_trades"]) == (2, 15, 0)
