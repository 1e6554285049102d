"""Models made outside pack YAML (over the API): create from a pack template, list, validated patch.

A stored model is a full pack :class:`~sigma_lab.packs.ModelConfig` document in the
``model_configs`` table, validated exactly like a YAML file. Its id follows the naming
convention ``<ticker>_<eq|opt>_<0dte|intraday|swing|long>_<hourly|daily>[_variant]``.
Models defined in pack YAML are readable through the same functions (``source: "pack"``)
but changed only by editing their file. :func:`sigma_lab.packs.get_model_config` falls back to
the stored models, so ``build_matrix``, ``train`` and ``run_model`` work for them as for pack models.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from sigma_lab import packs
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.store import ModelConfig as ModelRow
from sigma_lab.store.repo import to_dict

IMMUTABLE: tuple[str, ...] = ("model_id", "pack", "ticker", "universe")
_TIMEFRAME = {"hourly": "1h", "daily": "1d"}


class SpecError(ConfigError):
    """A model or policy document is invalid; ``errors`` holds ``{"loc": [...], "msg": ...}`` per problem."""

    def __init__(self, what: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        listing = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        super().__init__(f"invalid {what}: {listing}")


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def validate_spec(spec: Mapping[str, Any]) -> packs.ModelConfig:
    """``spec`` parsed as a pack model config; :class:`SpecError` lists every problem."""
    try:
        return packs.ModelConfig.model_validate(dict(spec))
    except ValidationError as exc:
        raise SpecError("model config", _validation_errors(exc)) from None


def model_id_for(ticker: str, asset_type: str, horizon: str, cadence: str, variant: str | None = None) -> str:
    """The conventional model id; :class:`SpecError` if a part breaks the convention."""
    asset = {"equity": "eq", "option": "opt"}.get(asset_type, asset_type)
    model_id = f"{ticker.lower()}_{asset}_{horizon}_{cadence}" + (f"_{variant}" if variant else "")
    if not packs.MODEL_ID_PATTERN.match(model_id):
        raise SpecError(
            "model id",
            [
                {
                    "loc": ["model_id"],
                    "msg": f"{model_id!r} does not follow <ticker>_<eq|opt>_<0dte|intraday|swing|long>"
                    "_<hourly|daily>[_variant] (lowercase letters and digits)",
                    "type": "value_error",
                }
            ],
        )
    return model_id


def _row_dict(row: ModelRow) -> dict[str, Any]:
    out = to_dict(row)
    out["source"] = "store"
    return out


def _fields(cfg: packs.ModelConfig) -> dict[str, Any]:
    """The ``model_configs`` row's columns for ``cfg``."""
    return {
        "model_id": cfg.model_id,
        "pack": cfg.pack,
        "ticker": cfg.ticker or cfg.universe,
        "asset_type": cfg.asset_type,
        "horizon": cfg.horizon_class,
        "cadence": cfg.cadence,
        "variant": cfg.variant,
        "indicator_set": cfg.indicator_set,
        "spec": cfg.model_dump(mode="json"),
        "content_hash": packs.content_hash(cfg),
    }


def _pack_dict(cfg: packs.ModelConfig) -> dict[str, Any]:
    return {"id": None, **_fields(cfg), "created_at": None, "updated_at": None, "source": "pack"}


def get_model(session: Session, model_id: str) -> dict[str, Any]:
    """A model by id: the stored one, else the one in pack YAML; :class:`NotFoundError` otherwise."""
    row = session.scalars(sa.select(ModelRow).where(ModelRow.model_id == model_id)).first()
    if row is not None:
        return _row_dict(row)
    try:
        return _pack_dict(packs.get_model_config(model_id))
    except NotFoundError:
        raise NotFoundError(f"model {model_id!r} does not exist (not stored, not in any pack)") from None


def stored_model_config(model_id: str) -> packs.ModelConfig | None:
    """The validated config of the model stored as ``model_id``, or ``None`` when none is stored.

    An embedded SQLite store that does not exist yet holds no models and is not created here.
    """
    from sigma_lab.store import session_scope
    from sigma_lab.store.engine import resolve_url, sqlite_path

    path = sqlite_path(resolve_url())
    if path is not None and not path.exists():
        return None
    with session_scope() as session:
        row = session.scalars(sa.select(ModelRow).where(ModelRow.model_id == model_id)).first()
        return None if row is None else validate_spec(row.spec)


def model_config(session: Session, model_id: str) -> packs.ModelConfig:
    """The validated config of a model (stored or from a pack)."""
    return validate_spec(get_model(session, model_id)["spec"])


