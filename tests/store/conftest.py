"""Store tests start and end with no cached engines or schema checks (databases are recreated per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sigma_lab.store as store


@pytest.fixture(autouse=True)
def _fresh_store_caches() -> Iterator[None]:
    store.reset()
    yield
    store.reset()
