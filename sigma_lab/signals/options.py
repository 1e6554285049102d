"""Options overlay: express a stock signal as an option contract chosen by delta.

For a signal (ticker, side, entry, stop, target, timestamp) the overlay builds the option chain
of one expiry *as of the signal time*, solves each contract's implied volatility and delta,
and picks the contract whose absolute delta is nearest the policy's ``target_delta``: a call
for a long signal, a put for a short one. ``structure="vertical"`` also sells the strike one
``spread_width`` further out of the money (a debit spread).

Where prices come from (``source``):

- ``"polygon"`` (``"auto"`` when a Polygon key is configured): the contracts listed on the
  signal date (``PolygonSource.option_contracts``), the ``max_contracts`` strikes nearest the
  signal's entry, and each one's minute bars of that day up to the signal time.
- ``"sample"`` (``"auto"`` otherwise): the recorded SPY 0DTE minute bars bundled with Sigma Lab.

How the chain is read, with no look-ahead and no silent guesses (each row keeps its reason):

- a contract's price is the close of its last minute bar that *ended* at or before the signal
  time (a bar stamped 14:30 ends 14:31); contracts with no such bar are skipped ("no trade");
  a last trade older than ``max_staleness_minutes`` is skipped ("stale");
- ``volume`` is the contract's volume traded that day up to the signal time; below the policy's
  ``min_volume`` it is skipped. Neither source carries open interest, so ``min_open_interest``
  cannot be checked: the result's ``detail`` says so rather than pretending;
- time to expiry runs from the signal time to 16:00 New York on the expiry date, in ACT/365
  years (a 0DTE contract at 14:30 has 1.5 hours: t = 1.5 / 8760);
- the underlying price is, in order: ``spot`` when given; else the forward implied by put-call
  parity (S = C - P + K e^{-rt}), the median over the three strikes nearest the money whose call
  and put both have fresh prices, so the spot is as fresh as the option prints it is inverted
  against (the bundled SPY bars are hourly and would be up to an hour stale); else the signal's
  entry price. ``detail["spot_method"]`` records which;
- the implied volatility inverts Black-Scholes (:mod:`sigma_lab.signals.blackscholes`);
  a price at or below intrinsic value, or above the no-arbitrage bound, has none and is
  skipped ("no implied volatility"); the delta uses the solved volatility.

Premium brackets: with a stock stop and target, each is mapped through the position's delta
(premium +/- |delta| x the stock distance), the stop floored at one tick (0.01) and a
vertical's target capped at its width; without them, a stop at ``stop_fraction`` of the
premium lost and a target at ``target_fraction`` gained. All prices are per share.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select

from sigma_lab.config import get_settings
from sigma_lab.data.options import load_option_bars
from sigma_lab.data.sessions import NEW_YORK
from sigma_lab.errors import ConfigError, NotFoundError
from sigma_lab.signals.blackscholes import bs_deltas, implied_vols, year_fraction
from sigma_lab.signals.policy import OptionsPolicy

#: Minimum price increment of an option premium, the floor of a premium stop.
TICK = 0.01
#: Bar length of the option prints the chain is read from.
OPTION_BAR = pd.Timedelta(minutes=1)
_OCC = re.compile(r"^O:([A-Z][A-Z0-9.]{0,5})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$")
_MARKET_CLOSE = dt.time(16, 0)

CHAIN_COLUMNS = [
    "contract",
    "expiry",
    "right",
    "strike",
    "price",
    "last_trade",
    "age_minutes",
    "volume",
    "iv",
    "delta",
    "usable",
    "skip_reason",
]


# --- OCC symbols -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OccContract:
    """The parts of an OCC option symbol."""

    underlying: str
    expiry: dt.date
    right: Literal["C", "P"]
    strike: float


def occ_symbol(underlying: str, expiry: dt.date | str | pd.Timestamp, right: str, strike: float) -> str:
    """The OCC symbol in Polygon's form: ``occ_symbol("SPY", "2024-07-01", "C", 537)`` is
    ``O:SPY240701C00537000`` (root, YYMMDD, C/P, strike x 1000 in 8 digits)."""
    root = str(underlying).strip().upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9.]{0,5}", root):
        raise ConfigError(f"OCC root must be 1-6 letters/digits starting with a letter, got {underlying!r}")
    side = str(right).strip().upper()[:1]
    if side not in ("C", "P") or str(right).strip().lower() not in ("c", "p", "call", "put"):
        raise ConfigError(f"option right must be C or P (or call/put), got {right!r}")
    thousandths = round(float(strike) * 1000)
    if not 0 < thousandths < 10**8 or abs(thousandths - float(strike) * 1000) > 1e-6:
        raise ConfigError(
            f"strike {strike!r} cannot be written in OCC form (0 < strike < 100000, 3 decimals)"
        )
    day = pd.Timestamp(expiry).date()
    return f"O:{root}{day:%y%m%d}{side}{thousandths:08d}"


def parse_occ(symbol: str) -> OccContract:
    """Split an OCC symbol (with or without the ``O:`` prefix) into its parts."""
    text = str(symbol).strip().upper()
    if not text.startswith("O:"):
        text = "O:" + text
    match = _OCC.match(text)
    if match is None:
        raise ConfigError(
            f"invalid OCC option symbol {symbol!r}; expected e.g. O:SPY240701C00537000 "
            "(root, YYMMDD expiry, C or P, strike x 1000 in 8 digits)"
        )
    root, yy, mm, dd, right, strike = match.groups()
    try:
        expiry = dt.date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise ConfigError(f"OCC symbol {symbol!r} has an impossible expiry date {yy}{mm}{dd}") from None
    return OccContract(root, expiry, right, int(strike) / 1000.0)  # type: ignore[arg-type]


# --- inputs ------------------------------------------------------------------------------------


def options_policy(selection: OptionsPolicy | Mapping[str, Any] | None) -> OptionsPolicy:
    """The options section of a policy from the model itself, a plain dict of its keys, or defaults."""
    if selection is None:
        return OptionsPolicy()
    if isinstance(selection, OptionsPolicy):
        return selection
    if isinstance(selection, Mapping):
        try:
            return OptionsPolicy.model_validate(dict(selection))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "options"
            raise ConfigError(f"invalid options policy at {where}: {first['msg']}") from None
    raise ConfigError(f"options policy must be an OptionsPolicy or a dict, got {type(selection).__name__}")


@dataclass(frozen=True)
class StockSignal:
    """The parts of a stock signal the overlay needs."""

    ticker: str
    side: Literal["long", "short"]
    timestamp: pd.Timestamp
    entry: float | None = None
    stop: float | None = None
    target: float | None = None
    confidence: float | None = None
    id: int | None = None


def _field(signal: Any, name: str) -> Any:
    if isinstance(signal, Mapping):
        return signal.get(name)
    return getattr(signal, name, None)


def stock_signal(signal: StockSignal | Mapping[str, Any] | Any) -> StockSignal:
    """Read a signal given as a dict, a stored ``Signal`` row or a :class:`StockSignal`."""
    if isinstance(signal, StockSignal):
        return signal
    ticker = _field(signal, "ticker")
    if not ticker:
        raise ConfigError("the stock signal has no ticker")
    side = str(_field(signal, "side") or "").lower()
    if side not in ("long", "short"):
        raise ConfigError(f"signal {ticker}: side must be long or short for an options overlay, got {side!r}")
    when = _field(signal, "timestamp")
    if when is None:
        when = _field(signal, "asof")
    if when is None:
        raise ConfigError(f"signal {ticker}: a timestamp (or asof) is needed to read the option chain")
    try:
        ts = pd.Timestamp(when)
    except (TypeError, ValueError):
        raise ConfigError(f"signal {ticker}: timestamp {when!r} is not a time") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

    def number(name: str) -> float | None:
        value = _field(signal, name)
        if value is None:
            return None
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"signal {ticker}: {name} must be a number, got {value!r}") from None
        if not math.isfinite(out):
            raise ConfigError(f"signal {ticker}: {name} must be finite, got {value!r}")
        return out

    raw_id = _field(signal, "id")
    return StockSignal(
        ticker=str(ticker).strip().upper(),
        side=side,  # type: ignore[arg-type]
        timestamp=ts,
        entry=number("entry"),
        stop=number("stop"),
        target=number("target"),
        confidence=number("confidence"),
        id=int(raw_id) if raw_id is not None else None,
    )


# --- the chain ---------------------------------------------------------------------------------


def expiry_close(expiry: dt.date) -> pd.Timestamp:
    """16:00 New York on ``expiry``, in UTC: when the contract stops trading."""
    return pd.Timestamp(dt.datetime.combine(expiry, _MARKET_CLOSE)).tz_localize(NEW_YORK).tz_convert("UTC")


def _is_monthly(day: dt.date) -> bool:
    """A standard monthly expiry: the third Friday of the month."""
    return day.weekday() == 4 and 15 <= day.day <= 21


def _pick_expiry(expiries: Iterable[dt.date], asof: pd.Timestamp, policy: OptionsPolicy) -> dt.date:
    """The first expiry on or after the signal date + ``days_to_expiry`` that is still trading."""
    today = asof.tz_convert(NEW_YORK).date()
    wanted = today + dt.timedelta(days=policy.days_to_expiry)
    alive = sorted(
        d for d in set(expiries) if expiry_close(d) > asof and (policy.allow_weeklies or _is_monthly(d))
    )
    later = [d for d in alive if d >= wanted]
    if not later:
        kind = "expiry" if policy.allow_weeklies else "monthly expiry (weeklies not allowed)"
        raise NotFoundError(
            f"no {kind} on or after {wanted} is still trading at {asof}; listed: {[str(d) for d in alive]}"
        )
    return later[0]


@dataclass
class Chain:
    """One expiry's contracts as of a time: prices, implied volatilities, deltas, skip reasons."""

    underlying: str
    asof: pd.Timestamp
    expiry: dt.date
    t_years: float
    spot: float
    spot_method: str
    rate: float
    frame: pd.DataFrame = field(repr=False)

    def usable(self, right: str | None = None) -> pd.DataFrame:
        """The contracts with a fresh price, enough volume and a solved delta."""
        rows = self.frame[self.frame["usable"]]
        return rows if right is None else rows[rows["right"] == right]


