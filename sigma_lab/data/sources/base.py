"""What every bar source is: a name, and ``fetch`` returning a valid bar frame."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from sigma_lab.data.timeframes import Timeframe


class BarSource(ABC):
    """A source of bars. ``fetch`` returns bars in the bar contract (see ``sigma_lab.data.bars``)."""

    name: str = ""
    description: str = ""
    #: True when bars come from a remote service and are worth caching in the local Parquet store.
    remote: bool = False

    @abstractmethod
    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``symbol`` at ``timeframe`` with ``start <= timestamp <= end`` (UTC)."""

    def symbols(self) -> list[str]:
        """Symbols this source can list without a network call (may be empty)."""
        return []
