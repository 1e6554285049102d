"""Reference data (cached about an hour): packs, indicator sets, model configs, policy templates,
the indicator catalogue and the risk profiles."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import Cache, Viewer
from api.responses import cached_json
from sigma_lab import packs
from sigma_lab.errors import NotFoundError

router = APIRouter(tags=["reference"])
TAGS = ("packs",)


def _pack_summary(pack: packs.Pack) -> dict[str, Any]:
    return {
        **pack.meta.model_dump(mode="json"),
        "indicator_sets": sorted(pack.indicator_sets),
        "model_configs": sorted(pack.model_configs),
        "policy_templates": sorted(pack.policy_templates),
    }


def _item(mapping: dict[str, Any], name: str, what: str, pack: str) -> Any:
    if name not in mapping:
        raise NotFoundError(f"pack {pack!r} has no {what} {name!r}")
    return mapping[name].model_dump(mode="json")


@router.get("/packs", response_model=list[dict[str, Any]])
def list_packs(request: Request, cache: Cache, _: Viewer) -> Response:
    """Every pack with the names of its indicator sets, model configs and policy templates."""
    return cached_json(
        request, cache, lambda: [_pack_summary(packs.load_pack(n)) for n in packs.list_packs()], tags=TAGS
    )


@router.get("/packs/{pack}", response_model=dict[str, Any])
def get_pack(pack: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """One pack."""
    return cached_json(request, cache, lambda: _pack_summary(packs.load_pack(pack)), tags=TAGS)


@router.get("/packs/{pack}/indicator-sets", response_model=list[dict[str, Any]])
def list_indicator_sets(pack: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """A pack's indicator sets."""

    def produce() -> list[dict[str, Any]]:
        loaded = packs.load_pack(pack)
        return [loaded.indicator_sets[n].model_dump(mode="json") for n in sorted(loaded.indicator_sets)]

    return cached_json(request, cache, produce, tags=TAGS)


@router.get("/packs/{pack}/indicator-sets/{name}", response_model=dict[str, Any])
def get_indicator_set(pack: str, name: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """One indicator set of a pack, with its feature columns and warm-up."""

    def produce() -> dict[str, Any]:
        iset = packs.load_pack(pack).indicator_set(name)
        return {**iset.model_dump(mode="json"), "columns": iset.columns(), "warmup": iset.warmup()}

    return cached_json(request, cache, produce, tags=TAGS)


@router.get("/packs/{pack}/model-configs", response_model=list[dict[str, Any]])
def list_model_configs(pack: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """A pack's model configs (from its YAML)."""
    return cached_json(
        request,
        cache,
        lambda: [
            c.model_dump(mode="json") for c in packs.list_model_configs(pack=packs.load_pack(pack).name)
        ],
        tags=TAGS,
    )


@router.get("/packs/{pack}/model-configs/{model_id}", response_model=dict[str, Any])
def get_model_config(pack: str, model_id: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """One model config of a pack."""
    return cached_json(
        request,
        cache,
        lambda: _item(packs.load_pack(pack).model_configs, model_id, "model config", pack),
        tags=TAGS,
    )


@router.get("/packs/{pack}/policy-templates", response_model=list[dict[str, Any]])
def list_policy_templates(pack: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """A pack's policy templates."""

    def produce() -> list[dict[str, Any]]:
        loaded = packs.load_pack(pack)
        return [loaded.policy_templates[n].model_dump(mode="json") for n in sorted(loaded.policy_templates)]

    return cached_json(request, cache, produce, tags=TAGS)


@router.get("/packs/{pack}/policy-templates/{name}", response_model=dict[str, Any])
def get_policy_template(pack: str, name: str, request: Request, cache: Cache, _: Viewer) -> Response:
    """One policy template of a pack."""
    return cached_json(
        request,
        cache,
        lambda: _item(packs.load_pack(pack).policy_templates, name, "policy template", pack),
        tags=TAGS,
    )


@router.get("/indicators", response_model=list[dict[str, Any]])
def indicator_catalogue(request: Request, cache: Cache, _: Viewer) -> Response:
    """The indicator catalogue: name, category, parameters and bounds, outputs, warm-up."""
    from sigma_lab.indicators import catalog

    return cached_json(request, cache, lambda: catalog().to_dict(orient="records"), tags=("indicators",))


@router.get("/risk-profiles", response_model=list[dict[str, Any]])
def risk_profiles(request: Request, cache: Cache, _: Viewer) -> Response:
    """Each risk profile's gate thresholds and policy defaults, with an admin's overrides applied."""
    from sigma_lab.backtest.gate import risk_profiles

    return cached_json(
        request, cache, lambda: [asdict(p) for p in risk_profiles().values()], tags=("risk_profiles",)
    )