def _recorded_prints(underlying: str, asof: pd.Timestamp, policy: OptionsPolicy) -> pd.DataFrame:
    """The recorded option minute bars of the chosen expiry that ended by ``asof``."""
    day_start = asof.tz_convert(NEW_YORK).normalize().tz_convert("UTC")
    bars = load_option_bars(underlying, start=day_start, end=asof, source="sample")
    bars = bars[bars["timestamp"] + OPTION_BAR <= asof]
    if bars.empty:
        raise NotFoundError(f"no recorded {underlying} option prints on {day_start.date()} before {asof}")
    expiry = _pick_expiry((d.date() for d in bars["expiry"].unique()), asof, policy)
    listed = load_option_bars(underlying, source="sample")
    listed = listed[listed["expiry"] == pd.Timestamp(expiry)].drop_duplicates("contract")
    prints = bars[bars["expiry"] == pd.Timestamp(expiry)]
    return _as_prints(listed[["contract", "right", "strike"]], prints, expiry)


def _polygon_prints(
    underlying: str, asof: pd.Timestamp, policy: OptionsPolicy, centre: float | None, max_strikes: int
) -> pd.DataFrame:
    """Polygon's calls and puts of the ``max_strikes`` strikes nearest ``centre`` (default: the middle
    listed strike) and their minute bars of the signal day up to ``asof``."""
    from sigma_lab.data.sources.polygon import PolygonSource

    day = asof.tz_convert(NEW_YORK).date()
    day_start = asof.tz_convert(NEW_YORK).normalize().tz_convert("UTC")
    with PolygonSource() as src:
        listed = src.option_contracts(underlying, as_of=day)
        if listed.empty:
            raise NotFoundError(f"Polygon lists no {underlying} option contracts on {day}")
        expiry = _pick_expiry(listed["expiry"], asof, policy)
        listed = listed[listed["expiry"] == expiry]
        middle = float(listed["strike"].median()) if centre is None else float(centre)
        strikes = pd.Series(listed["strike"].unique())
        near = strikes[(strikes - middle).abs().rank(method="first") <= max_strikes]
        listed = listed[listed["strike"].isin(near)]
        pieces = []
        for contract in listed["contract"]:
            bars = src.fetch_option_bars(contract, "1m", day_start, asof)
            if len(bars):
                pieces.append(bars.reset_index().assign(contract=contract))
    prints = (
        pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=["contract", "timestamp"])
    )
    if len(prints):
        prints = prints[prints["timestamp"] + OPTION_BAR <= asof]
    return _as_prints(listed[["contract", "right", "strike"]], prints, expiry)


