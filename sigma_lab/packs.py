"""Packs: strategy families as YAML, parsed into strict pydantic models.

A pack is a folder ``packs/<pack>/`` with::

    pack.yaml                  name, description, horizon, cadence, asset_types
    indicator_sets/<name>.yaml name, description, options_flow, indicators: [{name, params}]
    model_configs/<id>.yaml    model_id, ticker | universe, data, indicator_set, label, train, ...
    policy_templates/<n>.yaml  name, risk_profile, min_confidence, allowed_hours, direction
    sweep_presets/<name>.yaml  a named sweep grid (see :mod:`sigma_lab.sweep_presets`)

Every schema forbids unknown keys; indicators and labels are checked against their
registries (unknown names, unknown parameters and out-of-bounds values are errors); sweep
presets are checked against the strategy registry and the execution and score settings. A
file with problems raises one :class:`PackError` listing every problem as
``<file>:<line>: <key path>: <message>``.

The packs root is ``root`` when given, else the ``packs_dir`` setting
(``SIGMA_PACKS_DIR``), else the repository's ``packs/`` folder. ``packs/universes/`` holds
the shipped ticker lists (see :mod:`sigma_lab.universes`) and is not a pack.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sigma_lab.config import get_settings
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.train.spec import TrainSpec

if TYPE_CHECKING:
    from sigma_lab.sweep_presets import SweepPreset

UNIVERSES_DIR = "universes"
MODEL_ID_PATTERN = re.compile(
    r"^(?P<ticker>[a-z0-9]+)_(?P<asset>eq|opt)_(?P<horizon>0dte|intraday|swing|long)"
    r"_(?P<cadence>hourly|daily)(?:_(?P<variant>[a-z0-9]+(?:_[a-z0-9]+)*))?$"
)
_CADENCE_TIMEFRAME = {"hourly": "1h", "daily": "1d"}
_NAME = r"^[a-z][a-z0-9_]*$"
M = TypeVar("M", bound=BaseModel)


def packs_root(root: str | Path | None = None) -> Path:
    """The folder holding the packs: ``root``, the ``packs_dir`` setting or the repository's ``packs/``."""
    if root is not None:
        return Path(root).expanduser().resolve()
    configured = get_settings().packs_dir
    if configured is not None:
        return configured.expanduser().resolve()
    return (Path(__file__).resolve().parent.parent / "packs").resolve()


def content_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys): the lineage hash of a spec."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --- schemas ---------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PackMeta(_Strict):
    """``pack.yaml``: what the strategy family is."""

    name: str = Field(pattern=_NAME)
    description: str
    horizon: str = Field(description="Holding horizon in words, e.g. 'next hour' or '5-20 days'.")
    cadence: Literal["hourly", "daily"]
    asset_types: list[Literal["equity", "etf", "option"]] = Field(min_length=1)


