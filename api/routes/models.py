"""Models: create from a pack template, list, get, validated patch; per model its indicator set,
its versioned policy with an explanation, its model card and its build and train jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query, Request, Response

from api.deps import Cache, PageParams, Researcher, Viewer, WorkDep, next_cursor
from api.responses import cached_json
from api.routes.jobs import submit_job
from api.schemas import (
    BuildRequest,
    JobOut,
    ModelCreate,
    ModelOut,
    Page,
    PolicyExplain,
    PolicyOut,
    TrainRequest,
)
from sigma_lab import modelstore
from sigma_lab.errors import NotFoundError
from sigma_lab.packs import content_hash
from sigma_lab.signals.policy import Policy
from sigma_lab.store import Artifact, TrainingRun, repo
from sigma_lab.train.artifacts import CARD_JSON

router = APIRouter(prefix="/models", tags=["models"])
TAGS = ("models",)


def _tags(model_id: str) -> tuple[str, ...]:
    return ("models", f"model:{model_id}")


@router.post("", status_code=201, response_model=ModelOut)
def create_model(body: ModelCreate, work: WorkDep, _: Researcher) -> dict[str, Any]:
    """Create a model from a pack's template config; its id follows the naming convention."""
    model = modelstore.create_model(work.session, **body.model_dump())
    work.touch("model", model["model_id"])
    work.invalidate(*_tags(model["model_id"]))
    return model


@router.get("", response_model=Page[ModelOut])
def list_models(
    request: Request,
    cache: Cache,
    work: WorkDep,
    _: Viewer,
    page: PageParams,
    pack: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Models created over the API, newest first (pack models are under ``/packs/{pack}/model-configs``)."""

    def produce() -> dict[str, Any]:
        items = modelstore.list_models(work.session, pack=pack, limit=page.limit, before=page.before)
        return {"items": items, "next_before": next_cursor(items, page)}

    return cached_json(request, cache, produce, tags=TAGS, dynamic=True)


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: str, request: Request, cache: Cache, work: WorkDep, _: Viewer) -> Response:
    """One model, stored or from a pack."""
    return cached_json(
        request,
        cache,
        lambda: modelstore.get_model(work.session, model_id),
        tags=_tags(model_id),
        dynamic=True,
    )


@router.patch("/{model_id}", response_model=ModelOut)
def patch_model(
    model_id: str,
    work: WorkDep,
    _: Researcher,
    patch: Annotated[dict[str, Any], Body(description="Fields of the model spec to merge (nested).")],
) -> dict[str, Any]:
    """Merge fields into a stored model's spec; the result is validated as a whole."""
    model = modelstore.patch_model(work.session, model_id, patch)
    work.touch("model", model_id)
    work.invalidate(*_tags(model_id))
    return model


@router.get("/{model_id}/indicator-set", response_model=dict[str, Any])
def get_indicator_set(model_id: str, request: Request, cache: Cache, work: WorkDep, _: Viewer) -> Response:
    """The indicator set the model uses, with its feature columns and warm-up."""
    return cached_json(
        request,
        cache,
        lambda: modelstore.model_indicator_set(work.session, model_id),
        tags=(*_tags(model_id), "packs"),
        dynamic=True,
    )


def _policy(work: WorkDep, model_id: str, version: int | None) -> dict[str, Any]:
    cfg = modelstore.model_config(work.session, model_id)
    try:
        row = repo.get_policy(work.session, model_id, version)
        return {**row, "source": "store"}
    except NotFoundError:
        template = modelstore.policy_template_for(cfg)
        if template is None or version not in (None, 0):
            raise
    return {
        "model_id": model_id,
        "version": 0,
        "source": "template",
        "risk_profile": template.risk_profile,
        "spec": template.model_dump(mode="json"),
        "content_hash": content_hash(template),
    }


@router.get("/{model_id}/policy", response_model=PolicyOut)
def get_policy(
    model_id: str,
    work: WorkDep,
    _: Viewer,
    version: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """The model's policy (latest version, or ``version``); version 0 is its pack template."""
    return _policy(work, model_id, version)


@router.put("/{model_id}/policy", status_code=201, response_model=PolicyOut)
def put_policy(model_id: str, body: Policy, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Store a new version of the model's policy: risk, execution, options and alerting sections
    (numbers left out come from ``risk_profile``; ``min_confidence``, ``allowed_hours`` and
    ``max_positions`` may be given at the top level as in pack templates)."""
    modelstore.model_config(work.session, model_id)
    policy = body
    row = repo.add_policy_version(
        work.session,
        model_id,
        policy.model_dump(mode="json"),
        risk_profile=policy.risk_profile,
        content_hash=content_hash(policy),
        created_by=key.name,
    )
    work.touch("policy", f"{model_id}@{row['version']}")
    work.invalidate(*_tags(model_id))
    return {**row, "source": "store"}


@router.get("/{model_id}/policy/explain", response_model=PolicyExplain)
def explain_policy(
    model_id: str,
    work: WorkDep,
    _: Viewer,
    version: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """The policy with defaults filled in, and its validation errors and warnings for this model."""
    policy = _policy(work, model_id, version)
    cfg = modelstore.model_config(work.session, model_id)
    return {
        "model_id": model_id,
        "version": policy["version"],
        **modelstore.explain_policy(cfg, policy["spec"]),
    }


@router.get("/{model_id}/card", response_model=dict[str, Any])
def model_card(model_id: str, work: WorkDep, _: Viewer) -> dict[str, Any]:
    """The model card of the model's latest successful training."""
    run = work.session.scalars(
        sa.select(TrainingRun)
        .where(TrainingRun.model_id == model_id, TrainingRun.status == "succeeded")
        .order_by(TrainingRun.id.desc())
        .limit(1)
    ).first()
    artifact = work.session.get(Artifact, run.artifact_id) if run and run.artifact_id else None
    if artifact is None:
        raise NotFoundError(f"model {model_id!r} has no trained model with a card; train it first")
    parsed = urlparse(artifact.uri)
    path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(artifact.uri)
    card = path.parent / CARD_JSON
    if not card.is_file():
        raise NotFoundError(f"the model card of training run {run.id} is missing at {card}")
    return {"training_run_id": run.id, "card": json.loads(card.read_text(encoding="utf-8"))}


@router.post("/{model_id}/build", status_code=202, response_model=JobOut)
def build(model_id: str, work: WorkDep, key: Researcher, body: BuildRequest | None = None) -> dict[str, Any]:
    """Build the model's training matrix as a job."""
    modelstore.get_model(work.session, model_id)
    params = {"model_id": model_id, **(body.model_dump(mode="json", exclude_none=True) if body else {})}
    return submit_job(work, key, "build", params)


@router.post("/{model_id}/train", status_code=202, response_model=JobOut)
def train(model_id: str, work: WorkDep, key: Researcher, body: TrainRequest | None = None) -> dict[str, Any]:
    """Train the model (building its matrix first when missing) as a job."""
    modelstore.get_model(work.session, model_id)
    return submit_job(work, key, "train", {"model_id": model_id})