def _as_prints(listed: pd.DataFrame, prints: pd.DataFrame, expiry: dt.date) -> pd.DataFrame:
    """One row per listed contract: last close, when its bar ended, and the day's volume so far."""
    out = listed.reset_index(drop=True).copy()
    out["expiry"] = expiry
    if len(prints):
        prints = prints.sort_values(["contract", "timestamp"], kind="stable")
        grouped = prints.groupby("contract", sort=False)
        last = grouped.tail(1).set_index("contract")
        out["price"] = out["contract"].map(last["close"]).astype("float64")
        out["last_trade"] = out["contract"].map(last["timestamp"] + OPTION_BAR)
        out["volume"] = out["contract"].map(grouped["volume"].sum()).astype("float64")
    else:
        out["price"] = np.nan
        out["last_trade"] = pd.NaT
        out["volume"] = np.nan
    return out


def _parity_spot(frame: pd.DataFrame, t: float, rate: float) -> float | None:
    """Median put-call-parity forward over the three fresh strikes nearest the money."""
    fresh = frame[frame["fresh"]]
    calls = fresh[fresh["right"] == "C"].set_index("strike")["price"]
    puts = fresh[fresh["right"] == "P"].set_index("strike")["price"]
    both = calls.index.intersection(puts.index)
    if len(both) == 0:
        return None
    diff = (calls[both] - puts[both]).rename("diff")
    nearest = diff.abs().nsmallest(3).index
    implied = diff[nearest] + np.asarray(nearest, dtype="float64") * math.exp(-rate * t)
    return float(np.median(implied.to_numpy()))


