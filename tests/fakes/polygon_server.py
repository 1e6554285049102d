"""A fake Polygon.io REST server on 127.0.0.1 serving the recorded SPY data bundled with Sigma Lab.

It speaks Polygon's JSON shapes (``status``, ``resultsCount``, ``results``, ``next_url``,
``request_id``) for:

- ``/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}``: ``SPY`` from the
  recorded hourly bars (``hour`` as recorded or merged into k-hour bars, ``day`` aggregated
  by New York date and stamped at New York midnight, like Polygon), and ``O:...`` option
  contracts from the recorded 0DTE minute bars (``minute``, k-minute bars). Other tickers
  answer 200 with no results, as Polygon does.
- ``/v3/reference/options/contracts``: the contracts in the option recording, filtered by
  ``underlying_ticker``, ``contract_type``, ``expiration_date``, ``strike_price.gte/.lte``,
  ``as_of`` and ``expired`` with Polygon's semantics.

Pages hold at most ``page_size`` results; ``next_url`` carries only an opaque ``cursor``, so
a client must re-attach its API key. Every request must carry the key (``apiKey`` query
parameter or ``Authorization: Bearer``), else 401. Faults are scripted on the
:class:`FakePolygon` handle: :meth:`FakePolygon.fail_next`, :meth:`FakePolygon.disconnect_next`,
:meth:`FakePolygon.drop_fields`. Nothing here opens a connection to anywhere but loopback.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

NEW_YORK = "America/New_York"
_UNIT = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1)}


@lru_cache(maxsize=1)
def recorded_spy_hourly() -> pd.DataFrame:
    """The bundled SPY hourly bars, indexed by UTC timestamp."""
    path = files("sigma_lab.data").joinpath("sample/spy_1h.parquet")
    return pd.read_parquet(str(path)).set_index("timestamp").sort_index()


@lru_cache(maxsize=1)
def recorded_spy_options() -> pd.DataFrame:
    """The bundled SPY 0DTE option minute bars, one row per contract and minute."""
    path = files("sigma_lab.data").joinpath("sample/spy_0dte_options_1m.parquet")
    return pd.read_parquet(str(path)).sort_values(["contract", "timestamp"]).reset_index(drop=True)


def recorded_option_bars(contract: str) -> pd.DataFrame:
    """The recorded minute bars of one option contract, indexed by UTC timestamp."""
    frame = recorded_spy_options()
    rows = frame.loc[frame["contract"] == contract]
    return rows.set_index("timestamp")[["open", "high", "low", "close", "volume", "vwap"]]


@lru_cache(maxsize=1)
def recorded_contracts() -> pd.DataFrame:
    """The contracts of the option recording as Polygon reference rows."""
    frame = recorded_spy_options()
    return (
        frame[["contract", "underlying", "expiry", "right", "strike"]]
        .drop_duplicates("contract")
        .sort_values("contract")
        .reset_index(drop=True)
    )


@dataclass
class RecordedRequest:
    """One request the fake received (the API key is not kept, only whether it was right)."""

    path: str
    query: dict[str, str]
    key_ok: bool


@dataclass
class FakePolygon:
    """Handle on a running fake: its URL and key, the requests it saw, and fault scripting."""

    url: str
    api_key: str
    page_size: int
    requests: list[RecordedRequest] = field(default_factory=list)
    _faults: deque[tuple[str, int, str | None] | None] = field(default_factory=deque)
    _dropped: dict[str, set[int] | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self, count: int, status: int = 500, *, retry_after: str | None = None, after: int = 0
    ) -> None:
        """The next ``count`` requests, once ``after`` more have been served normally, answer
        HTTP ``status`` (with ``Retry-After`` if given)."""
        with self._lock:
            self._faults.extend([None] * after)
            self._faults.extend([("status", status, retry_after)] * count)

    def disconnect_next(self, count: int) -> None:
        """The next ``count`` requests get their connection closed without any response."""
        with self._lock:
            self._faults.extend([("disconnect", 0, None)] * count)

    def drop_fields(self, *fields: str, rows: list[int] | None = None) -> None:
        """Leave ``fields`` out of aggregate results: in every row, or at these positions
        of the whole (unpaginated) result list."""
        with self._lock:
            for name in fields:
                self._dropped[name] = None if rows is None else set(rows)

    def reset(self) -> None:
        """Forget scripted faults, dropped fields and recorded requests."""
        with self._lock:
            self._faults.clear()
            self._dropped.clear()
            self.requests.clear()

    @property
    def aggregate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith("/v2/aggs/")]

    def _record(self, request: RecordedRequest) -> tuple[str, int, str | None] | None:
        with self._lock:
            self.requests.append(request)
            return self._faults.popleft() if self._faults else None

    def _dropped_fields(self) -> dict[str, set[int] | None]:
        with self._lock:
            return dict(self._dropped)


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.as_unit("ns").value) // 1_000_000


def _bound(text: str, *, end: bool) -> pd.Timestamp:
    """A ``from``/``to`` path segment: a millisecond timestamp or a New York date."""
    if text.isdigit():
        return pd.Timestamp(int(text), unit="ms", tz="UTC")
    day = pd.Timestamp(text).tz_localize(NEW_YORK)
    return (day + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1) if end else day).tz_convert("UTC")


def _merge(bars: pd.DataFrame, keys: pd.Index) -> pd.DataFrame:
    grouped = bars.assign(pv=bars["vwap"] * bars["volume"]).groupby(keys, sort=True)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        pv=("pv", "sum"),
        known=("vwap", "count"),
        n=("open", "size"),
    )
    complete = (out["known"] == out["n"]) & (out["volume"] > 0)
    out["vwap"] = (out["pv"] / out["volume"]).where(complete)
    return out.drop(columns=["pv", "known"])


def _aggregate(bars: pd.DataFrame, base: pd.Timedelta, multiplier: int, timespan: str) -> pd.DataFrame | None:
    """Bars at ``multiplier x timespan`` from bars of length ``base``, or None if unsupported."""
    if timespan == "day" and multiplier == 1:
        local = bars.index.tz_convert(NEW_YORK)
        days = pd.DatetimeIndex(local.normalize()).tz_convert("UTC")
        return _merge(bars, pd.Index(days, name="timestamp"))
    if timespan in _UNIT:
        step = _UNIT[timespan] * multiplier
        if step < base:
            return bars.iloc[0:0].assign(n=0)
        if step == base:
            return bars.assign(n=1)
        return _merge(bars, pd.Index(bars.index.floor(step), name="timestamp"))
    return None


def _bar_rows(bars: pd.DataFrame) -> list[dict[str, Any]]:
    """Polygon aggregate rows; ``vw`` is left out where the recording has no vwap."""
    rows = []
    for ts, o, h, lo, c, v, vw, n in zip(
        bars.index,
        bars["open"].tolist(),
        bars["high"].tolist(),
        bars["low"].tolist(),
        bars["close"].tolist(),
        bars["volume"].tolist(),
        bars["vwap"].tolist(),
        bars["n"].tolist(),
        strict=True,
    ):
        row = {"v": v, "vw": vw, "o": o, "c": c, "h": h, "l": lo, "t": _ms(ts), "n": int(n)}
        if vw != vw:
            del row["vw"]
        rows.append(row)
    return rows


def _contract_rows(query: dict[str, str]) -> list[dict[str, Any]]:
    frame = recorded_contracts()
    keep = pd.Series(True, index=frame.index)
    if "underlying_ticker" in query:
        keep &= frame["underlying"] == query["underlying_ticker"].upper()
    if "contract_type" in query:
        keep &= frame["right"] == {"call": "C", "put": "P"}.get(query["contract_type"], "?")
    if "expiration_date" in query:
        keep &= frame["expiry"] == dt.date.fromisoformat(query["expiration_date"])
    if "strike_price.gte" in query:
        keep &= frame["strike"] >= float(query["strike_price.gte"])
    if "strike_price.lte" in query:
        keep &= frame["strike"] <= float(query["strike_price.lte"])
    as_of = dt.date.fromisoformat(query["as_of"]) if "as_of" in query else dt.date.today()
    if query.get("expired", "false") == "true":
        keep &= frame["expiry"] < as_of
    else:
        keep &= frame["expiry"] >= as_of
    return [
        {
            "cfi": "OCASPS" if row.right == "C" else "OPASPS",
            "contract_type": "call" if row.right == "C" else "put",
            "exercise_style": "american",
            "expiration_date": row.expiry.isoformat(),
            "primary_exchange": "BATO",
            "shares_per_contract": 100,
            "strike_price": float(row.strike),
            "ticker": row.contract,
            "underlying_ticker": row.underlying,
        }
        for row in frame.loc[keep].itertuples(index=False)
    ]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        try:
            self._serve()
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must reach the test as an answer
            self._send(500, {"status": "ERROR", "error": f"fake Polygon failed: {type(exc).__name__}: {exc}"})

    def _serve(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        given = query.pop("apiKey", None)
        auth = self.headers.get("Authorization", "")
        if given is None and auth.startswith("Bearer "):
            given = auth.removeprefix("Bearer ")
        key_ok = given == fake.api_key
        fault = fake._record(RecordedRequest(parts.path, dict(query), key_ok))
        if not key_ok:
            self._send(401, {"status": "ERROR", "error": "Unknown API Key"})
            return
        if fault is not None:
            kind, status, retry_after = fault
            if kind == "disconnect":
                self.close_connection = True
                return
            messages = {429: "You've exceeded the maximum requests per minute."}
            body = {"status": "ERROR", "error": messages.get(status, f"scripted fault {status}")}
            self._send(status, body, {"Retry-After": retry_after} if retry_after is not None else None)
            return
        if "cursor" in query:
            state = json.loads(base64.urlsafe_b64decode(query["cursor"].encode()))
            query, offset = state["query"], state["offset"]
        else:
            offset = 0
        segments = parts.path.strip("/").split("/")
        if len(segments) == 9 and segments[:3] == ["v2", "aggs", "ticker"] and segments[4] == "range":
            self._aggregates(parts.path, segments, query, offset)
        elif parts.path == "/v3/reference/options/contracts":
            self._page(parts.path, _contract_rows(query), query, offset, int(query.get("limit", 10)), {})
        else:
            self._send(404, {"status": "NOT_FOUND", "message": "Data not found."})

    def _aggregates(self, path: str, segments: list[str], query: dict[str, str], offset: int) -> None:
        ticker, multiplier, timespan = segments[3], int(segments[5]), segments[6]
        lo, hi = _bound(segments[7], end=False), _bound(segments[8], end=True)
        if ticker == "SPY":
            bars, base = recorded_spy_hourly(), pd.Timedelta(hours=1)
        elif ticker.startswith("O:"):
            bars, base = recorded_option_bars(ticker), pd.Timedelta(minutes=1)
        else:
            bars, base = recorded_spy_hourly().iloc[0:0], pd.Timedelta(hours=1)
        merged = _aggregate(bars, base, multiplier, timespan)
        if merged is None:
            self._send(400, {"status": "ERROR", "error": f"the fake does not serve {multiplier}/{timespan}"})
            return
        merged = merged.loc[(merged.index >= lo) & (merged.index <= hi)]
        rows = _bar_rows(merged)
        for name, where in self.server.fake._dropped_fields().items():
            for i, row in enumerate(rows):
                if where is None or i in where:
                    row.pop(name, None)
        extra = {"ticker": ticker, "queryCount": len(rows), "adjusted": query.get("adjusted") == "true"}
        self._page(path, rows, query, offset, int(query.get("limit", 5000)), extra)

    def _page(
        self,
        path: str,
        rows: list[dict[str, Any]],
        query: dict[str, str],
        offset: int,
        limit: int,
        extra: dict[str, Any],
    ) -> None:
        size = max(1, min(limit, self.server.fake.page_size))
        page = rows[offset : offset + size]
        body: dict[str, Any] = {**extra, "status": "OK", "resultsCount": len(page), "count": len(page)}
        if page:
            body["results"] = page
        if offset + size < len(rows):
            state = json.dumps({"query": query, "offset": offset + size}).encode()
            cursor = base64.urlsafe_b64encode(state).decode()
            body["next_url"] = f"{self.server.fake.url}{path}?cursor={cursor}"
        self._send(200, body)

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = {**body, "request_id": uuid.uuid4().hex}
        data = json.dumps(body, allow_nan=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePolygon


@contextmanager
def running_fake_polygon(api_key: str = "test-key", page_size: int = 100) -> Iterator[FakePolygon]:
    """Run a fake Polygon on an ephemeral loopback port for the duration of the ``with`` block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.fake = FakePolygon(url=f"http://{host}:{port}", api_key=api_key, page_size=page_size)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-polygon", daemon=True
    )
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
