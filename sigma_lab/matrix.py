"""Build a training matrix: bars + an indicator set + a label -> Parquet, a manifest, a model card.

``build_matrix(model_id)`` reads the model config from its pack, loads the bars of its
ticker (or of every ticker of its universe that has data), computes the features on the
full bar history, keeps the rows after the indicators' warm-up and inside the configured
session, computes the label on those rows, runs the QA checks and writes, under
``<workspace>/matrices/<model_id>/``:

- ``matrix.parquet``: index ``timestamp`` (UTC), column ``ticker``, the bar columns, the
  feature columns and the label columns (rows whose label is not known yet are kept
  with NaN labels, so the newest bars can still be scored);
- ``manifest.json``: columns by role, horizon, rows, range, QA results and lineage (the
  content hashes of the matrix, the model config, the indicator set and the bars);
- ``model_card.json`` and ``model_card.md``: the same facts for people.

The matrix hash is a sha256 over the column names, dtypes and ``hash_pandas_object`` of
every column and the index, so building twice from the same inputs gives the same hash
whatever the Parquet writer does with its bytes.

Options-flow indicator sets (and labels that need option bars) attach the option minute
bars of the ticker and keep only the sessions that have option data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sigma_lab import labels as label_registry
from sigma_lab.data.bars import BAR_COLUMNS
from sigma_lab.data.sessions import NEW_YORK, session_mask
from sigma_lab.data.timeframes import parse_timeframe
from sigma_lab.errors import ConfigError, DataSourceError, NotFoundError, SigmaError, StoreError
from sigma_lab.packs import IndicatorSet, ModelConfig, content_hash, get_indicator_set, get_model_config

NAN_WARN = 0.10
NAN_FAIL = 0.30
MATRIX_FILE = "matrix.parquet"
MANIFEST_FILE = "manifest.json"
#: Feature outputs that can never be negative (a negative value means a broken input or kernel).
NON_NEGATIVE_INDICATORS = ("atr", "realized_vol", "rolling_std")


class MatrixQAError(SigmaError):
    """A matrix failed a QA check; ``checks`` holds every check result."""

    def __init__(self, model_id: str, checks: list[dict[str, Any]]) -> None:
        self.model_id = model_id
        self.checks = checks
        failed = "; ".join(f"{c['check']}: {c['detail']}" for c in checks if c["status"] == "fail")
        super().__init__(f"matrix {model_id!r} failed QA: {failed}")


@dataclass
class BuildResult:
    """What a build produced: where, how big, its hash, its QA and its store row."""

    model_id: str
    folder: Path
    matrix_path: Path
    manifest: dict[str, Any]
    matrix_hash: str
    rows: int
    qa_status: str
    run_id: int | None = None
    card_paths: tuple[Path, Path] | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)


def matrices_root() -> Path:
    """``<workspace>/matrices``: where built matrices live."""
    from sigma_lab.config import get_settings

    return get_settings().matrices_dir


def matrix_hash(frame: pd.DataFrame) -> str:
    """Deterministic sha256 of a frame's data: column names, dtypes, values and index."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(frame[c].dtype)] for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(pd.Series(frame.index), index=False).to_numpy().tobytes())
    for col in frame.columns:
        digest.update(pd.util.hash_pandas_object(frame[col], index=False).to_numpy().tobytes())
    return digest.hexdigest()


# --- assembling ------------------------------------------------------------------------------------


def _tickers(cfg: ModelConfig, root: str | Path | None) -> list[str]:
    if cfg.ticker:
        return [cfg.ticker]
    from sigma_lab.universes import get_universe

    return list(get_universe(cfg.universe or "", root).tickers)


def _zero_dte(options: pd.DataFrame) -> pd.DataFrame:
    """Option minutes of contracts expiring on the session they trade in."""
    if "expiry" not in options.columns or options.empty:
        return options
    local = pd.DatetimeIndex(options["timestamp"]).tz_convert(NEW_YORK).tz_localize(None).normalize()
    expiry = pd.to_datetime(options["expiry"]).to_numpy(dtype="datetime64[ns]")
    return options[local.to_numpy(dtype="datetime64[ns]") == expiry].reset_index(drop=True)


