"""Migrations: the migrated schema equals the models, upgrades are idempotent and race-safe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sigma_lab.errors import StoreError
from sigma_lab.store import (
    Base,
    current_revision,
    ensure_schema,
    get_engine,
    head_revision,
    session_scope,
    upgrade,
)
from sigma_lab.store.migrate import MIGRATIONS_DIR


def _schema_diff(url: str) -> list[object]:
    with get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_equals_the_models(database_url: str) -> None:
    upgrade(database_url)
    assert _schema_diff(database_url) == []
    assert current_revision(database_url) == head_revision()


def test_schema_comparison_notices_a_missing_index(database_url: str) -> None:
    upgrade(database_url)
    with get_engine(database_url).begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_backtest_runs_rank_sharpe"))
    diff = _schema_diff(database_url)
    assert any(d[0] == "add_index" and d[1].name == "ix_backtest_runs_rank_sharpe" for d in diff)


def test_current_revision_is_none_before_and_head_after_repeated_upgrades(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    tables = set(sa.inspect(get_engine(database_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_upgrade_refuses_a_database_from_a_newer_version(database_url: str) -> None:
    upgrade(database_url)
    with get_engine(database_url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    with pytest.raises(StoreError, match="ffff_from_the_future"):
        upgrade(database_url)


def test_upgrade_creates_the_folder_of_a_sqlite_file(workspace: Path) -> None:
    db = workspace / "deep" / "er" / "sigma.db"
    upgrade(f"sqlite:///{db}")
    assert db.is_file()
    assert current_revision(f"sqlite:///{db}") == head_revision()


def test_session_scope_migrates_a_fresh_workspace_on_first_use(workspace: Path) -> None:
    with session_scope() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM backtest_runs")) == 0
    assert (workspace / "sigma.db").is_file()
    assert current_revision() == head_revision()


def test_ensure_schema_upgrades_a_database_that_is_behind(database_url: str) -> None:
    upgrade(database_url, revision="base")
    ensure_schema(database_url)
    assert current_revision(database_url) == head_revision()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(workspace: Path) -> None:
    url = f"sqlite:///{workspace / 'sigma.db'}"
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_get_engine_is_cached_per_url(workspace: Path) -> None:
    a, b = f"sqlite:///{workspace / 'a.db'}", f"sqlite:///{workspace / 'b.db'}"
    assert get_engine(a) is get_engine(a)
    assert get_engine(a) is not get_engine(b)


_UPGRADE = "import sys; from sigma_lab.store import upgrade; upgrade(sys.argv[1])"


def test_concurrent_upgrades_from_several_processes_all_succeed(database_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", _UPGRADE, database_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert current_revision(database_url) == head_revision()
    assert _schema_diff(database_url) == []


def test_migration_files_ship_inside_the_package() -> None:
    from setuptools import find_packages

    root = Path(__file__).resolve().parents[2]
    packages = find_packages(where=str(root), include=["sigma_lab*"])
    assert "sigma_lab.store.migrations" in packages
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))


def test_a_forked_child_opens_its_own_connections(database_url: str) -> None:
    import multiprocessing

    with session_scope(database_url) as session:
        assert session.scalar(sa.text("SELECT 1")) == 1
    pool = get_engine(database_url).pool
    parent_checked_in = pool.checkedin()
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as workers:
        child_checked_in = workers.apply(_pool_size_after_fork, (database_url,))
    assert parent_checked_in >= 1 and child_checked_in == 0
    with session_scope(database_url) as session:
        assert session.scalar(sa.text("SELECT 1")) == 1


def _pool_size_after_fork(url: str) -> int:
    return get_engine(url).pool.checkedin()


def test_ranking_indexes_are_stored_best_first_on_every_database(database_url: str) -> None:
    upgrade(database_url)
    engine = get_engine(database_url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            info = conn.exec_driver_sql("PRAGMA index_xinfo(ix_sweep_results_sweep_id_rank_sharpe)").all()
        assert [(row[2], row[3]) for row in info if row[5]] == [("sweep_id", 0), ("sharpe", 1), ("id", 0)]
    else:
        index = next(
            i
            for i in sa.inspect(engine).get_indexes("sweep_results")
            if i["name"] == "ix_sweep_results_sweep_id_rank_sharpe"
        )
        assert index["column_names"] == ["sweep_id", "sharpe", "id"]
        assert index["column_sorting"] == {"sharpe": ("desc", "nulls_last")}


def test_schema_comparison_notices_a_ranking_index_in_the_wrong_order(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite reflects no index sort order; the index_xinfo test pins it there")
    upgrade(database_url)
    with get_engine(database_url).begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_backtest_runs_rank_sharpe"))
        conn.execute(sa.text("CREATE INDEX ix_backtest_runs_rank_sharpe ON backtest_runs (sharpe DESC, id)"))
    diff = _schema_diff(database_url)
    assert {d[0] for d in diff} == {"add_index", "remove_index"}
    assert {d[1].name for d in diff} == {"ix_backtest_runs_rank_sharpe"}
