"""Sweep presets: named grids kept in packs (``packs/<pack>/sweep_presets/<name>.yaml``).

A preset names what to sweep (a rule strategy, or model scores when ``strategy`` is omitted),
the grid or random space, constraints and fixed execution settings::

    name: threshold_by_hours
    description: score threshold against the New York hours allowed to trade
    grid:
      long_threshold: [0.55, 0.6, 0.65]
      allowed_hours: [[10, 11], [10, 11, 12, 13], [14, 15]]
    execution: {fees_bps: 1}

``sweep(bars, target, **preset.sweep_kwargs())`` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sigma_lab.errors import ConfigError, NotFoundError


class SweepPreset(BaseModel):
    """One named sweep: a grid (or a random space with ``n_samples``), constraints, execution."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    strategy: str | None = Field(default=None, description="Rule strategy; omit to sweep model scores.")
    grid: dict[str, list[Any]] | None = None
    random: dict[str, Any] | None = None
    n_samples: int | None = Field(default=None, ge=1)
    seed: int = 0
    constraints: list[str] = Field(default_factory=list)
    execution: dict[str, Any] = Field(default_factory=dict)
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    max_configs: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_space(self) -> SweepPreset:
        if (self.grid is None) == (self.random is None):
            raise ValueError("give exactly one of grid or random")
        if self.random is not None and self.n_samples is None:
            raise ValueError("random sampling needs n_samples")
        if self.strategy is not None:
            from sigma_lab.backtest.strategies import get_strategy

            get_strategy(self.strategy)
        from sigma_lab.backtest.settings import execution_settings

        execution_settings(**self.execution)
        return self

    def sweep_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sigma_lab.sweep.sweep` (after ``bars`` and the target)."""
        kw: dict[str, Any] = {
            "constraints": list(self.constraints),
            "risk_profile": self.risk_profile,
            "max_configs": self.max_configs,
            "seed": self.seed,
            **self.execution,
        }
        if self.grid is not None:
            kw["grid"] = {
                k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in self.grid.items()
            }
        else:
            kw["random"], kw["n_samples"] = self.random, self.n_samples
        return kw


def load_preset_file(path: str | Path) -> SweepPreset:
    """Parse one preset file; problems raise ConfigError naming the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read sweep preset ({exc})") from None
    try:
        preset = SweepPreset.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg'].removeprefix('Value error, ')}") from None
    if preset.name != path.stem:
        raise ConfigError(f"{path}: name {preset.name!r} must match the file name {path.stem!r}")
    return preset


def list_presets(pack: str, root: str | Path | None = None) -> list[str]:
    """Names of a pack's sweep presets."""
    from sigma_lab.packs import packs_root

    folder = packs_root(root) / pack / "sweep_presets"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_preset(pack: str, name: str, root: str | Path | None = None) -> SweepPreset:
    """The sweep preset ``name`` of ``pack``."""
    from sigma_lab.packs import packs_root

    path = packs_root(root) / pack / "sweep_presets" / f"{name}.yaml"
    if not path.is_file():
        raise NotFoundError(f"pack {pack!r} has no sweep preset {name!r}; it has {list_presets(pack, root)}")
    return load_preset_file(path)
