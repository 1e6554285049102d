"""Signal generation: the latest bar's features, the trained model's score, the policy, brackets, storage.

For each ticker of the model, :func:`generate` computes the feature rows with the very function
that builds training matrices (``sigma_lab.matrix.ticker_frame``, on bars from the config's
start up to ``asof``), so the live row of a bar equals that bar's matrix row built later (no
train/serve skew). The row is scored by the latest trained artifact and turned into a side with
the model's backtest rules (threshold, larger class; :func:`sigma_lab.backtest.scores.score_signals`);
as there, the confidence is the largest class probability (the score is the side's probability).
The candidate then gets brackets and passes the policy engine
(:func:`sigma_lab.signals.policy.enforce`) or is rejected with a reason.

Storage is one decision per (date, model, ticker) (New York date for intraday bars, the bar's
date for daily ones): a rejected candidate is recorded unless the day already has a decision,
and an accepted candidate may take over the day's rejected record. A newly accepted signal
queues its ``signal.created`` webhooks in the same transaction (event id ``signal-<id>``), and
after the commit is published as JSON on the Redis channel :data:`CHANNEL` when
``SIGMA_REDIS_URL`` is set. Running generation again for the same bar stores nothing new and
fires nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigma_lab.data.bars import BAR_COLUMNS
from sigma_lab.errors import ConfigError, DataSourceError, NotFoundError
from sigma_lab.signals.brackets import compute_brackets
from sigma_lab.signals.policy import Candidate, Policy, PolicyState, enforce, parse_policy, position_size
from sigma_lab.store import Signal

#: The Redis pub/sub channel new signals are published on.
CHANNEL = "sigma:signals"
EVENT = "signal.created"


def model_bars(cfg: Any, ticker: str, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The bars a model trades on: its source and timeframe, inside its session (intraday)."""
    from sigma_lab import data
    from sigma_lab.data.sessions import session_mask
    from sigma_lab.data.timeframes import parse_timeframe

    tf = parse_timeframe(cfg.data.timeframe)
    bars = data.load(ticker, tf, start, end, source=cfg.data.source)[list(BAR_COLUMNS)]
    if tf.intraday and cfg.data.session != "all" and len(bars):
        bars = bars[session_mask(bars.index, tf.minutes, cfg.data.session)]
    return bars


def resolve_policy(session: Session, model_id: str, version: int | None = None) -> tuple[Policy, int | None]:
    """The policy a model's signals follow and its version.

    The stored policy (``version``, default the latest), else the model's pack template
    (version 0), else the balanced risk profile's defaults (version ``None``).
    """
    from sigma_lab import modelstore
    from sigma_lab.packs import get_model_config
    from sigma_lab.store import repo

    if version not in (None, 0):
        row = repo.get_policy(session, model_id, version)
        return parse_policy(row["spec"]), int(row["version"])
    if version is None:
        try:
            row = repo.get_policy(session, model_id)
            return parse_policy(row["spec"]), int(row["version"])
        except NotFoundError:
            pass
    template = modelstore.policy_template_for(get_model_config(model_id))
    if template is not None:
        return parse_policy(template.model_dump(mode="json")), 0
    return parse_policy({}), None


def feature_frame(cfg: Any, ticker: str, end: Any) -> pd.DataFrame:
    """The matrix rows of ``ticker`` for bars up to ``end``: the exact code that builds matrices."""
    from sigma_lab.matrix import ticker_frame
    from sigma_lab.packs import get_indicator_set

    iset = get_indicator_set(cfg)
    frame, _ = ticker_frame(cfg, iset, ticker, cfg.data.start, end)
    return frame


def _tickers(cfg: Any) -> list[str]:
    if cfg.ticker:
        return [cfg.ticker]
    from sigma_lab.universes import get_universe

    return list(get_universe(cfg.universe).tickers)


