"""Every dashboard end to end: Voila serves it over a seeded store, headless Chromium renders it,
the numbers on the page equal the store's, an interaction round-trips to the kernel and
updates the page, and nothing is requested from outside 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from sigma_lab.dashboards import format_value
from sigma_lab.store import BacktestRun, SweepResult, TrainingRun, session_scope

LOAD_MS = 120_000
UPDATE_MS = 60_000


def _open(page: Any, url: str, ready: str) -> None:
    page.goto(url, timeout=LOAD_MS)
    page.wait_for_selector(ready, timeout=LOAD_MS)


def _assert_local(page: Any, server: Any) -> None:
    outside = [u for u in page.requests if not u.startswith((server.url, "blob:", "data:"))]
    assert outside == [], f"the page requested resources outside 127.0.0.1: {outside}"


def _select(page: Any, description: str, option: str) -> None:
    dropdown = page.locator(".widget-dropdown", has_text=description).locator("select")
    dropdown.select_option(label=option)


def _best_run(metric: str, **where: Any) -> BacktestRun:
    column = getattr(BacktestRun, metric)
    query = sa.select(BacktestRun).order_by(column.desc().nulls_last(), BacktestRun.id)
    for name, value in where.items():
        query = query.where(getattr(BacktestRun, name) == value)
    with session_scope() as session:
        return session.scalars(query.limit(1)).one()


def _text(page: Any, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def test_leaderboard_top_row_is_the_stores_best_and_a_tag_filter_reranks(
    page: Any, voila_server: Any, seeded: Any, screenshots: Any
) -> None:
    _open(page, voila_server.page("leaderboard"), "#leaderboard-table")
    best = _best_run("sharpe")
    assert _text(page, "#leaderboard-table tbody tr:first-child td[data-col=id]") == str(best.id)
    assert _text(page, "#leaderboard-table tbody tr:first-child td[data-col=sharpe]") == format_value(
        "sharpe", best.sharpe
    )
    assert page.locator("#leaderboard-table th[data-col=sharpe] abbr[title]").count() == 1
    page.wait_for_selector(f"#run-title:has-text('Run #{best.id}')", timeout=UPDATE_MS)

    _select(page, "Tag", "slow")
    best_slow = _best_run("sharpe", tag="slow")
    assert best_slow.id != best.id
    page.wait_for_selector(
        f"#leaderboard-table tbody tr:first-child td[data-col=id]:text-is('{best_slow.id}')",
        timeout=UPDATE_MS,
    )
    assert page.locator("#leaderboard-table tbody tr").count() == 2
    page.wait_for_selector(f"#run-title:has-text('Run #{best_slow.id}')", timeout=UPDATE_MS)
    page.wait_for_selector(".js-plotly-plot .scatterlayer", timeout=UPDATE_MS)
    page.screenshot(path=str(screenshots / "leaderboard.png"), full_page=True)
    _assert_local(page, voila_server)


def test_backtest_report_shows_the_stored_total_return_and_switches_to_the_model_run(
    page: Any, voila_server: Any, seeded: Any, screenshots: Any
) -> None:
    run_id = seeded.runs["fast"]
    _open(page, voila_server.page("backtest", run_id=run_id), "#report-metrics")
    with session_scope() as session:
        stored = session.get(BacktestRun, run_id)
        model_run = session.get(BacktestRun, seeded.runs["model"])
    assert _text(page, "#report-metrics [data-metric=total_return]") == format_value(
        "total_return", stored.total_return
    )
    assert _text(page, "#report-metrics [data-metric=sharpe]") == format_value("sharpe", stored.sharpe)
    page.wait_for_selector("#lineage-table td:text-is('bars_hash')", timeout=UPDATE_MS)
    page.wait_for_selector("#trade-table", timeout=UPDATE_MS)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=UPDATE_MS)
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 1
    page.screenshot(path=str(screenshots / "backtest.png"), full_page=True)

    label = (
        page.locator(".widget-dropdown", has_text="Run")
        .locator(f"option[value]:has-text('#{model_run.id} ')")
        .first.inner_text()
    )
    _select(page, "Run", label)
    page.wait_for_selector(f"#report-title:has-text('Run #{model_run.id}')", timeout=UPDATE_MS)
    page.wait_for_selector("#fold-table", timeout=UPDATE_MS)
    assert _text(page, "#report-metrics [data-metric=total_return]") == format_value(
        "total_return", model_run.total_return
    )
    page.wait_for_selector(f".js-plotly-plot .gtitle:has-text('Run #{model_run.id}')", timeout=UPDATE_MS)
    page.screenshot(path=str(screenshots / "backtest_model.png"), full_page=True)
    _assert_local(page, voila_server)


def _sweep_best(sweep_id: int, metric: str) -> float:
    column = getattr(SweepResult, metric)
    with session_scope() as session:
        return session.scalar(sa.select(sa.func.max(column)).where(SweepResult.sweep_id == sweep_id))


def test_sweep_explorer_heatmap_follows_the_metric_selector(
    page: Any, voila_server: Any, seeded: Any, screenshots: Any
) -> None:
    sweep_id = seeded.sweep_id
    _open(page, voila_server.page("sweep", sweep_id=sweep_id), "#sweep-best")
    assert _text(page, "#sweep-best b[data-metric=sharpe]") == format_value(
        "sharpe", _sweep_best(sweep_id, "sharpe")
    )
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=UPDATE_MS)
    page.wait_for_selector(".js-plotly-plot .gtitle:has-text('sharpe')", timeout=UPDATE_MS)

    _select(page, "Metric", "Total return (total_return)")
    page.wait_for_selector("#sweep-best b[data-metric=total_return]", timeout=UPDATE_MS)
    assert _text(page, "#sweep-best b[data-metric=total_return]") == format_value(
        "total_return", _sweep_best(sweep_id, "total_return")
    )
    page.wait_for_selector(".js-plotly-plot .gtitle:has-text('total_return')", timeout=UPDATE_MS)
    page.screenshot(path=str(screenshots / "sweep.png"), full_page=True)
    _assert_local(page, voila_server)


def test_model_page_shows_the_card_and_filters_the_timeline(
    page: Any, voila_server: Any, seeded: Any, screenshots: Any
) -> None:
    _open(page, voila_server.page("model", model_id=seeded.model_id), "#card-title")
    with session_scope() as session:
        training = session.scalars(
            sa.select(TrainingRun).where(TrainingRun.model_id == seeded.model_id)
        ).one()
    assert seeded.model_id in _text(page, "#card-title")
    assert _text(page, "#card-metrics [data-metric=auc]") == format_value("auc", training.auc)
    page.wait_for_selector("#timeline-table", timeout=UPDATE_MS)
    kinds = page.locator("#timeline-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert kinds == ["build", "training", "backtest"]

    page.locator(".widget-toggle-buttons button", has_text="trainings").click()
    page.wait_for_function(
        "document.querySelectorAll('#timeline-table tbody tr').length === 1", timeout=UPDATE_MS
    )
    assert _text(page, "#timeline-table tbody tr td[data-col=id]") == str(training.id)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=UPDATE_MS)
    page.screenshot(path=str(screenshots / "model.png"), full_page=True)
    _assert_local(page, voila_server)


@pytest.mark.parametrize("name", ["backtest", "sweep"])
def test_unknown_id_in_the_query_shows_an_error_not_a_traceback(
    page: Any, voila_server: Any, name: str
) -> None:
    key = "run_id" if name == "backtest" else "sweep_id"
    _open(page, voila_server.page(name, **{key: 999999}), ".sigma-error")
    assert "999999" in _text(page, ".sigma-error")
    assert page.locator("text=Traceback").count() == 0
