"""Job functions the tests run in worker processes (importable as ``job_helpers:...``), and a poller."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any


def sleepy(job_id: int | None, seconds: float = 60.0) -> dict[str, Any]:
    """Sleep, so a test can cancel or kill the job while it runs."""
    time.sleep(seconds)
    return {"slept": seconds}


def boom(job_id: int | None) -> dict[str, Any]:
    """Fail with a recognisable error."""
    raise ValueError("boom from a job function")


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; fail (AssertionError) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.1)


REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']?https?:")


def html_outputs(path: str) -> str:
    """The HTML outputs of an executed notebook, joined."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return "\n".join(
        out.get("data", {}).get("text/html", "") for cell in nb.cells for out in cell.get("outputs", [])
    )