def _decide(cfg: Any, proba: pd.DataFrame, bars_row: pd.DataFrame) -> tuple[str, float, float]:
    """Side, side probability and largest class probability of one scored row."""
    from sigma_lab.backtest.scores import ScoreParams, score_signals
    from sigma_lab.labels import get as get_label

    names = get_label(cfg.label.kind).class_names(**cfg.label.params) or {}
    threshold = cfg.backtest.threshold
    if names:
        scores: pd.DataFrame | pd.Series = proba.rename(columns=lambda c: names.get(int(c), str(c)))
        up, down = names.get(1, "UP"), names.get(-1, "DOWN")
        params = ScoreParams(
            long_threshold=threshold,
            short_threshold=threshold,
            larger_class=cfg.backtest.larger_class,
            up_label=up,
            down_label=down,
        )
        long_p = float(scores[up].iloc[0]) if up in scores.columns else float("nan")
        short_p = float(scores[down].iloc[0]) if down in scores.columns else float("nan")
    else:
        scores = proba["1"]
        params = ScoreParams(long_threshold=threshold, short_threshold=threshold)
        long_p = float(scores.iloc[0])
        short_p = 1.0 - long_p
    long_ok, short_ok, confidence = score_signals(bars_row, scores, params, direction="both")
    top = float(confidence[0])
    if long_ok[0]:
        return "long", long_p, top
    if short_ok[0]:
        return "short", short_p, top
    return "flat", top, top


def _signal_date(ts: pd.Timestamp, intraday: bool) -> dt.date:
    return (ts.tz_convert("America/New_York") if intraday else ts.tz_convert("UTC")).date()


def _state(
    session: Session, model_id: str, ticker: str, asof: pd.Timestamp, date: dt.date, bars: pd.DataFrame
) -> PolicyState:
    """The model's live book just before the bar ``asof`` (time-correct for back-filled dates)."""
    from sigma_lab.signals.tracking import live_drawdown

    prior = session.scalars(
        sa.select(Signal).where(Signal.model_id == model_id, Signal.accepted.is_(True), Signal.asof < asof)
    ).all()
    state = PolicyState()
    mine = [s.asof for s in prior if s.ticker == ticker]
    if mine:
        last = pd.Timestamp(max(mine))
        state.bars_since_last[ticker] = int(((bars.index > last) & (bars.index <= asof)).sum())
    state.open_sizes = [
        float((s.lineage or {}).get("size", 0.0))
        for s in prior
        if s.exit_time is None or pd.Timestamp(s.exit_time) > asof
    ]
    state.signals_today = session.scalar(
        sa.select(sa.func.count())
        .select_from(Signal)
        .where(Signal.model_id == model_id, Signal.accepted.is_(True), Signal.date == date)
    )
    state.drawdown = live_drawdown(session, model_id, asof=asof.to_pydatetime())
    return state


def _store(session: Session, record: dict[str, Any]) -> tuple[int | None, bool]:
    """Store a decision; returns (the day's signal id, whether it became an accepted signal now)."""
    from sigma_lab.store import repo

    new_id = repo.insert_signal(session, record)
    if new_id is not None:
        return new_id, bool(record["accepted"])
    key = (
        Signal.date == record["date"],
        Signal.model_id == record["model_id"],
        Signal.ticker == record["ticker"],
    )
    if record["accepted"]:
        values = {k: v for k, v in record.items() if k not in ("date", "model_id", "ticker")}
        taken = session.execute(
            sa.update(Signal).where(*key, Signal.accepted.is_(False)).values(**values)
        ).rowcount
        existing = session.scalar(sa.select(Signal.id).where(*key))
        return existing, bool(taken)
    return session.scalar(sa.select(Signal.id).where(*key)), False


def _payload(signal_id: int, record: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "model_id",
        "ticker",
        "date",
        "asof",
        "side",
        "score",
        "confidence",
        "entry",
        "stop",
        "target",
        "time_stop_bars",
        "reward_risk",
        "policy_version",
    )
    return {"id": signal_id, **{k: record[k] for k in keep}, "size": record["lineage"].get("size")}