def _ny_dates(index: pd.DatetimeIndex) -> np.ndarray:
    return index.tz_convert(NEW_YORK).tz_localize(None).normalize().to_numpy(dtype="datetime64[ns]")


def ticker_frame(
    cfg: ModelConfig, iset: IndicatorSet, ticker: str, start: Any, end: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The matrix rows of one ticker and its lineage facts."""
    from sigma_lab import data
    from sigma_lab.indicators import compute

    tf = parse_timeframe(cfg.data.timeframe)
    bars = data.load(ticker, tf, start, end, source=cfg.data.source)
    if len(bars) == 0:
        raise DataSourceError(
            f"no {tf.name} bars for {ticker} from source {cfg.data.source!r} in {start}..{end}"
        )
    bars = bars[list(BAR_COLUMNS)]
    facts: dict[str, Any] = {"bars_hash": matrix_hash(bars), "bars": len(bars)}
    lab = label_registry.get(cfg.label.kind)
    options = None
    feature_bars = bars
    if iset.options_flow or lab.needs_options:
        from sigma_lab.data.options import load_option_bars

        options = _zero_dte(load_option_bars(ticker, start, end, source=cfg.data.source))
        if options.empty:
            raise DataSourceError(f"no option minute bars for {ticker} in {start}..{end}")
        facts["options_hash"] = matrix_hash(options)
        if iset.options_flow:
            from sigma_lab.indicators.options_flow import attach_option_flow

            feature_bars = attach_option_flow(bars, options, underlying=ticker)
    features = [compute(feature_bars, e.name, **e.params) for e in iset.indicators]
    keep = np.arange(len(bars)) >= iset.warmup()
    if tf.intraday and cfg.data.session != "all":
        keep &= session_mask(bars.index, tf.minutes, cfg.data.session)
    if options is not None:
        keep &= np.isin(_ny_dates(bars.index), np.unique(_ny_dates(pd.DatetimeIndex(options["timestamp"]))))
    rows = bars[keep]
    label_frame = label_registry.compute_label(rows, cfg.label.kind, options=options, **cfg.label.params)
    frame = pd.concat([rows, *(f[keep] for f in features), label_frame], axis=1)
    frame.insert(0, "ticker", ticker)
    return frame, facts


def _assemble(
    cfg: ModelConfig, iset: IndicatorSet, tickers: list[str], start: Any, end: Any, progress: bool
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]], list[dict[str, str]]]:
    from tqdm.auto import tqdm

    parts: list[pd.DataFrame] = []
    facts: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    universe = cfg.universe is not None
    for ticker in tqdm(tickers, desc=f"build {cfg.model_id}", disable=not progress or len(tickers) == 1):
        try:
            frame, info = ticker_frame(cfg, iset, ticker, start, end)
        except (DataSourceError, NotFoundError) as exc:
            if not universe:
                raise
            skipped.append({"ticker": ticker, "reason": str(exc)})
            continue
        if frame.empty:
            if not universe:
                raise DataSourceError(f"{ticker}: no rows left after warm-up and session filtering")
            skipped.append({"ticker": ticker, "reason": "no rows left after warm-up and session filtering"})
            continue
        parts.append(frame)
        facts[ticker] = info
    if not parts:
        raise DataSourceError(
            f"no ticker of universe {cfg.universe!r} has {cfg.data.timeframe} data "
            f"in source {cfg.data.source!r}"
        )
    matrix = pd.concat(parts, axis=0)
    if len(parts) > 1:
        order = np.lexsort((matrix["ticker"].to_numpy(dtype=str), matrix.index.as_unit("ns").asi8))
        matrix = matrix.iloc[order]
    matrix.index.name = "timestamp"
    return matrix, facts, skipped


# --- QA ---------------------------------------------------------------------------------------------


def _check(name: str, status: str, detail: str, **values: Any) -> dict[str, Any]:
    return {"check": name, "status": status, "detail": detail, "values": values}


def run_qa(
    matrix: pd.DataFrame, feature_columns: list[str], *, cfg: ModelConfig, iset: IndicatorSet
) -> list[dict[str, Any]]:
    """QA checks of a matrix: monotonic timestamps, non-negative volume and volatility, session
    hours (intraday), NaN share per feature (warn at 10%, fail at 30%), finite values, labels."""
    checks = []
    bad_order = []
    for ticker, part in matrix.groupby("ticker", sort=True):
        steps = np.diff(part.index.as_unit("ns").asi8)
        if (steps <= 0).any():
            bad_order.append(f"{ticker} at {part.index[int(np.flatnonzero(steps <= 0)[0]) + 1]}")
    checks.append(
        _check("timestamps_monotonic", "fail", f"not strictly increasing: {bad_order}")
        if bad_order
        else _check("timestamps_monotonic", "pass", "strictly increasing per ticker")
    )
    negative = {}
    if (matrix["volume"] < 0).any():
        negative["volume"] = int((matrix["volume"] < 0).sum())
    for entry in iset.indicators:
        if entry.name in NON_NEGATIVE_INDICATORS:
            for col in entry.columns():
                count = int((matrix[col] < 0).sum())
                if count:
                    negative[col] = count
    checks.append(
        _check("non_negative", "fail", f"negative values (rows): {negative}", columns=negative)
        if negative
        else _check("non_negative", "pass", "volume and volatility columns are >= 0")
    )
    tf = parse_timeframe(cfg.data.timeframe)
    if tf.intraday:
        session = cfg.data.session if cfg.data.session != "all" else "extended"
        outside = ~session_mask(matrix.index, tf.minutes, session)
        checks.append(
            _check(
                "session_hours",
                "fail",
                f"{int(outside.sum())} bars outside the {session} session, "
                f"first at {matrix.index[outside][0]}",
                outside=int(outside.sum()),
            )
            if outside.any()
            else _check("session_hours", "pass", f"all bars inside the {session} session (New York)")
        )
    shares = {c: float(matrix[c].isna().mean()) for c in feature_columns} if len(matrix) else {}
    worst = max(shares.values(), default=0.0)
    over_warn = {c: round(s, 4) for c, s in shares.items() if s >= NAN_WARN}
    status = "fail" if worst >= NAN_FAIL else "warn" if worst >= NAN_WARN else "pass"
    checks.append(
        _check(
            "nan_share",
            status,
            f"max NaN share after warm-up {worst:.1%}"
            + (f"; at or above {NAN_WARN:.0%}: {over_warn}" if over_warn else ""),
            shares={c: round(s, 6) for c, s in shares.items()},
        )
    )
    values = matrix[feature_columns].to_numpy(dtype="float64")
    inf_cols = [c for c, bad in zip(feature_columns, np.isinf(values).any(axis=0), strict=True) if bad]
    checks.append(
        _check("finite", "fail", f"infinite values in {inf_cols}")
        if inf_cols
        else _check("finite", "pass", "no infinite feature values")
    )
    known = int(matrix["label"].notna().sum())
    checks.append(
        _check(
            "labels",
            "fail" if known == 0 else "pass",
            f"{known} of {len(matrix)} rows have a known label",
            known=known,
        )
    )
    return checks


def _status(checks: list[dict[str, Any]]) -> str:
    statuses = {c["status"] for c in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"


# --- writing ---------------------------------------------------------------------------------------


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _card_markdown(card: dict[str, Any]) -> str:
    lab = card["label"]
    qa = "\n".join(f"| {c['check']} | {c['status']} | {c['detail']} |" for c in card["qa"]["checks"])
    classes = ", ".join(f"{k}: {v}" for k, v in (card["class_counts"] or {}).items()) or "n/a (regression)"
    lines = [
        f"# Model card: {card['model_id']}",
        "",
        card["description"] or "",
        "",
        f"- **Pack:** {card['pack']}",
        f"- **Tickers:** {', '.join(card['tickers'])}"
        + (f" (skipped: {', '.join(s['ticker'] for s in card['skipped'])})" if card["skipped"] else ""),
        f"- **Data:** {card['data']['source']} {card['data']['timeframe']} bars, "
        f"session {card['data']['session']}, "
        f"{card['range']['start']} to {card['range']['end']}",
        f"- **Rows:** {card['rows']} ({card['label_known_rows']} with a known label)",
        f"- **Features:** {len(card['feature_columns'])} from indicator set `{card['indicator_set']}`",
        f"- **Label:** `{lab['kind']}` {json.dumps(lab['params'])}; horizon {card['horizon']} bars; "
        f"task {card['task']}",
        f"- **Label definition:** {lab['description']}",
        f"- **Class counts:** {classes}",
        f"- **Built:** {card['built_at']} with sigma-lab {card['package_version']}",
        "",
        "## QA",
        "",
        "| check | status | detail |",
        "|---|---|---|",
        qa,
        "",
        "## Lineage",
        "",
        f"- matrix sha256: `{card['lineage']['matrix_hash']}`",
        f"- model config sha256: `{card['lineage']['config_hash']}`",
        f"- indicator set sha256: `{card['lineage']['indicator_set_hash']}`",
        "",
        "## Features",
        "",
        ", ".join(f"`{c}`" for c in card["feature_columns"]),
        "",
    ]
    return "\n".join(lines)


def _record(run: dict[str, Any]) -> int | None:
    from sigma_lab.store import repo, session_scope

    try:
        with session_scope() as session:
            return repo.record_build_run(session, run)
    except SigmaError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver's errors become one domain error
        raise StoreError(f"could not record the build run of {run.get('model_id')!r}: {exc}") from exc


def build_matrix(
    model_id: str,
    start: str | dt.date | pd.Timestamp | None = None,
    end: str | dt.date | pd.Timestamp | None = None,
    *,
    root: str | Path | None = None,
    store: bool = True,
    progress: bool = True,
    job_id: int | None = None,
) -> BuildResult:
    """Build the training matrix of ``model_id`` and write it under ``<workspace>/matrices/<model_id>/``.

    ``start``/``end`` override the config's data range. ``root`` is the packs root. With
    ``store`` a build-run row is recorded (also for a build that fails QA, which then raises
    :class:`MatrixQAError` and writes no matrix), tied to the job ``job_id`` when given.
    """
    from sigma_lab import __version__

    started = dt.datetime.now(dt.UTC)
    cfg = get_model_config(model_id, root)
    iset = get_indicator_set(cfg, root)
    start = start if start is not None else cfg.data.start
    end = end if end is not None else cfg.data.end
    tickers = _tickers(cfg, root)
    matrix, facts, skipped = _assemble(cfg, iset, tickers, start, end, progress)

    lab = label_registry.get(cfg.label.kind)
    feature_columns = iset.columns()
    label_columns = lab.columns()
    checks = run_qa(matrix, feature_columns, cfg=cfg, iset=iset)
    qa_status = _status(checks)
    digest = matrix_hash(matrix)
    config_hash = content_hash(cfg.model_dump(mode="json", exclude={"description"}))
    set_hash = content_hash(iset.model_dump(mode="json", exclude={"description"}))
    known = matrix["label"].notna()
    classes = lab.class_names(**cfg.label.params)
    class_counts = (
        {
            classes.get(int(k), str(k)): int(v)
            for k, v in matrix.loc[known, "label"].value_counts().sort_index().items()
        }
        if classes
        else None
    )
    lineage = {
        "matrix_hash": digest,
        "config_hash": config_hash,
        "indicator_set_hash": set_hash,
        "inputs": facts,
        "package_version": __version__,
    }
    manifest: dict[str, Any] = {
        "model_id": cfg.model_id,
        "pack": cfg.pack,
        "description": cfg.description,
        "built_at": started.isoformat(),
        "package_version": __version__,
        "matrix_file": MATRIX_FILE,
        "rows": len(matrix),
        "label_known_rows": int(known.sum()),
        "columns": ["timestamp", *matrix.columns],
        "index": "timestamp",
        "bar_columns": list(BAR_COLUMNS),
        "feature_columns": feature_columns,
        "label_columns": label_columns,
        "target": "label",
        "task": lab.task_kind(**cfg.label.params),
        "classes": {str(k): v for k, v in classes.items()} if classes else None,
        "class_counts": class_counts,
        "horizon": cfg.label.horizon,
        "label": {"kind": cfg.label.kind, "params": cfg.label.params, "description": lab.description},
        "indicator_set": iset.name,
        "warmup_bars": iset.warmup(),
        "data": {
            "source": cfg.data.source,
            "timeframe": cfg.data.timeframe,
            "session": cfg.data.session,
            "start": str(start) if start is not None else None,
            "end": str(end) if end is not None else None,
        },
        "tickers": sorted(facts),
        "skipped": skipped,
        "range": {"start": _iso(matrix.index.min()), "end": _iso(matrix.index.max())},
        "qa": {"status": qa_status, "checks": checks},
        "lineage": lineage,
    }
    folder = matrices_root() / cfg.model_id
    run = {
        "model_id": cfg.model_id,
        "pack": cfg.pack,
        "ticker": cfg.ticker or cfg.universe,
        "timeframe": cfg.data.timeframe,
        "params": {
            "start": manifest["data"]["start"],
            "end": manifest["data"]["end"],
            "label": cfg.label.params,
        },
        "lineage": lineage,
        "package_version": __version__,
        "started_at": started,
        "range_start": matrix.index.min().to_pydatetime(),
        "range_end": matrix.index.max().to_pydatetime(),
        "n_rows": len(matrix),
        "n_columns": matrix.shape[1],
        "matrix_hash": digest,
        "config_hash": config_hash,
        "indicator_set_hash": set_hash,
        "qa": manifest["qa"],
        "job_id": job_id,
    }
    if qa_status == "fail":
        error = MatrixQAError(cfg.model_id, checks)
        if store:
            _record({**run, "status": "failed", "error": str(error), "finished_at": dt.datetime.now(dt.UTC)})
        raise error

    folder.mkdir(parents=True, exist_ok=True)
    matrix_path = folder / MATRIX_FILE
    tmp = folder / f".{MATRIX_FILE}.tmp"
    matrix.to_parquet(tmp, index=True)
    os.replace(tmp, matrix_path)
    _write_json(folder / MANIFEST_FILE, manifest)
    run_id = None
    if store:
        run_id = _record(
            {
                **run,
                "status": "succeeded",
                "finished_at": dt.datetime.now(dt.UTC),
                "matrix_path": str(matrix_path),
                "manifest": manifest,
            }
        )
    card = {**manifest, "build_run_id": run_id}
    card_json, card_md = folder / "model_card.json", folder / "model_card.md"
    _write_json(card_json, card)
    _atomic_write_bytes(card_md, _card_markdown(card).encode())
    return BuildResult(
        model_id=cfg.model_id,
        folder=folder,
        matrix_path=matrix_path,
        manifest=manifest,
        matrix_hash=digest,
        rows=len(matrix),
        qa_status=qa_status,
        run_id=run_id,
        card_paths=(card_json, card_md),
        frame=matrix,
    )


def load_matrix(model_id: str, *, verify: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The built matrix of ``model_id`` and its manifest; ``verify`` re-checks the content hash."""
    folder = matrices_root() / model_id
    manifest_path, matrix_path = folder / MANIFEST_FILE, folder / MATRIX_FILE
    if not manifest_path.is_file() or not matrix_path.is_file():
        raise NotFoundError(
            f"no built matrix for {model_id!r} under {folder}; build it with `sigma-lab build {model_id}`"
        )
    manifest = json.loads(manifest_path.read_text())
    frame = pd.read_parquet(matrix_path)
    if verify:
        found = matrix_hash(frame)
        if found != manifest["lineage"]["matrix_hash"]:
            raise ConfigError(
                f"{matrix_path} does not match its manifest (hash {found[:12]} != "
                f"{manifest['lineage']['matrix_hash'][:12]}); rebuild it"
            )
    return frame, manifest
