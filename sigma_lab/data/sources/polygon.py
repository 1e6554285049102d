"""Polygon.io REST source: stock and option aggregates, and option contract reference data.

Bars come from ``/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}`` with
``adjusted=true&sort=asc&limit=50000``; every ``next_url`` page is followed (the API key is
re-attached, and only ever sent to the configured host). Requests that fail with 429, a 5xx
or a transport error are retried with exponential backoff and jitter, honouring
``Retry-After``; 401/403 raise :class:`AuthError` at once, 404 raises :class:`NotFoundError`.

Result rows are converted strictly: a row without ``t`` or any of ``o h l c v`` raises a
:class:`DataSourceError` naming the row's timestamp and the missing field (a bar with a hole
in it is not a bar); ``vw`` is optional and becomes ``vwap`` (NaN in rows without it, no
``vwap`` column when no row has it); other fields (``n``, ``otc``) are not part of the bar
contract and are dropped.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sigma_lab.config import get_settings
from sigma_lab.data.bars import BAR_COLUMNS, empty_bars, validate_bars
from sigma_lab.data.sources.base import BarSource
from sigma_lab.data.timeframes import Timeframe, parse_timeframe
from sigma_lab.errors import AuthError, BarValidationError, ConfigError, DataSourceError, NotFoundError

#: Timeframe unit -> Polygon ``timespan``.
TIMESPANS: dict[str, str] = {"m": "minute", "h": "hour", "d": "day", "w": "week"}
#: Polygon aggregate field -> bar column, all required in every result row.
_REQUIRED_FIELDS: tuple[tuple[str, str], ...] = (
    ("o", "open"),
    ("h", "high"),
    ("l", "low"),
    ("c", "close"),
    ("v", "volume"),
)
#: Polygon's largest page for aggregates and for options reference data.
AGGS_LIMIT = 50_000
CONTRACTS_LIMIT = 1_000
#: Upper bound of one computed backoff delay, and of an honoured ``Retry-After``, in seconds.
MAX_BACKOFF = 60.0
MAX_RETRY_AFTER = 300.0
_OCC = re.compile(r"^O:([A-Z][A-Z0-9.]{0,5})(\d{6})([CP])(\d{8})$")
CONTRACT_COLUMNS: tuple[str, ...] = (
    "contract",
    "underlying",
    "expiry",
    "right",
    "strike",
    "exercise_style",
    "shares_per_contract",
    "primary_exchange",
    "cfi",
)


def polygon_timespan(timeframe: Timeframe | str) -> tuple[int, str]:
    """The Polygon ``(multiplier, timespan)`` of a timeframe: ``"4h"`` -> ``(4, "hour")``."""
    tf = parse_timeframe(timeframe)
    return tf.count, TIMESPANS[tf.unit]


def occ_ticker(contract: str) -> str:
    """Normalise an OCC option ticker to Polygon's form ``O:SPY240701C00537000``."""
    text = str(contract).strip().upper()
    if not text.startswith("O:"):
        text = "O:" + text
    if not _OCC.match(text):
        raise ConfigError(
            f"invalid option contract {contract!r}; expected an OCC ticker such as "
            "O:SPY240701C00537000 (root, YYMMDD expiry, C or P, strike x 1000 in 8 digits)"
        )
    return text


def _utc(value: Any, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} {value!r} is not a timestamp ({exc})") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _date_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} {value!r} is not a date ({exc})") from None


def _epoch_ms(ts: pd.Timestamp) -> int:
    return int(ts.as_unit("ns").value) // 1_000_000