def option_chain(
    underlying: str,
    asof: pd.Timestamp | str,
    policy: OptionsPolicy | Mapping[str, Any] | None = None,
    *,
    source: Literal["auto", "sample", "polygon"] = "auto",
    rate: float = 0.05,
    max_staleness_minutes: float = 15.0,
    spot: float | None = None,
    fallback_spot: float | None = None,
    max_strikes: int = 10,
) -> Chain:
    """The option chain of ``underlying`` as of ``asof`` with implied volatility and delta per contract.

    ``fallback_spot`` is the underlying price used when no put-call pair is fresh (see the module
    docstring); a Polygon chain holds the calls and puts of the ``max_strikes`` strikes nearest
    ``spot`` (or ``fallback_spot``), two minute-bar requests per strike.
    """
    pol = options_policy(policy)
    ts = pd.Timestamp(asof)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if not (math.isfinite(rate) and -0.5 < rate < 1.0):
        raise ConfigError(f"rate must be a yearly rate between -0.5 and 1, got {rate}")
    if not max_staleness_minutes > 0:
        raise ConfigError(f"max_staleness_minutes must be > 0, got {max_staleness_minutes}")
    name = str(underlying).strip().upper()
    where = _resolve_source(source)
    if where == "polygon":
        if max_strikes < 1:
            raise ConfigError(f"max_strikes must be >= 1, got {max_strikes}")
        frame = _polygon_prints(name, ts, pol, spot if spot is not None else fallback_spot, max_strikes)
    else:
        frame = _recorded_prints(name, ts, pol)
    expiry = frame["expiry"].iloc[0]
    t = year_fraction(ts, expiry_close(expiry))
    frame["age_minutes"] = (ts - pd.to_datetime(frame["last_trade"], utc=True)).dt.total_seconds() / 60.0
    frame["fresh"] = frame["price"].notna() & (frame["age_minutes"] <= max_staleness_minutes)
    if spot is not None:
        s, method = float(spot), "given"
    else:
        parity = _parity_spot(frame, t, rate)
        if parity is not None:
            s, method = parity, "put-call parity"
        elif fallback_spot is not None:
            s, method = float(fallback_spot), "signal entry"
        else:
            raise NotFoundError(
                f"no underlying price for {name} at {ts}: no call and put of one strike traded within "
                f"{max_staleness_minutes:g} minutes, and no spot or signal entry was given"
            )
    if not s > 0:
        raise ConfigError(f"underlying price must be > 0, got {s}")
    frame["iv"] = implied_vols(frame["price"].fillna(0.0), s, frame["strike"], t, rate, frame["right"])
    frame.loc[~frame["fresh"], "iv"] = np.nan
    frame["delta"] = bs_deltas(s, frame["strike"], t, rate, frame["iv"], frame["right"])
    reason = pd.Series("", index=frame.index, dtype="object")
    reason[frame["iv"].isna()] = "no implied volatility"
    reason[frame["volume"].fillna(0.0) < pol.min_volume] = f"volume below {pol.min_volume}"
    reason[frame["price"].notna() & ~frame["fresh"]] = f"stale (> {max_staleness_minutes:g} min)"
    reason[frame["price"].isna()] = "no trade"
    frame["skip_reason"] = reason.astype("str")
    frame["usable"] = reason.eq("").to_numpy()
    frame = frame.sort_values(["right", "strike"], kind="stable").reset_index(drop=True)
    return Chain(name, ts, expiry, t, s, method, rate, frame[CHAIN_COLUMNS])


