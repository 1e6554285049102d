"""The signals dashboard end to end: signals generated and tracked by real runs of the seeded model,
rendered by Voila in headless Chromium; the page's numbers equal the store's, and the
signals/rejected toggle round-trips to the kernel."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from sigma_lab.dashboards import format_value
from sigma_lab.store import Signal, repo, session_scope

LOAD_MS = 120_000
UPDATE_MS = 60_000
OPEN_POLICY = {
    "name": "open",
    "risk_profile": "aggressive",
    "risk": {"max_exposure": 1.0, "max_open_positions": 1000, "max_drawdown": 0.99},
    "execution": {"sizing": "fixed", "size": 0.01},
    "alerting": {"min_confidence": 0.5, "max_signals_per_day": 1000},
}


@pytest.fixture(scope="session")
def signals_seeded(seeded: Any) -> str:
    """Signals of the seeded model at 11:00 New York on 20 sessions (the first rejected), tracked."""
    from sigma_lab.packs import get_model_config
    from sigma_lab.signals import generate, model_bars, track

    model_id = seeded.model_id
    bars = model_bars(get_model_config(model_id), "SPY")
    local = bars.index.tz_convert("America/New_York")
    times = list(bars.index[local.hour == 11][-25:-5])
    with session_scope() as session:
        repo.add_policy_version(session, model_id, {**OPEN_POLICY, "alerting": {"min_confidence": 0.99}})
    generate(model_id, times[0])
    with session_scope() as session:
        repo.add_policy_version(session, model_id, OPEN_POLICY)
    for ts in times[1:]:
        generate(model_id, ts)
    track(model_id)
    return model_id


def _text(page: Any, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def test_signals_page_shows_the_stored_record_and_toggles_to_rejections(
    page: Any, voila_server: Any, signals_seeded: str, screenshots: Any
) -> None:
    from sigma_lab.signals import performance

    page.goto(voila_server.page("signals", model_id=signals_seeded), timeout=LOAD_MS)
    page.wait_for_selector("#signals-metrics", timeout=LOAD_MS)
    with session_scope() as session:
        perf = performance(session, signals_seeded)
        newest = session.scalars(
            sa.select(Signal)
            .where(Signal.model_id == signals_seeded, Signal.accepted.is_(True))
            .order_by(Signal.id.desc())
            .limit(1)
        ).one()
        rejected = session.scalars(
            sa.select(Signal).where(Signal.model_id == signals_seeded, Signal.accepted.is_(False))
        ).all()
    assert perf["closed"] >= 1 and rejected
    assert signals_seeded in _text(page, "#signals-title")
    for metric in ("signals", "hit_rate", "avg_r", "max_drawdown"):
        assert _text(page, f"#signals-metrics [data-metric={metric}]") == format_value(metric, perf[metric])
    assert _text(page, "#signals-table tbody tr:first-child td[data-col=id]") == str(newest.id)
    assert _text(page, "#signals-table tbody tr:first-child td[data-col=outcome]") == (
        newest.outcome or "n/a"
    )
    page.wait_for_selector(".js-plotly-plot", timeout=UPDATE_MS)

    page.locator(".widget-toggle-buttons button", has_text="rejected").click()
    page.wait_for_selector("#signals-table th[data-col=reject_reason]", timeout=UPDATE_MS)
    keys = page.locator("#signals-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert sorted(keys) == sorted(str(r.id) for r in rejected)
    reason = _text(page, "#signals-table tbody tr:first-child td[data-col=reject_reason]")
    assert reason in {r.reject_reason for r in rejected}
    page.screenshot(path=str(screenshots / "signals.png"), full_page=True)
    outside = [u for u in page.requests if not u.startswith((voila_server.url, "blob:", "data:"))]
    assert outside == []
