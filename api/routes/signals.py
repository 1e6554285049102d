"""Signals: generate a model's signals, list and read them, per-model summaries and live performance,
the rule-based scanner and the option signals that express stock signals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Cache, Id, PageParams, Researcher, Viewer, WorkDep, next_cursor
from api.responses import cached_json
from api.schemas import Page
from sigma_lab import modelstore
from sigma_lab.signals import generate, get_signal, list_signals, performance, summary
from sigma_lab.store.types import to_jsonable

router = APIRouter(tags=["signals"])
TAGS = ("signals",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalRunRequest(_Strict):
    """Generate a model's signals at its latest bar up to ``asof`` (default: the newest bars)."""

    model_id: str = Field(min_length=1, max_length=200)
    asof: dt.datetime | dt.date | None = None


class ScanRequest(_Strict):
    """A rule-based scan of a universe (a universe or watchlist name, or a ticker list)."""

    universe: str | list[Annotated[str, Field(max_length=20)]] = Field(max_length=1000)
    asof: dt.datetime | dt.date | None = None
    timeframe: str = Field(default="1d", max_length=10)
    source: str = Field(default="sample", max_length=40)
    top_n: int = Field(default=10, ge=1, le=1000)
    direction: Literal["long", "short"] = "long"
    weights: dict[str, float] | None = None
    gates: dict[str, float | None] | None = None


@router.post("/signals/run", response_model=list[dict[str, Any]])
def run_signals(body: SignalRunRequest, work: WorkDep, _: Researcher) -> list[dict[str, Any]]:
    """Generate, check against the policy, store and deliver the model's signals (one per ticker).

    Running it again for the same bar stores nothing new and fires no webhook twice."""
    modelstore.get_model(work.session, body.model_id)
    decisions = generate(body.model_id, body.asof, session=work.session)
    work.touch("signal", *(d["id"] for d in decisions if d["id"] is not None))
    work.invalidate(*TAGS, f"signals:{body.model_id}")
    return decisions


@router.get("/signals", response_model=Page[dict[str, Any]])
def signals(
    request: Request,
    cache: Cache,
    work: WorkDep,
    _: Viewer,
    page: PageParams,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
    ticker: Annotated[str | None, Query(max_length=20)] = None,
    accepted: Annotated[bool | None, Query(description="true: signals; false: rejected candidates.")] = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Response:
    """Stored signals and rejected candidates, newest first."""

    def produce() -> dict[str, Any]:
        items = list_signals(
            work.session,
            model_id=model_id,
            ticker=ticker,
            accepted=accepted,
            start=start,
            end=end,
            limit=page.limit,
            before=page.before,
        )
        return {"items": items, "next_before": next_cursor(items, page)}

    return cached_json(request, cache, produce, tags=TAGS, dynamic=True)


@router.get("/signals/summary", response_model=list[dict[str, Any]])
def signals_summary(
    request: Request,
    cache: Cache,
    work: WorkDep,
    _: Viewer,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Per model: signals and rejections, open and closed, hit rate, average R, latest date."""
    return cached_json(
        request, cache, lambda: summary(work.session, model_id=model_id), tags=TAGS, dynamic=True
    )


@router.get("/signals/{signal_id}", response_model=dict[str, Any])
def one_signal(signal_id: Id, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """One signal with its brackets, features, lineage, outcome and option signals."""
    return get_signal(work.session, signal_id)


@router.get("/models/{model_id}/performance", response_model=dict[str, Any])
def model_performance(model_id: str, request: Request, cache: Cache, work: WorkDep, _: Viewer) -> Response:
    """The model's live record from its tracked signals (hit rate, average R, Sharpe, drawdown...)."""
    modelstore.get_model(work.session, model_id)
    return cached_json(request, cache, lambda: performance(work.session, model_id), tags=TAGS, dynamic=True)


@router.post("/scan", response_model=list[dict[str, Any]])
def run_scan(body: ScanRequest, _: Viewer) -> list[dict[str, Any]]:
    """Score, gate and rank a universe as of ``asof``; passed tickers first by rank."""
    from sigma_lab.signals.scanner import scan

    frame = scan(
        body.universe,
        asof=body.asof,
        timeframe=body.timeframe,
        source=body.source,
        top_n=body.top_n,
        direction=body.direction,
        weights=body.weights,
        gates=body.gates,
    )
    return to_jsonable(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


@router.get("/option_signals", response_model=list[dict[str, Any]])
def option_signals(
    request: Request,
    cache: Cache,
    _: Viewer,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
    ticker: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    """Stored option signals (single legs and verticals), newest first."""
    from sigma_lab.signals.options import list_option_signals

    return cached_json(
        request,
        cache,
        lambda: list_option_signals(model_id=model_id, ticker=ticker, limit=limit),
        tags=TAGS,
        dynamic=True,
    )
