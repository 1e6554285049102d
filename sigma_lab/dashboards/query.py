"""The dashboard URL's query string (``...?run_id=12``) as typed values.

Voila hands the query string to the kernel in the ``QUERY_STRING`` environment variable. With
pre-heated kernels the notebook starts running before anyone asks for the page, so
:func:`query_params` first waits for the request (``voila.utils.wait_for_request``); everything a
notebook runs before calling it is done ahead of time, while the kernel waits in the pool.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qs

from sigma_lab.errors import ConfigError


def parse_query(query: str | None) -> dict[str, str]:
    """``"run_id=3&metric=sharpe"`` as ``{"run_id": "3", "metric": "sharpe"}`` (last value wins)."""
    parsed = parse_qs((query or "").lstrip("?"), keep_blank_values=False)
    return {key: values[-1].strip() for key, values in parsed.items()}


def query_params() -> dict[str, str]:
    """The query string of the page being rendered, waiting for the request under pre-heating."""
    try:
        from voila.utils import wait_for_request
    except ImportError:
        wait_for_request = None
    if wait_for_request is not None and os.environ.get("VOILA_PREHEAT", "False") != "False":
        wait_for_request()
    return parse_query(os.environ.get("QUERY_STRING"))


def int_param(params: Mapping[str, str], name: str) -> int | None:
    """The integer query parameter ``name`` (``None`` when absent); a non-integer is a ConfigError."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"query parameter {name}={raw!r} is not an integer id") from exc
