"""Fixtures of the signal tests: a fast AAPL daily model stored over the model store and trained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from signal_helpers import make_fast_model


@pytest.fixture
def fast_model(workspace: Path) -> Iterator[str]:
    """The trained fast model in an embedded workspace."""
    yield make_fast_model()
