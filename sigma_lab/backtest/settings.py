"""Execution settings: one pydantic model, the same keyword arguments everywhere.

The engine, the rule strategies, model-score backtests and sweeps all accept these keywords.
Conventions that peers disagree on are settings here with a documented default:

- ``fill="next_open"``: an order decided on bar t's close fills at bar t+1's open; ``"close"``
  fills it at bar t's close.
- Fees are charged on both the entry and the exit: ``fees_bps / 1e4 * traded value + fixed_fee``.
- Slippage moves every fill (signal, stop and target fills alike) against the trader by
  ``slippage_bps / 1e4`` of the price.
- ``stop_loss``, ``take_profit`` and ``trailing_stop`` are fractions of the entry price (0.02 = 2%)
  or, with ``stop_mode="atr"``, multiples of the ATR(``atr_period``) known at the decision bar.
- ``size`` is the fraction of equity committed at entry, fees included; with ``sizing="vol_target"``
  the fraction is ``vol_target / realized annual volatility`` over ``vol_lookback`` bars, capped at
  ``size``; with ``sizing="confidence"`` it is ``size`` times the model's confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from sigma_lab.errors import ConfigError


class ExecutionSettings(BaseModel):
    """How orders are filled, sized, charged and bracketed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fill: Literal["next_open", "close"] = "next_open"
    direction: Literal["long", "short", "both"] = "long"
    init_cash: float = 100_000.0
    size: float = 1.0
    sizing: Literal["fixed", "confidence", "vol_target"] = "fixed"
    vol_target: float = 0.15
    vol_lookback: int = 20
    whole_shares: bool = False
    fees_bps: float = 0.0
    fixed_fee: float = 0.0
    slippage_bps: float = 0.0
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    stop_mode: Literal["percent", "atr"] = "percent"
    atr_period: int = 14
    time_stop: int | None = None
    periods_per_year: float | None = None
    risk_free: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> ExecutionSettings:
        positive = {"init_cash": self.init_cash, "size": self.size, "vol_target": self.vol_target}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        for name in ("fees_bps", "fixed_fee", "slippage_bps"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name in ("stop_loss", "take_profit", "trailing_stop"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 (or None to disable), got {value}")
            if value is not None and self.stop_mode == "percent" and name != "take_profit" and value >= 1:
                raise ValueError(f"{name} is a fraction of the entry price and must be < 1, got {value}")
        if self.time_stop is not None and self.time_stop < 1:
            raise ValueError(f"time_stop must be >= 1 bar (or None to disable), got {self.time_stop}")
        if self.vol_lookback < 2:
            raise ValueError(f"vol_lookback must be >= 2 bars, got {self.vol_lookback}")
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be >= 1 bar, got {self.atr_period}")
        if self.periods_per_year is not None and not self.periods_per_year > 0:
            raise ValueError(f"periods_per_year must be > 0, got {self.periods_per_year}")
        if not self.risk_free > -1:
            raise ValueError(f"risk_free must be > -1, got {self.risk_free}")
        return self


EXECUTION_KEYS: frozenset[str] = frozenset(ExecutionSettings.model_fields)


def pydantic_error(exc: ValidationError, what: str) -> ConfigError:
    """One ConfigError naming the first invalid setting of a pydantic ``ValidationError``."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return ConfigError(f"unknown {what} keyword {loc!r}")
    where = f" {loc}" if loc else ""
    return ConfigError(f"invalid {what}{where}: {msg} (got {err.get('input')!r})")


def execution_settings(
    settings: ExecutionSettings | Mapping[str, Any] | None = None, **kwargs: Any
) -> ExecutionSettings:
    """Build validated :class:`ExecutionSettings`; unknown or invalid keywords raise ConfigError."""
    base: dict[str, Any] = {}
    if isinstance(settings, ExecutionSettings):
        base = settings.model_dump()
    elif settings is not None:
        base = dict(settings)
    base.update(kwargs)
    unknown = sorted(set(base) - EXECUTION_KEYS)
    if unknown:
        raise ConfigError(f"unknown execution keyword {unknown[0]!r}; known: {sorted(EXECUTION_KEYS)}")
    try:
        return ExecutionSettings(**base)
    except ValidationError as exc:
        raise pydantic_error(exc, "execution setting") from None
