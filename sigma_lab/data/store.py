"""The local Parquet store of bars: ``<workspace>/data/<source>/<symbol>/<timeframe>/<year>.parquet``.

* **Range reads** open only the year files that overlap the range.
* **Merges** combine new bars with the stored ones per year; on a timestamp present in both,
  the new bar wins. There are never duplicate timestamps.
* **Atomic writes**: a year file is written to a hidden temporary file in the same folder,
  flushed and fsync'ed, then moved over the old file with ``os.replace`` (and the folder is
  fsync'ed). A crash at any moment leaves either the old file or the new one, never a half
  file; readers ignore hidden files, and the next writer removes leftovers of crashed writers.
* **One writer per partition**: writers take an exclusive ``flock`` on ``<partition>/.lock``
  (POSIX). Readers take no lock: they only ever see complete files.
* **Cache policy**: history is kept permanently; bars that are not final are never written,
  i.e. bars of today's session before the 16:00 New York close, bars dated after today and
  intraday bars that have not ended (see :func:`sigma_lab.data.sessions.unfinished_mask`).

Symbols are stored URL-quoted so names such as ``O:SPY240701C00537000`` are safe folder names.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sigma_lab.config import get_settings
from sigma_lab.data.bars import empty_bars, validate_bars
from sigma_lab.data.cache import get_cache
from sigma_lab.data.sessions import unfinished_mask
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import BarValidationError, StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; single-writer use is then assumed
    fcntl = None

ROW_GROUP_SIZE = 100_000
_YEAR_FILE = re.compile(r"^(\d{4})\.parquet$")
INFO_COLUMNS = ["symbol", "timeframe", "source", "first", "last", "rows"]


class BarStore:
    """Bars on disk, partitioned by source / symbol / timeframe / year."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else get_settings().data_dir

    def partition_dir(self, source: str, symbol: str, timeframe: str | Timeframe) -> Path:
        """The folder holding the year files of one source / symbol / timeframe."""
        return self.root / _safe(source) / quote(symbol, safe="") / parse_timeframe(timeframe).name

    def read(
        self,
        source: str,
        symbol: str,
        timeframe: str | Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Stored bars with ``start <= timestamp <= end`` (an empty bar frame when there are none)."""
        folder = self.partition_dir(source, symbol, timeframe)
        frames = []
        for year, path in _year_files(folder):
            if (start is not None and year < start.year) or (end is not None and year > end.year):
                continue
            frames.append(_read_file(path))
        if not frames:
            return empty_bars()
        bars = pd.concat(frames) if len(frames) > 1 else frames[0]
        if start is not None:
            bars = bars[bars.index >= start]
        if end is not None:
            bars = bars[bars.index <= end]
        return validate_bars(bars, allow_empty=True)

    def write(
        self,
        source: str,
        symbol: str,
        timeframe: str | Timeframe,
        bars: pd.DataFrame,
        *,
        now: pd.Timestamp | None = None,
    ) -> int:
        """Merge ``bars`` into the store (new values win) and return how many bars were written.

        Bars that are not final at ``now`` (default: the current time) are left out.
        """
        tf = parse_timeframe(timeframe)
        bars = validate_bars(bars, allow_empty=True)
        bars = bars[~unfinished_mask(bars.index, tf, now)]
        if len(bars) == 0:
            return 0
        folder = self.partition_dir(source, symbol, tf)
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            _remove_orphans(folder)
            for year, chunk in bars.groupby(bars.index.year):
                path = folder / f"{int(year):04d}.parquet"
                merged = pd.concat([_read_file(path), chunk]) if path.exists() else chunk
                merged = merged[~merged.index.duplicated(keep="last")].sort_index()
                try:
                    merged = validate_bars(merged)
                except BarValidationError as exc:
                    raise StoreError(f"cannot merge bars into {path}: {exc}") from None
                _atomic_write(merged, path)
        get_cache().invalidate(str(self.root), source, symbol)
        return len(bars)

    def info(self, symbol: str | None = None) -> pd.DataFrame:
        """One row per stored source / symbol / timeframe: first and last timestamp and row count."""
        rows = []
        if self.root.is_dir():
            for folder in sorted(self.root.glob("*/*/*")):
                files = _year_files(folder)
                if not files:
                    continue
                name = unquote(folder.parent.name)
                if symbol is not None and name != symbol:
                    continue
                first = pq.read_table(files[0][1], columns=["timestamp"]).column(0)
                last = pq.read_table(files[-1][1], columns=["timestamp"]).column(0)
                count = sum(pq.ParquetFile(path).metadata.num_rows for _, path in files)
                rows.append(
                    {
                        "symbol": name,
                        "timeframe": folder.name,
                        "source": folder.parent.parent.name,
                        "first": pd.Timestamp(pc.min(first).as_py()),
                        "last": pd.Timestamp(pc.max(last).as_py()),
                        "rows": count,
                    }
                )
        return pd.DataFrame(rows, columns=INFO_COLUMNS)


def _safe(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
        raise StoreError(f"invalid source name {name!r} for the store (letters, digits, '_', '.', '-')")
    return name


def _year_files(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _YEAR_FILE.match(p.name))]
    return sorted(found)


def _read_file(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"cannot read stored bars {path}: {exc}") from None
    return frame.set_index("timestamp")


def _atomic_write(bars: pd.DataFrame, path: Path) -> None:
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    table = pa.Table.from_pandas(bars.reset_index(), preserve_index=False)
    try:
        with open(tmp, "wb") as fh:
            with pq.ParquetWriter(fh, table.schema) as writer:
                for offset in range(0, max(table.num_rows, 1), ROW_GROUP_SIZE):
                    writer.write_table(table.slice(offset, ROW_GROUP_SIZE))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(f"cannot write {path}: {exc}") from None
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_orphans(folder: Path) -> None:
    """Delete temporary files of writers that died; safe because we hold the partition lock."""
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    with open(folder / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
