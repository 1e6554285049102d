"""Generation end to end on the sample data: train, generate as of past dates, track on real bars."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from signal_helpers import OPEN_POLICY, make_fast_model

from sigma_lab import data, events
from sigma_lab.config import get_settings
from sigma_lab.matrix import load_matrix
from sigma_lab.signals import CHANNEL, generate, get_signal, performance, track
from sigma_lab.store import Signal, WebhookDelivery, repo, session_scope

DATES = ["2012-06-01", "2012-06-04", "2012-06-05", "2012-06-06"]


def _store_policy(model_id: str, spec: dict) -> None:
    with session_scope() as session:
        repo.add_policy_version(session, model_id, spec)


def _wilder_atr(bars: pd.DataFrame, period: int) -> float:
    """ATR of the last bar by the textbook recursion, written out in plain Python."""
    high, low, close = (bars[k].tolist() for k in ("high", "low", "close"))
    true_ranges = [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        for i in range(1, len(close))
    ]
    value = sum(true_ranges[:period]) / period
    for tr in true_ranges[period:]:
        value = (value * (period - 1) + tr) / period
    return value


def _hand_outcome(
    bars: pd.DataFrame, decided: pd.Timestamp, stop: float, target: float, hold: int, slip: float
):
    """A long bracket trade entered at the next open, in plain Python."""
    i = bars.index.get_loc(decided) + 1
    entry = bars["open"].iloc[i] * (1 + slip)
    for t in range(i, len(bars)):
        o, h, lo = bars["open"].iloc[t], bars["high"].iloc[t], bars["low"].iloc[t]
        if t == i + hold:
            return "time_stop", bars.index[t], o * (1 - slip), entry
        if o <= stop:
            return "stop", bars.index[t], o * (1 - slip), entry
        if o >= target:
            return "target", bars.index[t], o * (1 - slip), entry
        if lo <= stop:
            return "stop", bars.index[t], stop * (1 - slip), entry
        if h >= target:
            return "target", bars.index[t], target * (1 - slip), entry
    return "open", None, None, entry


def test_signals_generated_in_the_past_track_to_the_hand_computed_outcome(fast_model: str) -> None:
    _store_policy(fast_model, OPEN_POLICY)
    for day in DATES:
        generate(fast_model, day)
    track(fast_model)
    bars = data.load("AAPL", "1d", "2009-01-01", "2012-12-31", source="sample")
    with session_scope() as session:
        rows = session.scalars(
            sa.select(Signal)
            .where(Signal.model_id == fast_model, Signal.accepted.is_(True))
            .order_by(Signal.asof)
        ).all()
        assert len(rows) >= 3
        for row in rows:
            decided = pd.Timestamp(row.asof)
            upto = bars[bars.index <= decided]
            atr = _wilder_atr(upto, 14)
            close = upto["close"].iloc[-1]
            assert row.side == "long" and row.policy_version == 1
            assert row.entry == pytest.approx(close)
            assert row.stop == pytest.approx(close - atr) and row.target == pytest.approx(close + 2 * atr)
            assert row.time_stop_bars == 10 and row.reward_risk == pytest.approx(2.0)
            outcome, exit_time, exit_price, entry = _hand_outcome(
                bars, decided, row.stop, row.target, 10, 0.001
            )
            assert row.outcome == outcome
            assert pd.Timestamp(row.exit_time) == exit_time
            assert row.exit_price == pytest.approx(exit_price)
            assert row.realized_return == pytest.approx(exit_price / entry - 1.0)
            assert row.r_multiple == pytest.approx((exit_price / entry - 1.0) / ((close - row.stop) / close))
        perf = performance(session, fast_model)
    assert perf["closed"] == len(rows)
    assert perf["hit_rate"] == pytest.approx(np.mean([r.realized_return > 0 for r in rows]))


def test_the_live_feature_row_equals_the_matrix_row_built_with_later_bars(fast_model: str) -> None:
    _store_policy(fast_model, OPEN_POLICY)
    decision = generate(fast_model, "2011-03-15")[0]
    matrix, manifest = load_matrix(fast_model)
    assert matrix.index.max() > pd.Timestamp("2012-06-01", tz="UTC")
    expected = matrix.loc[pd.Timestamp(decision["asof"]), manifest["feature_columns"]]
    live = pd.Series(decision["features"]).reindex(expected.index).astype("float64")
    pd.testing.assert_series_equal(live, expected.astype("float64"), check_names=False, rtol=0, atol=0)


def test_rejected_candidates_are_stored_with_their_reason(fast_model: str) -> None:
    _store_policy(fast_model, {**OPEN_POLICY, "alerting": {"min_confidence": 0.99}})
    decision = generate(fast_model, "2012-06-01")[0]
    assert not decision["accepted"] and decision["reject_reason"] == "min_confidence"
    assert not decision["created"]
    with session_scope() as session:
        stored = get_signal(session, decision["id"])
    assert stored["reject_reason"] == "min_confidence" and stored["entry"] is not None


def test_a_later_run_of_the_same_day_is_accepted_over_a_rejection(fast_model: str) -> None:
    _store_policy(fast_model, {**OPEN_POLICY, "alerting": {"min_confidence": 0.99}})
    first = generate(fast_model, "2012-06-01")[0]
    _store_policy(fast_model, OPEN_POLICY)
    second = generate(fast_model, "2012-06-01")[0]
    assert second["created"] and second["id"] == first["id"]
    with session_scope() as session:
        assert (
            session.get(Signal, first["id"]).accepted and session.get(Signal, first["id"]).policy_version == 2
        )


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A loopback HTTP server recording the webhook bodies it receives."""
    monkeypatch.setenv("SIGMA_ALLOW_PRIVATE_WEBHOOKS", "1")
    get_settings.cache_clear()
    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/hook", "received": got}
    server.shutdown()
    get_settings.cache_clear()


def test_generating_twice_stores_no_duplicates_and_fires_each_webhook_once(
    database_url: str, workspace: object, receiver: dict
) -> None:
    model_id = make_fast_model()
    _store_policy(model_id, OPEN_POLICY)
    with session_scope() as session:
        events.create_subscription(session, receiver["url"], ["signal.created"])
    first = [generate(model_id, day)[0] for day in DATES[:2]]
    second = [generate(model_id, day)[0] for day in DATES[:2]]
    assert all(d["created"] for d in first) and not any(d["created"] for d in second)
    assert [d["id"] for d in first] == [d["id"] for d in second]
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Signal)) == 2
        deliveries = session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [d.event_id for d in deliveries] == [f"signal-{d['id']}" for d in first]
    while events.deliver_due():
        pass
    assert sorted(body["data"]["id"] for body in receiver["received"]) == sorted(d["id"] for d in first)
    assert all(body["event"] == "signal.created" for body in receiver["received"])


def test_new_signals_are_published_on_the_redis_channel(
    fast_model: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    _store_policy(fast_model, OPEN_POLICY)
    monkeypatch.setenv("SIGMA_REDIS_URL", redis_url)
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(CHANNEL)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    decision = generate(fast_model, "2012-06-01")[0]
    generate(fast_model, "2012-06-01")
    messages = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            messages.append(json.loads(message["data"]))
    pubsub.close()
    client.close()
    assert len(messages) == 1
    assert messages[0]["event"] == "signal.created" and messages[0]["data"]["id"] == decision["id"]
    assert messages[0]["data"]["stop"] == pytest.approx(decision["stop"])