class IndicatorEntry(_Strict):
    """One indicator of a set: a registered name and its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> IndicatorEntry:
        from sigma_lab.indicators import get

        self.params = get(self.name).resolve(self.params)
        return self

    @property
    def category(self) -> str:
        from sigma_lab.indicators import get

        return get(self.name).category

    def columns(self) -> list[str]:
        """The output columns this entry adds to a matrix."""
        from sigma_lab.indicators import get

        return get(self.name).columns(**self.params)

    def warmup(self) -> int:
        from sigma_lab.indicators import get

        return get(self.name).warmup_bars(**self.params)


class IndicatorSet(_Strict):
    """A named list of indicators; ``options_flow`` sets also read option minute bars."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    options_flow: bool = False
    indicators: list[IndicatorEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorSet:
        seen: dict[str, int] = {}
        for i, entry in enumerate(self.indicators):
            for col in entry.columns():
                if col in seen:
                    raise ValueError(f"indicators[{i}] repeats column {col!r} of indicators[{seen[col]}]")
                seen[col] = i
        flow = [e.name for e in self.indicators if e.category == "options_flow"]
        if flow and not self.options_flow:
            raise ValueError(f"options-flow indicators {flow} need `options_flow: true`")
        return self

    def columns(self) -> list[str]:
        """Every feature column of the set, in order."""
        return [col for entry in self.indicators for col in entry.columns()]

    def warmup(self) -> int:
        """Bars before every indicator of the set has a value."""
        return max(entry.warmup() for entry in self.indicators)


class DataSpec(_Strict):
    """Where the bars come from: source, timeframe, date range, and the session kept."""

    source: str = "sample"
    timeframe: str = "1d"
    start: date | None = None
    end: date | None = None
    session: Literal["regular", "extended", "all"] = Field(
        default="extended", description="Intraday bars outside this New York session are dropped."
    )

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        return parse_timeframe(value).name

    @model_validator(mode="after")
    def _range(self) -> DataSpec:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class LabelSpec(_Strict):
    """The label: a registered kind (see :mod:`sigma_lab.labels`) and its parameters."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> LabelSpec:
        from sigma_lab import labels

        self.params = labels.get(self.kind).resolve(self.params)
        return self

    @property
    def horizon(self) -> int:
        """Bars after ``t`` the label at ``t`` looks at."""
        from sigma_lab import labels

        return labels.get(self.kind).horizon_bars(**self.params)

    @property
    def task(self) -> str:
        from sigma_lab import labels

        return labels.get(self.kind).task_kind(**self.params)


class BacktestSpec(_Strict):
    """How predictions become trades in the backtest of this model."""

    threshold: float = Field(default=0.55, ge=0.0, le=1.0, description="minimum probability to trade")
    fill: Literal["next_open", "close"] = "next_open"
    fee_rate: float = Field(default=0.0005, ge=0.0, lt=0.1, description="per side, fraction of value")
    slippage_rate: float = Field(default=0.0, ge=0.0, lt=0.1)
    allow_short: bool = True
    hold_bars: int | None = Field(default=None, ge=1, description="default: the label horizon")
    larger_class: bool = Field(default=True, description="a side needs its class to be the likeliest")


class ScoreSpec(_Strict):
    """How the leaderboard ranks runs of this model."""

    metric: Literal["sharpe", "sortino", "calmar", "total_return", "hit_rate", "auc", "brier", "log_loss"] = (
        "sharpe"
    )
    min_trades: int = Field(default=10, ge=0)


class ModelConfig(_Strict):
    """One model: the data, the features, the label and how to train, backtest and score it."""

    model_id: str
    description: str = ""
    pack: str | None = Field(default=None, description="Filled in from the folder the file is in.")
    ticker: str | None = None
    universe: str | None = None
    data: DataSpec
    indicator_set: str
    label: LabelSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    backtest: BacktestSpec = Field(default_factory=BacktestSpec)
    score: ScoreSpec = Field(default_factory=ScoreSpec)
    policy_template: str | None = None

    @field_validator("model_id")
    @classmethod
    def _model_id(cls, value: str) -> str:
        if not MODEL_ID_PATTERN.match(value):
            raise ValueError(
                f"model_id {value!r} does not follow <ticker>_<eq|opt>_<0dte|intraday|swing|long>"
                "_<hourly|daily>[_variant] (lowercase, e.g. aapl_eq_swing_daily_breakout)"
            )
        return value

    @field_validator("ticker")
    @classmethod
    def _ticker(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if (self.ticker is None) == (self.universe is None):
            raise ValueError("give exactly one of `ticker` and `universe`")
        parts = MODEL_ID_PATTERN.match(self.model_id)
        assert parts is not None
        subject = (self.ticker or self.universe or "").lower()
        if parts["ticker"] != subject:
            raise ValueError(f"model_id starts with {parts['ticker']!r} but the model is on {subject!r}")
        want = _CADENCE_TIMEFRAME[parts["cadence"]]
        if self.data.timeframe != want:
            raise ValueError(
                f"model_id says {parts['cadence']} but data.timeframe is "
                f"{self.data.timeframe!r} (want {want!r})"
            )
        return self

    def _part(self, key: str) -> str | None:
        match = MODEL_ID_PATTERN.match(self.model_id)
        return match[key] if match else None

    @property
    def asset_type(self) -> str:
        return "option" if self._part("asset") == "opt" else "equity"

    @property
    def horizon_class(self) -> str:
        return self._part("horizon") or ""

    @property
    def cadence(self) -> str:
        return self._part("cadence") or ""

    @property
    def variant(self) -> str | None:
        return self._part("variant")


class PolicyTemplate(_Strict):
    """A starting policy for a pack's models: how confident, when, which side."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    min_confidence: float = Field(default=0.55, ge=0.5, le=1.0)
    allowed_hours: list[int] | None = Field(default=None, description="New York hours (0-23) to act in.")
    direction: Literal["long", "short", "both"] = "both"
    max_positions: int = Field(default=1, ge=1)

    @field_validator("allowed_hours")
    @classmethod
    def _hours(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            bad = [h for h in value if not 0 <= h <= 23]
            if bad:
                raise ValueError(f"hours must be 0-23, got {bad}")
        return value


# --- problems and errors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a pack file: where (file, line, key path) and what."""

    file: str
    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.location}: {self.message}" if self.location else f"{where}: {self.message}"


class PackError(ConfigError):
    """A pack (or one of its files) is invalid; ``problems`` lists everything found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in pack files:\n{lines}")


# --- reading files ---------------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _node_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        return "unknown key (not allowed here)"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind not in ("value_error", "assertion_error") and "input" in err:
        msg += f" (got {err['input']!r})"
    return msg


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None, list[Problem]]:
    name = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, None, [Problem(name, "", f"cannot read file ({exc.strerror})")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        return None, None, [Problem(name, f"YAML syntax error{col}", what, line)]
    except yaml.YAMLError as exc:
        return None, None, [Problem(name, "YAML syntax error", str(exc))]
    if data is None:
        return None, None, [Problem(name, "", "the file is empty")]
    if not isinstance(data, dict):
        return (
            None,
            None,
            [Problem(name, "", f"expected a mapping of keys at the top, got {type(data).__name__}")],
        )
    return data, node, []


def _parse(model: type[M], path: Path) -> tuple[M | None, list[Problem]]:
    data, node, problems = _read_yaml(path)
    if problems:
        return None, problems
    return _validate(model, path, data, node)


def _validate(
    model: type[M], path: Path, data: Any, node: yaml.Node | None
) -> tuple[M | None, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        name = _display(path)
        return None, [
            Problem(name, _key_path(tuple(e["loc"])), _message(e), _node_line(node, tuple(e["loc"])))
            for e in exc.errors()
        ]
    except ConfigError as exc:
        return None, [Problem(_display(path), "", str(exc))]


def sweep_space_errors(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """``(key path, message)`` for each unknown strategy, unknown parameter or execution name and
    out-of-bounds strategy value of a sweep space (``strategy``, ``grid``/``random``, ``execution``).

    Shared by sweep presets in packs and sweep requests to the API, so both name the same field.
    """
    from sigma_lab.backtest.scores import SCORE_KEYS
    from sigma_lab.backtest.settings import EXECUTION_KEYS
    from sigma_lab.backtest.strategies import strategies

    known_strategies = strategies()
    strategy = data.get("strategy")
    if strategy is not None and strategy not in known_strategies:
        return [(("strategy",), f"unknown strategy {strategy!r}; known: {sorted(known_strategies)}")]
    own = {p.name: p for p in known_strategies[strategy].params} if strategy else {}
    family = sorted(own) if strategy else sorted(SCORE_KEYS)
    what = f"strategy {strategy!r}" if strategy else "a score sweep"
    allowed = set(family) | EXECUTION_KEYS
    errors: list[tuple[tuple[Any, ...], str]] = []
    for space in ("grid", "random"):
        values = data.get(space)
        if not isinstance(values, Mapping):
            continue
        for param, choices in values.items():
            if param not in allowed:
                message = f"unknown sweep parameter {param!r} for {what}; it takes {family}"
                message += " and the execution settings"
                errors.append(((space, param), message))
            elif param in own and isinstance(choices, list):
                for i, value in enumerate(choices):
                    try:
                        own[param].check(strategy, value)
                    except ConfigError as exc:
                        errors.append(((space, param, i), str(exc)))
    execution = data.get("execution")
    for key in execution if isinstance(execution, Mapping) else ():
        if key not in EXECUTION_KEYS:
            errors.append(
                (("execution", key), f"unknown execution setting {key!r}; known: {sorted(EXECUTION_KEYS)}")
            )
    return errors


def _preset_names(path: Path, data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    """:func:`sweep_space_errors` of a preset file, each at its line; the schema check runs only
    once these names are sound."""
    name = _display(path)
    return [
        Problem(name, _key_path(loc), msg, _node_line(node, loc)) for loc, msg in sweep_space_errors(data)
    ]


def _parse_preset(path: Path) -> tuple[SweepPreset | None, list[Problem]]:
    from sigma_lab.sweep_presets import SweepPreset

    data, node, problems = _read_yaml(path)
    if not problems:
        problems = _preset_names(path, data, node)
    if problems:
        return None, problems
    return _validate(SweepPreset, path, data, node)


# --- packs ----------------------------------------------------------------------------------------


@dataclass
class Pack:
    """A loaded pack: its metadata, indicator sets, model configs, policy templates and sweep presets."""

    meta: PackMeta
    path: Path
    indicator_sets: dict[str, IndicatorSet] = field(default_factory=dict)
    model_configs: dict[str, ModelConfig] = field(default_factory=dict)
    policy_templates: dict[str, PolicyTemplate] = field(default_factory=dict)
    sweep_presets: dict[str, SweepPreset] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.meta.name

    def indicator_set(self, name: str) -> IndicatorSet:
        """The indicator set ``name`` of this pack."""
        try:
            return self.indicator_sets[name]
        except KeyError:
            raise NotFoundError(f"pack {self.name!r} has no indicator set {name!r}") from None


def list_packs(root: str | Path | None = None) -> list[str]:
    """Names of the packs under the packs root (folders with a ``pack.yaml``)."""
    base = packs_root(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "pack.yaml").is_file())


def _files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def _check_name(problems: list[Problem], path: Path, key: str, value: str) -> None:
    if value != path.stem:
        problems.append(Problem(_display(path), key, f"{value!r} must match the file name {path.stem!r}"))


def _load(name: str, root: str | Path | None) -> tuple[Pack | None, list[Problem]]:
    base = packs_root(root)
    folder = base / name
    if not (folder / "pack.yaml").is_file():
        known = list_packs(root)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; packs: {known}"
        raise NotFoundError(f"no pack {name!r} under {base}{hint}")
    meta, problems = _parse(PackMeta, folder / "pack.yaml")
    if meta is not None and meta.name != name:
        problems.append(
            Problem(_display(folder / "pack.yaml"), "name", f"{meta.name!r} must match the folder {name!r}")
        )
    sets: dict[str, IndicatorSet] = {}
    broken: set[str] = set()
    for path in _files(folder / "indicator_sets"):
        obj, errs = _parse(IndicatorSet, path)
        problems += errs
        if errs:
            broken.add(path.stem)
        if obj is not None:
            _check_name(problems, path, "name", obj.name)
            sets[obj.name] = obj
    policies: dict[str, PolicyTemplate] = {}
    for path in _files(folder / "policy_templates"):
        policy, errs = _parse(PolicyTemplate, path)
        problems += errs
        if errs:
            broken.add(path.stem)
        if policy is not None:
            _check_name(problems, path, "name", policy.name)
            policies[policy.name] = policy
    models: dict[str, ModelConfig] = {}
    from sigma_lab.universes import list_universes

    universes = set(list_universes(root, include_watchlists=False))
    for path in _files(folder / "model_configs"):
        cfg, errs = _parse(ModelConfig, path)
        problems += errs
        if cfg is None:
            continue
        file = _display(path)
        _check_name(problems, path, "model_id", cfg.model_id)
        if cfg.pack not in (None, name):
            problems.append(Problem(file, "pack", f"{cfg.pack!r} but the file is in pack {name!r}"))
        if cfg.indicator_set not in sets and cfg.indicator_set not in broken:
            problems.append(
                Problem(
                    file,
                    "indicator_set",
                    f"no indicator set {cfg.indicator_set!r} in pack {name!r}; it has {sorted(sets)}",
                )
            )
        if cfg.policy_template is not None and cfg.policy_template not in {*policies, *broken}:
            problems.append(
                Problem(
                    file, "policy_template", f"no policy template {cfg.policy_template!r} in pack {name!r}"
                )
            )
        if cfg.universe is not None and cfg.universe not in universes:
            problems.append(
                Problem(file, "universe", f"unknown universe {cfg.universe!r}; known: {sorted(universes)}")
            )
        models[cfg.model_id] = cfg.model_copy(update={"pack": name})
    presets: dict[str, SweepPreset] = {}
    for path in _files(folder / "sweep_presets"):
        preset, errs = _parse_preset(path)
        problems += errs
        if preset is not None:
            _check_name(problems, path, "name", preset.name)
            presets[preset.name] = preset
    if meta is None:
        return None, problems
    if not _files(folder / "model_configs"):
        problems.append(Problem(_display(folder), "model_configs", "the pack has no model configs"))
    return Pack(meta, folder, sets, models, policies, presets), problems


def load_pack(name: str, root: str | Path | None = None) -> Pack:
    """Load and validate the pack ``name``; a :class:`PackError` lists every problem found."""
    pack, problems = _load(name, root)
    if problems or pack is None:
        raise PackError(problems)
    return pack


def validate_packs(root: str | Path | None = None) -> list[Problem]:
    """Every problem in every pack and universe under the root (empty when all is well)."""
    from sigma_lab.universes import validate_universes

    problems = validate_universes(root)
    owners: dict[str, str] = {}
    for name in list_packs(root):
        pack, found = _load(name, root)
        problems += found
        for model_id in pack.model_configs if pack else ():
            if model_id in owners:
                problems.append(
                    Problem(
                        _display(packs_root(root) / name),
                        model_id,
                        f"model id also defined in pack {owners[model_id]!r}",
                    )
                )
            owners[model_id] = name
    return problems


def _all_models(root: str | Path | None) -> dict[str, ModelConfig]:
    out: dict[str, ModelConfig] = {}
    for name in list_packs(root):
        out.update(load_pack(name, root).model_configs)
    return out


def list_model_configs(root: str | Path | None = None, pack: str | None = None) -> list[ModelConfig]:
    """Every model config (of one pack when ``pack`` is given), sorted by model id."""
    models = load_pack(pack, root).model_configs if pack else _all_models(root)
    return [models[k] for k in sorted(models)]


def get_model_config(model_id: str, root: str | Path | None = None) -> ModelConfig:
    """The model config ``model_id`` from whichever pack defines it, else the one stored over the API.

    Pack YAML wins; a model created through :mod:`sigma_lab.modelstore` (the store's
    ``model_configs`` table) is found when no pack has the id, so builds, trainings and
    backtests work the same for both.
    """
    for name in list_packs(root):
        if (packs_root(root) / name / "model_configs" / f"{model_id}.yaml").is_file():
            pack = load_pack(name, root)
            if model_id in pack.model_configs:
                return pack.model_configs[model_id]
    models = _all_models(root)
    if model_id in models:
        return models[model_id]
    from sigma_lab.modelstore import stored_model_config

    stored = stored_model_config(model_id)
    if stored is not None:
        return stored
    close = difflib.get_close_matches(model_id, list(models), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise NotFoundError(
        f"no model config {model_id!r} in any pack under {packs_root(root)} nor in the store{hint}"
    )


def get_indicator_set(model: ModelConfig, root: str | Path | None = None) -> IndicatorSet:
    """The indicator set a model config names, from the model's pack."""
    if model.pack is None:
        raise ConfigError(f"model config {model.model_id!r} was not loaded from a pack")
    return load_pack(model.pack, root).indicator_set(model.indicator_set)