def _publish_redis(payloads: list[dict[str, Any]]) -> None:
    from sigma_lab.config import get_settings
    from sigma_lab.store.types import to_jsonable

    url = get_settings().redis_url
    if not url or not payloads:
        return
    import redis

    client = redis.Redis.from_url(url)
    try:
        for payload in payloads:
            client.publish(CHANNEL, json.dumps(to_jsonable({"event": EVENT, "data": payload})))
    finally:
        client.close()


def generate(
    model_id: str,
    asof: str | dt.date | dt.datetime | pd.Timestamp | None = None,
    *,
    policy: Policy | dict[str, Any] | None = None,
    root: str | Path | None = None,
    session: Session | None = None,
) -> list[dict[str, Any]]:
    """Generate, enforce, store and deliver the signals of ``model_id`` at its latest bar up to ``asof``.

    ``asof`` defaults to now (the newest bars); a date means the end of that day. ``policy``
    overrides the model's stored policy. Returns one decision per ticker: the signal fields
    plus ``id`` (the day's stored decision) and ``created`` (a new accepted signal). Tickers of
    a universe without data are skipped; a single-ticker model without data raises
    :class:`~sigma_lab.errors.DataSourceError`.
    """
    from sigma_lab.store import session_scope

    if session is None:
        with session_scope() as own:
            return generate(model_id, asof, policy=policy, root=root, session=own)
    decisions = _generate(session, model_id, asof, policy, root)
    created = [d.pop("payload") for d in decisions if d["created"]]
    for d in decisions:
        d.pop("payload", None)
    if created:
        sa.event.listen(session, "after_commit", lambda _session: _publish_redis(created), once=True)
    return decisions


def _generate(session: Session, model_id: str, asof: Any, policy_in: Any, root: Any) -> list[dict[str, Any]]:
    from sigma_lab import __version__, events
    from sigma_lab.data.sessions import to_utc
    from sigma_lab.data.timeframes import parse_timeframe
    from sigma_lab.packs import content_hash, get_model_config
    from sigma_lab.signals.tracking import track
    from sigma_lab.train import load_model, predict_proba

    cfg = get_model_config(model_id, root)
    end = to_utc(asof, "end") if asof is not None else None
    model = load_model(model_id)
    if policy_in is not None:
        policy, version = parse_policy(policy_in), None
    else:
        policy, version = resolve_policy(session, model_id)
    intraday = parse_timeframe(cfg.data.timeframe).intraday
    track(model_id, asof=end, session=session)
    horizon = int(cfg.backtest.hold_bars or cfg.label.horizon)
    out = []
    for ticker in _tickers(cfg):
        try:
            frame = feature_frame(cfg, ticker, end)
        except (DataSourceError, NotFoundError):
            if cfg.ticker:
                raise
            continue
        if frame.empty:
            if cfg.ticker:
                raise DataSourceError(f"{ticker}: no feature rows for {model_id!r} up to {end}")
            continue
        row = frame.iloc[[-1]]
        ts = pd.Timestamp(row.index[0])
        proba = predict_proba(model, row)
        side, score, confidence = _decide(cfg, proba, row[list(BAR_COLUMNS)])
        bars = model_bars(cfg, ticker, cfg.data.start, ts)
        momentum = None
        if policy.execution.momentum_bars is not None and len(bars) > policy.execution.momentum_bars:
            close = bars["close"].to_numpy()
            momentum = float(close[-1] / close[-1 - policy.execution.momentum_bars] - 1.0)
        brackets = None
        if side != "flat":
            try:
                brackets = compute_brackets(bars, side, policy.execution, time_stop_bars=horizon)
            except ConfigError:
                brackets = None
        date = _signal_date(ts, intraday)
        reason: str | None
        size = None
        if brackets is None:
            reason = "no_side"
        else:
            candidate = Candidate(
                ticker=ticker,
                asof=ts.to_pydatetime(),
                side=side,
                confidence=confidence,
                entry=brackets.entry,
                stop=brackets.stop,
                target=brackets.target,
                momentum=momentum,
                intraday=intraday,
            )
            state = _state(session, model_id, ticker, ts, date, bars)
            reason = enforce(policy, candidate, state, allow_short=cfg.backtest.allow_short)
            size = position_size(policy, candidate)
        features = {c: (None if pd.isna(v) else float(v)) for c, v in row[model.feature_cols].iloc[0].items()}
        record = {
            "date": date,
            "asof": ts.to_pydatetime(),
            "model_id": model_id,
            "ticker": ticker,
            "side": side,
            "score": score,
            "confidence": confidence,
            "accepted": reason is None,
            "reject_reason": reason,
            "entry": brackets.entry if brackets else None,
            "stop": brackets.stop if brackets else None,
            "target": brackets.target if brackets else None,
            "time_stop_bars": brackets.time_stop_bars if brackets else None,
            "reward_risk": brackets.reward_risk if brackets else None,
            "policy_version": version,
            "training_run_id": model.run_id,
            "features": features,
            "lineage": {
                "size": size,
                "atr": brackets.atr if brackets else None,
                "artifact_sha256": model.sha256,
                "policy_hash": content_hash(policy),
                "probabilities": {str(k): float(v) for k, v in proba.iloc[0].items()},
                "package_version": __version__,
            },
        }
        signal_id, created = _store(session, record)
        payload = _payload(signal_id, record) if signal_id is not None else {}
        if created:
            events.publish(EVENT, payload, event_id=f"signal-{signal_id}", session=session)
        out.append({**record, "id": signal_id, "created": created, "payload": payload})
    session.flush()
    return out