def _resolve_source(source: str) -> str:
    if source == "auto":
        return "polygon" if get_settings().polygon_api_key is not None else "sample"
    if source not in ("sample", "polygon"):
        raise ConfigError(f"option chain source must be auto, sample or polygon, got {source!r}")
    return source


# --- the overlay -------------------------------------------------------------------------------


@dataclass
class OptionPlan:
    """An options expression of a stock signal, shaped like an ``option_signals`` row."""

    underlying: str
    structure: Literal["single", "vertical"]
    occ_symbol: str
    expiry: dt.date
    strike: float
    right: Literal["C", "P"]
    delta: float
    iv: float
    premium: float
    premium_stop: float
    premium_target: float
    legs: list[dict[str, Any]]
    detail: dict[str, Any]
    signal_id: int | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO text)."""
        out = asdict(self)
        out["expiry"] = self.expiry.isoformat()
        return out


def _leg(row: pd.Series, action: str) -> dict[str, Any]:
    return {
        "action": action,
        "occ_symbol": str(row["contract"]),
        "right": str(row["right"]),
        "strike": float(row["strike"]),
        "price": float(row["price"]),
        "iv": float(row["iv"]),
        "delta": float(row["delta"]),
        "last_trade": pd.Timestamp(row["last_trade"]).isoformat(),
        "volume": float(row["volume"]),
    }


def _brackets(
    sig: StockSignal,
    premium: float,
    delta: float,
    cap: float | None,
    stop_fraction: float,
    target_fraction: float,
) -> tuple[float, float, str]:
    """Premium stop and target: the stock bracket mapped through delta, or fixed fractions."""
    if sig.entry is not None and sig.stop is not None and sig.target is not None:
        risk, reward = abs(sig.entry - sig.stop), abs(sig.target - sig.entry)
        stop = premium - abs(delta) * risk
        target = premium + abs(delta) * reward
        method = "stock bracket x delta"
    else:
        stop = premium * (1.0 - stop_fraction)
        target = premium * (1.0 + target_fraction)
        method = "premium fractions"
    if cap is not None:
        target = min(target, cap)
    return round(max(stop, TICK), 4), round(target, 4), method


def option_overlay(
    signal: StockSignal | Mapping[str, Any] | Any,
    policy: OptionsPolicy | Mapping[str, Any] | None = None,
    *,
    structure: Literal["single", "vertical"] = "single",
    source: Literal["auto", "sample", "polygon"] = "auto",
    rate: float = 0.05,
    max_staleness_minutes: float = 15.0,
    spot: float | None = None,
    stop_fraction: float = 0.5,
    target_fraction: float = 1.0,
    store: bool = False,
    signal_id: int | None = None,
) -> OptionPlan:
    """Choose the contract (or vertical) expressing ``signal`` and, with ``store=True``, save it.

    A long signal buys a call, a short one a put, at the strike whose |delta| is nearest
    ``policy.target_delta`` among the usable contracts of :func:`option_chain`. A vertical
    also sells the nearest usable strike at least ``spread_width`` further out of the money.
    Raises :class:`NotFoundError` naming why when no contract qualifies. Storing links the
    row to the stock signal's id (``signal_id`` or the signal's ``id``), which is required.
    """
    sig = stock_signal(signal)
    pol = options_policy(policy)
    if structure not in ("single", "vertical"):
        raise ConfigError(f"structure must be 'single' or 'vertical', got {structure!r}")
    for name, value in (("stop_fraction", stop_fraction), ("target_fraction", target_fraction)):
        if not 0 < value <= (1 if name == "stop_fraction" else 100):
            raise ConfigError(
                f"{name} must be in (0, 1] for the stop and (0, 100] for the target, got {value}"
            )
    right: Literal["C", "P"] = "C" if sig.side == "long" else "P"
    chain = option_chain(
        sig.ticker,
        sig.timestamp,
        pol,
        source=source,
        rate=rate,
        max_staleness_minutes=max_staleness_minutes,
        spot=spot,
        fallback_spot=sig.entry,
    )
    usable = chain.usable(right)
    if usable.empty:
        reasons = chain.frame[chain.frame["right"] == right]["skip_reason"].value_counts().to_dict()
        raise NotFoundError(
            f"no usable {sig.ticker} {'call' if right == 'C' else 'put'} expiring {chain.expiry} "
            f"at {chain.asof}: skipped {reasons}"
        )
    gap = (usable["delta"].abs() - pol.target_delta).abs()
    long_row = usable.loc[gap.idxmin()]
    legs = [_leg(long_row, "buy")]
    premium, delta, cap = float(long_row["price"]), float(long_row["delta"]), None
    if structure == "vertical":
        step = pol.spread_width if right == "C" else -pol.spread_width
        wanted = float(long_row["strike"]) + step
        further = usable[usable["strike"] >= wanted] if right == "C" else usable[usable["strike"] <= wanted]
        if further.empty:
            raise NotFoundError(
                f"no usable {sig.ticker} {right} strike {'>=' if right == 'C' else '<='} {wanted:g} "
                f"to sell against {long_row['contract']} at {chain.asof}"
            )
        short_row = further.loc[(further["strike"] - wanted).abs().idxmin()]
        legs.append(_leg(short_row, "sell"))
        premium = float(long_row["price"]) - float(short_row["price"])
        delta = float(long_row["delta"]) - float(short_row["delta"])
        cap = abs(float(short_row["strike"]) - float(long_row["strike"]))
        if not premium > 0:
            raise NotFoundError(
                f"the {sig.ticker} vertical {long_row['contract']}/{short_row['contract']} has no positive "
                f"debit at {chain.asof} ({premium:.2f}); the prints are inconsistent"
            )
    stop, target, method = _brackets(sig, premium, delta, cap, stop_fraction, target_fraction)
    detail = {
        "asof": chain.asof.isoformat(),
        "source": _resolve_source(source),
        "spot": chain.spot,
        "spot_method": chain.spot_method,
        "rate": chain.rate,
        "t_years": chain.t_years,
        "target_delta": pol.target_delta,
        "days_to_expiry": pol.days_to_expiry,
        "max_staleness_minutes": max_staleness_minutes,
        "min_volume": pol.min_volume,
        "open_interest_checked": False,
        "bracket_method": method,
        "stock": {"side": sig.side, "entry": sig.entry, "stop": sig.stop, "target": sig.target},
        "confidence": sig.confidence,
        "skipped": {
            str(r["contract"]): str(r["skip_reason"]) for _, r in chain.frame.iterrows() if not r["usable"]
        },
    }
    plan = OptionPlan(
        underlying=sig.ticker,
        structure=structure,
        occ_symbol=str(long_row["contract"]),
        expiry=chain.expiry,
        strike=float(long_row["strike"]),
        right=right,
        delta=delta,
        iv=float(long_row["iv"]),
        premium=round(premium, 4),
        premium_stop=stop,
        premium_target=target,
        legs=legs,
        detail=detail,
        signal_id=signal_id if signal_id is not None else sig.id,
    )
    if store:
        store_option_signal(plan)
    return plan


# --- the store ---------------------------------------------------------------------------------


def store_option_signal(plan: OptionPlan, signal_id: int | None = None) -> int:
    """Save ``plan`` as an ``option_signals`` row linked to its stock signal; its new id."""
    from sigma_lab.store import OptionSignal, Signal, session_scope

    link = signal_id if signal_id is not None else plan.signal_id
    if link is None:
        raise ConfigError(
            f"option signal {plan.occ_symbol}: storing needs the stock signal's id "
            "(store the stock signal first, then pass signal_id)"
        )
    with session_scope() as session:
        if session.get(Signal, link) is None:
            raise NotFoundError(f"option signal {plan.occ_symbol}: no stock signal with id {link}")
        row = OptionSignal(
            signal_id=link,
            underlying=plan.underlying,
            structure=plan.structure,
            occ_symbol=plan.occ_symbol,
            expiry=plan.expiry,
            strike=plan.strike,
            right=plan.right,
            delta=plan.delta,
            iv=plan.iv,
            premium=plan.premium,
            premium_stop=plan.premium_stop,
            premium_target=plan.premium_target,
            legs=plan.legs,
            detail=plan.detail,
        )
        session.add(row)
        session.flush()
        plan.signal_id, plan.id = link, row.id
        return row.id


def list_option_signals(
    model_id: str | None = None, ticker: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Stored option signals, newest first, optionally of one model's signals or one underlying."""
    from sigma_lab.store import OptionSignal, Signal, session_scope

    if not 1 <= int(limit) <= 10_000:
        raise ConfigError(f"limit must be between 1 and 10000, got {limit}")
    query = select(OptionSignal, Signal.model_id, Signal.ticker, Signal.side).join(
        Signal, OptionSignal.signal_id == Signal.id
    )
    if model_id is not None:
        query = query.where(Signal.model_id == model_id)
    if ticker is not None:
        query = query.where(OptionSignal.underlying == str(ticker).strip().upper())
    query = query.order_by(OptionSignal.id.desc()).limit(int(limit))
    with session_scope() as session:
        rows = session.execute(query).all()
        return [
            {
                "id": o.id,
                "signal_id": o.signal_id,
                "model_id": model,
                "ticker": tick,
                "side": side,
                "underlying": o.underlying,
                "structure": o.structure,
                "occ_symbol": o.occ_symbol,
                "expiry": o.expiry.isoformat() if o.expiry else None,
                "strike": o.strike,
                "right": o.right,
                "delta": o.delta,
                "iv": o.iv,
                "premium": o.premium,
                "premium_stop": o.premium_stop,
                "premium_target": o.premium_target,
                "legs": o.legs,
                "detail": o.detail,
                "created_at": o.created_at.isoformat() if o.created_at else None,
            }
            for o, model, tick, side in rows
        ]
