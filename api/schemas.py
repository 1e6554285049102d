"""Request and response bodies of the API (pydantic), shared by the routers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Role = Literal["viewer", "researcher", "admin"]


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body built from a store row (extra columns pass through)."""

    model_config = ConfigDict(extra="allow", from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[T]
    next_before: int | None = None


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]


# --- models ---------------------------------------------------------------------------------------


class ModelCreate(Strict):
    """A new model from a pack template and the fields of its id."""

    pack: str = Field(min_length=1, max_length=100)
    ticker: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9]+$")
    asset_type: Literal["eq", "opt"] = "eq"
    horizon: Literal["0dte", "intraday", "swing", "long"]
    cadence: Literal["hourly", "daily"]
    variant: str | None = Field(default=None, max_length=60, pattern=r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
    indicator_set: str | None = Field(default=None, max_length=200)
    template: str | None = Field(default=None, max_length=200, description="Model id in the pack to copy.")
    description: str | None = Field(default=None, max_length=2000)


class ModelOut(Out):
    model_id: str
    pack: str | None
    ticker: str | None
    asset_type: str | None
    horizon: str | None
    cadence: str | None
    variant: str | None
    indicator_set: str | None
    spec: dict[str, Any]
    content_hash: str | None
    source: Literal["store", "pack"]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class PolicyOut(BaseModel):
    model_id: str
    version: int = Field(description="0 for the pack template the model names, 1+ for stored versions.")
    source: Literal["store", "template"]
    risk_profile: str | None
    spec: dict[str, Any]
    content_hash: str | None = None
    created_by: str | None = None
    created_at: dt.datetime | None = None


class PolicyExplain(BaseModel):
    model_id: str
    version: int
    valid: bool
    policy: dict[str, Any]
    errors: list[dict[str, Any]]
    warnings: list[str]


# --- pipeline and jobs ----------------------------------------------------------------------------


class BuildRequest(Strict):
    start: dt.date | None = None
    end: dt.date | None = None


class TrainRequest(Strict):
    pass


class BacktestRequest(Strict):
    """A rule-strategy backtest on one symbol's bars."""

    symbol: str = Field(default="SPY", min_length=1, max_length=20, pattern=r"^[A-Za-z0-9.]+$")
    timeframe: str = Field(default="1h", max_length=10)
    strategy: str = Field(default="sma_cross", max_length=100)
    strategy_params: dict[str, float | int | bool | str] = Field(default_factory=dict, max_length=50)
    start: dt.date | None = None
    end: dt.date | None = None
    source: str = Field(default="sample", max_length=40)
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    model_id: str | None = Field(default=None, max_length=200)


class JobOut(Out):
    id: int
    kind: str
    target: str
    status: str
    params: dict[str, Any]
    result: dict[str, Any] | None = None
    progress: float | None = None
    error: str | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


# --- webhooks -------------------------------------------------------------------------------------


class WebhookCreate(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=20)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    description: str | None = Field(default=None, max_length=500)


class WebhookOut(Out):
    id: int
    url: str
    events: list[str]
    active: bool
    description: str | None = None
    created_at: dt.datetime | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret; shown only now.")


class DeliveryOut(Out):
    id: int
    event: str
    event_id: str
    status: str
    attempts: int
    response_status: int | None = None
    latency_ms: float | None = None
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    payload: dict[str, Any]


# --- admin ----------------------------------------------------------------------------------------


class Quotas(Strict):
    requests_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    concurrent_jobs: int | None = Field(default=None, ge=0, le=10_000)
    sweeps_per_day: int | None = Field(default=None, ge=0, le=1_000_000)


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: Role = "viewer"
    quotas: Quotas = Field(default_factory=Quotas)


class KeyPatch(Strict):
    role: Role | None = None
    active: bool | None = None
    quotas: Quotas | None = None


class KeyOut(Out):
    id: int
    name: str
    prefix: str
    role: str
    active: bool
    requests_per_minute: int | None = None
    concurrent_jobs: int | None = None
    sweeps_per_day: int | None = None
    created_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key; shown only now.")