def _retry_after_seconds(header: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not header:
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(payload, dict):
        for key in ("error", "message"):
            if payload.get(key):
                return str(payload[key])
        if payload.get("status"):
            return str(payload["status"])
    return ""


def bars_from_results(rows: list[dict[str, Any]], what: str) -> pd.DataFrame:
    """Convert Polygon aggregate result rows to a bar frame (see the module docstring)."""
    if not rows:
        return empty_bars()
    n = len(rows)
    stamps = np.empty(n, dtype="int64")
    values = {col: np.empty(n, dtype="float64") for _, col in _REQUIRED_FIELDS}
    vwap = np.full(n, np.nan)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataSourceError(f"Polygon {what}: result row {i} is not an object: {row!r}")
        t = row.get("t")
        if t is None:
            raise DataSourceError(f"Polygon {what}: result row {i} has no timestamp (field 't')")
        try:
            stamps[i] = int(t)
        except (TypeError, ValueError):
            raise DataSourceError(f"Polygon {what}: result row {i} has a bad timestamp t={t!r}") from None
        for field, col in _REQUIRED_FIELDS:
            value = row.get(field)
            try:
                values[col][i] = float(value)
            except (TypeError, ValueError):
                stamp = pd.Timestamp(int(t), unit="ms", tz="UTC")
                problem = "is missing" if value is None else f"is not a number ({value!r})"
                raise DataSourceError(
                    f"Polygon {what}: the bar at {stamp} has no usable {col} (field {field!r} {problem})"
                ) from None
        vw = row.get("vw")
        if vw is not None:
            try:
                vwap[i] = float(vw)
            except (TypeError, ValueError):
                stamp = pd.Timestamp(int(t), unit="ms", tz="UTC")
                raise DataSourceError(
                    f"Polygon {what}: the bar at {stamp} has a non-numeric vwap (field 'vw' = {vw!r})"
                ) from None
    index = (
        pd.DatetimeIndex(stamps.astype("datetime64[ms]"), name="timestamp").tz_localize("UTC").as_unit("us")
    )
    frame = pd.DataFrame({col: values[col] for col in BAR_COLUMNS}, index=index)
    if not np.isnan(vwap).all():
        frame["vwap"] = vwap
    try:
        return validate_bars(frame)
    except BarValidationError as exc:
        raise DataSourceError(f"Polygon {what}: the bars it sent break the bar contract: {exc}") from exc


class PolygonSource(BarSource):
    """Bars and option reference data from the Polygon.io REST API.

    ``max_retries`` is the number of retries after the first attempt (so at most
    ``max_retries + 1`` requests per page); the n-th retry waits ``backoff * 2**(n-1)``
    seconds scaled by a random factor in [0.5, 1] (at most ``MAX_BACKOFF``), or what the
    server's ``Retry-After`` asks for. ``sleep`` is the wait function (tests record it).
    ``timeout`` applies to the client this source creates; a ``client`` passed in keeps its
    own settings and is not closed by :meth:`close`.
    Naive ``start``/``end`` are taken as UTC; ``start=None`` means from the beginning of the
    data, ``end=None`` means now.
    """

    name = "polygon"
    description = "Polygon.io REST API: stock and option aggregates, option contract reference data."
    remote = True

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 30,
        client: httpx.Client | None = None,
        progress: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = get_settings()
        if api_key is None and settings.polygon_api_key is not None:
            api_key = settings.polygon_api_key.get_secret_value()
        if not api_key or not api_key.strip():
            raise ConfigError(
                "no Polygon API key: set SIGMA_POLYGON_API_KEY in the environment (or .env), "
                "or pass PolygonSource(api_key=...)"
            )
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if backoff < 0:
            raise ConfigError(f"backoff must be >= 0 seconds, got {backoff}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
        self._api_key = api_key.strip()
        base = httpx.URL((base_url or settings.polygon_base_url).rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ConfigError(f"Polygon base URL {str(base)!r} must be an absolute http(s) URL")
        self.base_url = str(base)
        self._origin = _origin(base)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.timeout = float(timeout)
        self.progress = progress
        self._sleep = sleep
        self._client = client
        self._owns_client = client is None

    def __repr__(self) -> str:
        return f"PolygonSource(base_url={self.base_url!r}, max_retries={self.max_retries})"

    def __enter__(self) -> PolygonSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe | str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Stock aggregates of ``symbol`` with ``start <= timestamp <= end`` (UTC), all pages."""
        ticker = str(symbol).strip().upper()
        if not ticker:
            raise ConfigError("a Polygon ticker is needed, got an empty symbol")
        return self._aggregates(ticker, timeframe, start, end)

    def fetch_option_bars(
        self,
        contract: str,
        timeframe: Timeframe | str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Aggregates of one option contract (OCC ticker such as ``O:SPY240701C00537000``)."""
        return self._aggregates(occ_ticker(contract), timeframe, start, end)

    def option_contracts(
        self,
        underlying: str,
        expiration_date: Any = None,
        as_of: Any = None,
        contract_type: str | None = None,
        strike_gte: float | None = None,
        strike_lte: float | None = None,
        *,
        expired: bool | None = None,
    ) -> pd.DataFrame:
        """Option contracts on ``underlying`` from ``/v3/reference/options/contracts``, all pages.

        As on Polygon, only contracts still listed on ``as_of`` (default today) are returned
        unless ``expired=True``. ``contract_type`` is ``"call"``/``"put"`` (or ``C``/``P``).
        Columns: ``contract underlying expiry right strike exercise_style
        shares_per_contract primary_exchange cfi``, sorted by expiry, right, strike.
        """
        root = str(underlying).strip().upper()
        if not root:
            raise ConfigError("an underlying ticker is needed, got an empty one")
        params: dict[str, str] = {"underlying_ticker": root, "limit": str(CONTRACTS_LIMIT)}
        expiry = _date_text(expiration_date, "expiration_date")
        if expiry:
            params["expiration_date"] = expiry
        day = _date_text(as_of, "as_of")
        if day:
            params["as_of"] = day
        if contract_type is not None:
            kind = {"c": "call", "call": "call", "p": "put", "put": "put"}.get(str(contract_type).lower())
            if kind is None:
                raise ConfigError(f"contract_type must be 'call' or 'put' (or C/P), got {contract_type!r}")
            params["contract_type"] = kind
        for key, bound in (("strike_price.gte", strike_gte), ("strike_price.lte", strike_lte)):
            if bound is not None:
                params[key] = repr(float(bound))
        if expired is not None:
            params["expired"] = "true" if expired else "false"
        rows = self._paginate("/v3/reference/options/contracts", params, desc=f"{root} option contracts")
        return _contracts_frame(rows, root)

    def _aggregates(self, ticker: str, timeframe: Timeframe | str, start: Any, end: Any) -> pd.DataFrame:
        tf = parse_timeframe(timeframe)
        multiplier, timespan = polygon_timespan(tf)
        lo = _utc(start, "start")
        hi = _utc(end, "end")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"start {lo} is after end {hi}")
        from_ms = _epoch_ms(lo) if lo is not None else 0
        to_ms = _epoch_ms(hi) if hi is not None else _epoch_ms(pd.Timestamp.now(tz="UTC"))
        path = f"/v2/aggs/ticker/{quote(ticker, safe=':.')}/range/{multiplier}/{timespan}/{from_ms}/{to_ms}"
        params = {"adjusted": "true", "sort": "asc", "limit": str(AGGS_LIMIT)}
        what = f"{ticker} {tf}"
        bars = bars_from_results(self._paginate(path, params, desc=what), what)
        if lo is not None or hi is not None:
            keep = np.ones(len(bars), dtype=bool)
            if lo is not None:
                keep &= bars.index >= lo
            if hi is not None:
                keep &= bars.index <= hi
            bars = bars.loc[keep]
        return bars

    def _paginate(self, path: str, params: dict[str, str], *, desc: str) -> list[dict[str, Any]]:
        """Every ``results`` row of a request and of the ``next_url`` pages after it."""
        url = httpx.URL(self.base_url + path).copy_merge_params(params)
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        with tqdm(desc=f"polygon {desc}", unit="page", disable=not self.progress, leave=False) as bar:
            while True:
                seen.add(str(url))
                payload = self._get_json(url)
                results = payload.get("results") or []
                if not isinstance(results, list):
                    raise DataSourceError(
                        f"Polygon {desc}: 'results' is a {type(results).__name__}, expected a list"
                    )
                rows.extend(results)
                bar.update(1)
                bar.set_postfix(rows=len(rows))
                next_url = payload.get("next_url")
                if not next_url:
                    return rows
                url = self._next(str(next_url), desc)
                if str(url) in seen:
                    raise DataSourceError(f"Polygon {desc}: pagination loops back to {_shown(url)}")

    def _next(self, next_url: str, desc: str) -> httpx.URL:
        url = httpx.URL(self.base_url).join(next_url)
        if _origin(url) != self._origin:
            raise DataSourceError(
                f"Polygon {desc}: next_url points at {url.scheme}://{url.host}, not the configured "
                f"{self.base_url}; refusing to send the API key there"
            )
        return url

    def _get_json(self, url: httpx.URL) -> dict[str, Any]:
        """GET ``url`` with the API key, retrying 429/5xx/transport errors with backoff."""
        shown = _shown(url)
        attempts = self.max_retries + 1
        last = ""
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._http.get(url.copy_set_param("apiKey", self._api_key))
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {self._redact(str(exc)) or 'no detail'}"
            else:
                status = response.status_code
                if status in (401, 403):
                    detail = self._redact(_error_message(response))
                    raise AuthError(
                        f"Polygon refused the API key (HTTP {status}: {detail}) for {shown}; "
                        "check SIGMA_POLYGON_API_KEY and that your plan covers this data"
                    )
                if status == 404:
                    raise NotFoundError(
                        f"Polygon has no such resource: {shown} (HTTP 404: "
                        f"{self._redact(_error_message(response))})"
                    )
                if status == 429 or status >= 500:
                    last = f"HTTP {status}: {self._redact(_error_message(response))}"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                elif status >= 400:
                    raise DataSourceError(
                        f"Polygon rejected {shown} (HTTP {status}: {self._redact(_error_message(response))})"
                    )
                else:
                    return self._decode(response, shown)
            if attempt + 1 < attempts:
                self._sleep(self._delay(attempt, retry_after))
        raise DataSourceError(
            f"Polygon request {shown} failed after {attempts} attempt(s); last error: {last}"
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return min(self.backoff * 2.0**attempt, MAX_BACKOFF) * random.uniform(0.5, 1.0)

    def _decode(self, response: httpx.Response, shown: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            raise DataSourceError(f"Polygon answered {shown} with something that is not JSON") from None
        if not isinstance(payload, dict):
            raise DataSourceError(
                f"Polygon answered {shown} with a JSON {type(payload).__name__}, not an object"
            )
        if str(payload.get("status", "")).upper() == "ERROR":
            message = payload.get("error") or payload.get("message") or "no detail"
            raise DataSourceError(f"Polygon reported an error for {shown}: {self._redact(str(message))}")
        return payload

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _shown(url: httpx.URL) -> str:
    """The URL's path and query without the API key, fit for error messages."""
    params = [(k, v) for k, v in url.params.multi_items() if k != "apiKey"]
    query = "&".join(f"{k}={v}" for k, v in params)
    return url.path + (f"?{query}" if query else "")


def _contracts_frame(rows: Iterable[dict[str, Any]], underlying: str) -> pd.DataFrame:
    records = []
    for i, row in enumerate(rows):
        name = row.get("ticker") if isinstance(row, dict) else None
        where = f"contract {name}" if name else f"result row {i}"
        if not isinstance(row, dict):
            raise DataSourceError(f"Polygon {underlying} option contracts: {where} is not an object")
        missing = [
            f
            for f in ("ticker", "underlying_ticker", "expiration_date", "contract_type", "strike_price")
            if row.get(f) is None
        ]
        if missing:
            raise DataSourceError(f"Polygon {underlying} option contracts: {where} lacks {missing}")
        right = {"call": "C", "put": "P"}.get(str(row["contract_type"]).lower())
        if right is None:
            raise DataSourceError(
                f"Polygon {underlying} option contracts: {where} has contract_type "
                f"{row['contract_type']!r}, expected call or put"
            )
        try:
            expiry = dt.date.fromisoformat(str(row["expiration_date"]))
            strike = float(row["strike_price"])
        except (TypeError, ValueError) as exc:
            raise DataSourceError(
                f"Polygon {underlying} option contracts: {where} is malformed ({exc})"
            ) from None
        records.append(
            {
                "contract": str(row["ticker"]),
                "underlying": str(row["underlying_ticker"]),
                "expiry": expiry,
                "right": right,
                "strike": strike,
                "exercise_style": row.get("exercise_style"),
                "shares_per_contract": row.get("shares_per_contract"),
                "primary_exchange": row.get("primary_exchange"),
                "cfi": row.get("cfi"),
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(CONTRACT_COLUMNS))
    frame["strike"] = frame["strike"].astype("float64")
    frame = frame.sort_values(["expiry", "right", "strike", "contract"], kind="stable")
    return frame.reset_index(drop=True)