def signal_dict(row: Signal) -> dict[str, Any]:
    """A stored signal as a dict."""
    from sigma_lab.store.repo import to_dict

    return to_dict(row)


def list_signals(
    session: Session,
    *,
    model_id: str | None = None,
    ticker: str | None = None,
    accepted: bool | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Stored signals, newest first (``before``: an id to page from), filtered."""
    query = sa.select(Signal).order_by(Signal.id.desc()).limit(limit)
    if model_id is not None:
        query = query.where(Signal.model_id == model_id)
    if ticker is not None:
        query = query.where(Signal.ticker == ticker.upper())
    if accepted is not None:
        query = query.where(Signal.accepted.is_(accepted))
    if start is not None:
        query = query.where(Signal.date >= start)
    if end is not None:
        query = query.where(Signal.date <= end)
    if before is not None:
        query = query.where(Signal.id < before)
    return [signal_dict(r) for r in session.scalars(query)]


def get_signal(session: Session, signal_id: int) -> dict[str, Any]:
    """One stored signal with its option signals; :class:`NotFoundError` when missing."""
    from sigma_lab.store import OptionSignal
    from sigma_lab.store.repo import to_dict

    row = session.get(Signal, signal_id)
    if row is None:
        raise NotFoundError(f"signal {signal_id} does not exist")
    out = signal_dict(row)
    out["option_signals"] = [
        to_dict(o)
        for o in session.scalars(
            sa.select(OptionSignal).where(OptionSignal.signal_id == signal_id).order_by(OptionSignal.id)
        )
    ]
    return out


def summary(session: Session, *, model_id: str | None = None) -> list[dict[str, Any]]:
    """Per model: signals accepted and rejected, open, closed, the latest signal date, hit rate and avg R."""
    from sigma_lab.signals.tracking import performance

    query = sa.select(Signal.model_id).distinct().order_by(Signal.model_id)
    if model_id is not None:
        query = query.where(Signal.model_id == model_id)
    out = []
    for mid in session.scalars(query).all():
        perf = performance(session, mid)
        latest = session.scalar(sa.select(sa.func.max(Signal.date)).where(Signal.model_id == mid))
        out.append(
            {
                "model_id": mid,
                "latest_date": latest,
                **{
                    k: perf[k]
                    for k in ("signals", "rejected", "open", "closed", "hit_rate", "avg_r", "signals_per_day")
                },
            }
        )
    return out
