"""The leaderboard: backtest runs (or sweep results) ranked by any metric, filtered, cursor-paged.

Rows come from :func:`sigma_lab.sweep.leaderboard` in a stable order (the metric, then the row
id), so ``next_cursor`` pages never skip or repeat a row while new runs arrive.

Caching: pages are cached for the dynamic TTL (``SIGMA_API_CACHE_DYNAMIC_TTL``, five minutes)
under the ``leaderboard`` tag, and the cache key also carries a data version read from the
store on each request (the newest backtest run and sweep ids, the configurations stored and
the sweeps finished). Sweeps and backtests finish in job workers, outside the API process and
its cache namespace, so instead of relying on those workers to reach the API's cache, any
finished (or progressing) sweep or new backtest changes the version and the next read misses;
the version query reads a few index entries of small tables. Stale entries expire by TTL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api.deps import Cache, Viewer, WorkDep
from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError
from sigma_lab.store import BacktestRun, Sweep
from sigma_lab.store.types import to_jsonable

router = APIRouter(tags=["leaderboard"])

#: The response-cache tag of every ranking read.
TAG = "leaderboard"


@dataclass(frozen=True)
class Rank:
    """How to rank and page: the metric, its direction, the page size and the cursor."""

    sort: str
    ascending: bool
    limit: int
    cursor: str | None


def rank_params(
    sort: Annotated[
        str, Query(max_length=40, pattern=r"^[a-z][a-z0-9_]*$", description="Metric to rank by.")
    ] = "sharpe",
    ascending: Annotated[bool, Query(description="Lowest first (e.g. for max_drawdown).")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Rows per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="The previous page's next_cursor.")
    ] = None,
) -> Rank:
    """Ranking parameters, with ``limit`` capped by ``SIGMA_API_MAX_PAGE_SIZE``."""
    cap = get_settings().api_max_page_size
    if limit > cap:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {cap}",
                    "type": "less_than_equal",
                    "input": limit,
                }
            ]
        )
    return Rank(sort, ascending, limit, cursor)


RankQuery = Annotated[Rank, Depends(rank_params)]


def data_version(work: WorkDep) -> str:
    """A stamp that changes whenever a backtest run or sweep (result) is added or a sweep finishes."""
    finished = sa.func.count(Sweep.id).filter(Sweep.status == "succeeded")
    row = work.session.execute(
        sa.select(
            sa.select(sa.func.max(BacktestRun.id)).scalar_subquery(),
            sa.func.max(Sweep.id),
            sa.func.coalesce(sa.func.sum(Sweep.n_done), 0),
            finished,
        )
    ).one()
    return ".".join(str(v or 0) for v in row)


def ranked(
    request: Request, work: WorkDep, cache: Cache, rank: Rank, *, source: str, **filters: Any
) -> Response:
    """One leaderboard page as JSON (``items``, ``next_cursor``), cached under the data version.

    The request's session is committed (its connection returned to the pool) before the
    leaderboard query opens its own, so a request never holds two connections at once.
    """
    from sigma_lab.sweep.leaderboard import leaderboard_records

    def produce() -> bytes:
        try:
            records, next_cursor = leaderboard_records(
                rank.sort,
                ascending=rank.ascending,
                source=source,
                limit=rank.limit,
                cursor=rank.cursor,
                **filters,
            )
        except ConfigError as exc:
            field = "cursor" if "cursor" in str(exc) else "sort"
            raise RequestValidationError(
                [{"loc": ("query", field), "msg": str(exc), "type": "value_error"}]
            ) from None
        body = {"items": to_jsonable(records), "next_cursor": next_cursor}
        return json.dumps(body, separators=(",", ":")).encode()

    key = f"{request.url.path}?{sorted(request.query_params.multi_items())}|{data_version(work)}"
    work.session.commit()
    ttl = get_settings().api_cache_dynamic_ttl
    body, hit = cache.get_or_set(key, produce, ttl, (TAG,))
    return Response(body, media_type="application/json", headers={"X-Cache": "hit" if hit else "miss"})


@router.get("/leaderboard")
def get_leaderboard(
    request: Request,
    work: WorkDep,
    cache: Cache,
    _: Viewer,
    rank: RankQuery,
    source: Annotated[
        Literal["runs", "sweeps"], Query(description="Rank backtest runs or every sweep result.")
    ] = "runs",
    pack: Annotated[str | None, Query(max_length=100)] = None,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    risk_profile: Annotated[Literal["conservative", "balanced", "aggressive"] | None, Query()] = None,
    gate_pass: Annotated[
        bool | None, Query(description="Only rows that passed (or failed) the gate.")
    ] = None,
    strategy: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Runs ranked by ``sort``, best first, each with its lineage and deflated Sharpe ratio;
    pass ``next_cursor`` back as ``cursor`` for the next page."""
    return ranked(
        request,
        work,
        cache,
        rank,
        source=source,
        pack=pack,
        model_id=model_id,
        tag=tag,
        risk_profile=risk_profile,
        gate_pass=gate_pass,
        strategy=strategy,
    )
