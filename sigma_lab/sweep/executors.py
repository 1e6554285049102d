"""Where chunks of configurations run: in this process, or on a Dask distributed cluster.

``get_executor()`` picks Dask when ``SIGMA_DASK_SCHEDULER`` is set (or a ``distributed.Client`` /
scheduler address is passed) and the local executor otherwise. Both yield ``(chunk, metrics)``
pairs as chunks finish; results never depend on the executor or the chunk size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError
from sigma_lab.sweep.evaluate import SweepContext, evaluate_chunk


class Executor(Protocol):
    """Runs chunks of configurations and yields ``(chunk number, metric rows)`` as they finish."""

    name: str

    def map_chunks(
        self, ctx: SweepContext, chunks: Sequence[tuple[int, pd.DataFrame]]
    ) -> Iterator[tuple[int, np.ndarray]]: ...


class LocalExecutor:
    """Chunks one after another in this process; each kernel call is parallel over the cores."""

    name = "local"

    def map_chunks(
        self, ctx: SweepContext, chunks: Sequence[tuple[int, pd.DataFrame]]
    ) -> Iterator[tuple[int, np.ndarray]]:
        for number, frame in chunks:
            yield number, evaluate_chunk(ctx, frame)


class DaskExecutor:
    """Chunks sent to the workers of a Dask distributed cluster (bars scattered once)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.name = f"dask:{client.scheduler.address}"

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        """A Dask executor on the scheduler at ``address`` (``tcp://host:port``)."""
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(
                "SIGMA_DASK_SCHEDULER is set but the 'distributed' package is missing"
            ) from None
        try:
            return cls(Client(address, timeout=10))
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None

    def map_chunks(
        self, ctx: SweepContext, chunks: Sequence[tuple[int, pd.DataFrame]]
    ) -> Iterator[tuple[int, np.ndarray]]:
        from distributed import as_completed

        remote_ctx = self.client.scatter(ctx, broadcast=True)
        futures = {
            self.client.submit(evaluate_chunk, remote_ctx, frame, pure=False): number
            for number, frame in chunks
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def get_executor(executor: Any = None) -> Executor:
    """The executor to use: the one given (an executor, a ``distributed.Client`` or a scheduler
    address), else Dask at ``SIGMA_DASK_SCHEDULER``, else local."""
    if executor is None:
        address = get_settings().dask_scheduler
        return DaskExecutor.connect(address) if address else LocalExecutor()
    if isinstance(executor, str):
        return LocalExecutor() if executor == "local" else DaskExecutor.connect(executor)
    if hasattr(executor, "map_chunks"):
        return executor
    if hasattr(executor, "submit") and hasattr(executor, "scatter"):
        return DaskExecutor(executor)
    raise ConfigError(
        f"executor must be 'local', a scheduler address, a distributed.Client or an executor; "
        f"got {type(executor).__name__}"
    )
