"""Universes: named ticker lists. Shipped ones live in ``packs/universes/<name>.yaml``;
user watchlists live in the store (table ``universes``, kind ``watchlist``).

A shipped universe is a snapshot of an index's constituents as of its ``as_of`` date;
the sample data covers only a few of its tickers, and universe models build over
whichever tickers have data.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sigma_lab.errors import ConfigError, NotFoundError

_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


class Universe(BaseModel):
    """A named, ordered list of unique tickers."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    as_of: date | None = None
    tickers: list[str] = Field(min_length=1)
    kind: Literal["universe", "watchlist"] = "universe"

    @field_validator("tickers")
    @classmethod
    def _tickers(cls, value: list[str]) -> list[str]:
        out = [str(t).strip().upper() for t in value]
        bad = [t for t in out if not _TICKER.match(t)]
        if bad:
            raise ValueError(f"not ticker symbols: {bad[:5]}")
        dupes = sorted({t for t in out if out.count(t) > 1})
        if dupes:
            raise ValueError(f"tickers listed twice: {dupes}")
        return out


def _folder(root: str | Path | None) -> Path:
    from sigma_lab.packs import UNIVERSES_DIR, packs_root

    return packs_root(root) / UNIVERSES_DIR


def _shipped_files(root: str | Path | None) -> dict[str, Path]:
    folder = _folder(root)
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])}


def _load_shipped(name: str, path: Path) -> Universe:
    from sigma_lab.packs import PackError, Problem, _parse

    uni, problems = _parse(Universe, path)
    if uni is not None and uni.name != name:
        problems.append(Problem(str(path), "name", f"{uni.name!r} must match the file name {name!r}"))
    if problems or uni is None:
        raise PackError(problems)
    return uni


def _watchlists() -> dict[str, Universe]:
    from sqlalchemy import select

    from sigma_lab.store import Universe as UniverseRow
    from sigma_lab.store import session_scope

    with session_scope() as session:
        rows = session.scalars(select(UniverseRow).where(UniverseRow.kind == "watchlist")).all()
        return {
            r.name: Universe(
                name=r.name, description=r.description or "", tickers=list(r.tickers), kind="watchlist"
            )
            for r in rows
        }


def list_universes(root: str | Path | None = None, *, include_watchlists: bool = True) -> list[str]:
    """Names of the shipped universes and (by default) the user watchlists in the store."""
    names = set(_shipped_files(root))
    if include_watchlists:
        names |= set(_watchlists())
    return sorted(names)


def get_universe(name: str, root: str | Path | None = None) -> Universe:
    """The shipped universe or user watchlist called ``name`` (shipped lists win a clash)."""
    files = _shipped_files(root)
    if name in files:
        return _load_shipped(name, files[name])
    lists = _watchlists()
    if name in lists:
        return lists[name]
    known = sorted(set(files) | set(lists))
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {known}"
    raise NotFoundError(f"no universe or watchlist {name!r}{hint}")


def validate_universes(root: str | Path | None = None) -> list:
    """Problems in the shipped universe files (empty when all parse)."""
    from sigma_lab.packs import PackError

    problems = []
    for name, path in _shipped_files(root).items():
        try:
            _load_shipped(name, path)
        except PackError as exc:
            problems += exc.problems
    return problems


def save_watchlist(
    name: str, tickers: list[str], description: str = "", root: str | Path | None = None
) -> Universe:
    """Create or replace the user watchlist ``name`` in the store."""
    from sqlalchemy import select

    from sigma_lab.store import Universe as UniverseRow
    from sigma_lab.store import session_scope

    if name in _shipped_files(root):
        raise ConfigError(f"{name!r} is a shipped universe; choose another watchlist name")
    try:
        uni = Universe(name=name, description=description, tickers=tickers, kind="watchlist")
    except ValueError as exc:
        raise ConfigError(f"invalid watchlist {name!r}: {exc}") from None
    with session_scope() as session:
        row = session.scalars(select(UniverseRow).where(UniverseRow.name == name)).one_or_none()
        if row is None:
            session.add(
                UniverseRow(name=name, kind="watchlist", description=description, tickers=uni.tickers)
            )
        else:
            row.tickers = uni.tickers
            row.description = description
    return uni


def delete_watchlist(name: str) -> None:
    """Remove the user watchlist ``name`` from the store."""
    from sqlalchemy import select

    from sigma_lab.store import Universe as UniverseRow
    from sigma_lab.store import session_scope

    with session_scope() as session:
        row = session.scalars(
            select(UniverseRow).where(UniverseRow.name == name, UniverseRow.kind == "watchlist")
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no watchlist {name!r}")
        session.delete(row)
