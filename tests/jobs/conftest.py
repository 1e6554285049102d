"""Fixtures for job tests: a workspace whose worker processes find the test helpers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

HERE = Path(__file__).resolve().parent


@pytest.fixture
def jobs_env(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace, one OpenMP thread per worker, and ``job_helpers`` importable by workers."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    return workspace


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write a notebook with a ``parameters`` cell and the given code cells; return its path."""

    def make(name: str, *cells: str, parameters: str = "job_id = None") -> Path:
        first = new_code_cell(parameters)
        first.metadata["tags"] = ["parameters"]
        nb = new_notebook(cells=[first, *(new_code_cell(c) for c in cells)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        return path

    return make
