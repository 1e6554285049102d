"""Job functions the tests run in worker processes (importable as ``job_helpers:...``)."""

from __future__ import annotations

import time
from typing import Any


def sleepy(job_id: int | None, seconds: float = 60.0) -> dict[str, Any]:
    """Sleep, so a test can cancel or kill the job while it runs."""
    time.sleep(seconds)
    return {"slept": seconds}


def boom(job_id: int | None) -> dict[str, Any]:
    """Fail with a recognisable error."""
    raise ValueError("boom from a job function")