def list_models(
    session: Session, *, pack: str | None = None, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """Stored models, newest first (``before``: an id to page from)."""
    query = sa.select(ModelRow).order_by(ModelRow.id.desc()).limit(limit)
    if pack is not None:
        query = query.where(ModelRow.pack == pack)
    if before is not None:
        query = query.where(ModelRow.id < before)
    return [_row_dict(r) for r in session.scalars(query)]


def _template(pack: packs.Pack, name: str | None, cadence: str) -> packs.ModelConfig:
    if name is not None:
        if name not in pack.model_configs:
            raise NotFoundError(f"pack {pack.name!r} has no model config {name!r} to use as template")
        return pack.model_configs[name]
    configs = sorted(pack.model_configs.values(), key=lambda c: c.model_id)
    matching = [c for c in configs if c.cadence == cadence and c.ticker]
    if not matching and not configs:
        raise ConfigError(f"pack {pack.name!r} has no model config to use as template")
    return (matching or configs)[0]


def _store(session: Session, cfg: packs.ModelConfig, row: ModelRow | None = None) -> ModelRow:
    fields = _fields(cfg)
    if row is None:
        row = ModelRow(**fields)
        session.add(row)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    session.flush()
    return row


def _check_pack_refs(pack: packs.Pack, cfg: packs.ModelConfig) -> None:
    errors = []
    if cfg.indicator_set not in pack.indicator_sets:
        errors.append(
            {
                "loc": ["indicator_set"],
                "msg": f"pack {pack.name!r} has no indicator set {cfg.indicator_set!r}; "
                f"it has {sorted(pack.indicator_sets)}",
                "type": "value_error",
            }
        )
    if cfg.policy_template is not None and cfg.policy_template not in pack.policy_templates:
        errors.append(
            {
                "loc": ["policy_template"],
                "msg": f"pack {pack.name!r} has no policy template {cfg.policy_template!r}",
                "type": "value_error",
            }
        )
    if errors:
        raise SpecError("model config", errors)


def create_model(
    session: Session,
    *,
    pack: str,
    ticker: str,
    asset_type: str,
    horizon: str,
    cadence: str,
    variant: str | None = None,
    indicator_set: str | None = None,
    template: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Store a new model made from ``pack``'s template config and the naming fields; return it.

    The template (``template``, else the pack's first single-ticker config of the same cadence)
    gives data, label, training, backtest and score settings; the timeframe follows the cadence.
    """
    model_id = model_id_for(ticker, asset_type, horizon, cadence, variant)
    loaded = packs.load_pack(pack)
    exists = session.scalar(
        sa.select(sa.func.count()).select_from(ModelRow).where(ModelRow.model_id == model_id)
    )
    if exists or any(model_id in packs.load_pack(p).model_configs for p in packs.list_packs()):
        raise ConfigError(f"model {model_id!r} already exists")
    base = _template(loaded, template, cadence)
    spec = base.model_dump(mode="json")
    spec.update(
        model_id=model_id,
        pack=pack,
        ticker=ticker.upper(),
        universe=None,
        description=description
        if description is not None
        else f"{ticker.upper()} from template {base.model_id}",
    )
    spec["data"] = {**spec["data"], "timeframe": _TIMEFRAME[cadence]}
    if indicator_set is not None:
        spec["indicator_set"] = indicator_set
    cfg = validate_spec(spec)
    _check_pack_refs(loaded, cfg)
    return _row_dict(_store(session, cfg))


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def patch_model(session: Session, model_id: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``patch`` into a stored model's spec, validate the result, and store it.

    Nested mappings merge key by key; other values replace. The id, pack, ticker and universe
    cannot change (make a new model instead). Nothing is written if the result is invalid.
    """
    row = session.scalars(sa.select(ModelRow).where(ModelRow.model_id == model_id)).first()
    if row is None:
        get_model(session, model_id)
        raise ConfigError(f"model {model_id!r} is defined in pack YAML; edit its file to change it")
    frozen = [k for k in IMMUTABLE if k in patch and patch[k] != row.spec.get(k)]
    if frozen:
        raise SpecError(
            "model patch",
            [
                {"loc": [k], "msg": "cannot be changed; create a new model", "type": "value_error"}
                for k in frozen
            ],
        )
    cfg = validate_spec(_merge(row.spec, patch))
    _check_pack_refs(packs.load_pack(row.pack), cfg)
    return _row_dict(_store(session, cfg, row))


def model_indicator_set(session: Session, model_id: str) -> dict[str, Any]:
    """The indicator set a model uses, with its feature columns and warm-up."""
    cfg = model_config(session, model_id)
    if cfg.pack is None:
        raise ConfigError(f"model {model_id!r} names no pack")
    iset = packs.load_pack(cfg.pack).indicator_set(cfg.indicator_set)
    return {
        "pack": cfg.pack,
        **iset.model_dump(mode="json"),
        "columns": iset.columns(),
        "warmup": iset.warmup(),
    }


def policy_template_for(model: packs.ModelConfig) -> packs.PolicyTemplate | None:
    """The pack policy template a model names, if any."""
    if model.pack is None or model.policy_template is None:
        return None
    return packs.load_pack(model.pack).policy_templates.get(model.policy_template)


def explain_policy(model: packs.ModelConfig, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A policy with defaults filled in, plus its validation errors and warnings for ``model``.

    The full signal policy (:mod:`sigma_lab.signals.policy`): risk profile numbers filled in.
    """
    from sigma_lab.signals.policy import explain_policy as explain

    return explain(spec, model)
