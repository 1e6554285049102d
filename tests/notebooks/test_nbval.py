"""nbval over every notebook with its default (small) parameters, in a throw-away workspace.

The same check by hand: ``SIGMA_WORKSPACE=$(mktemp -d) pytest --nbval-lax notebooks/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.slow
def test_every_notebook_runs_top_to_bottom_under_nbval(tmp_path):
    stems = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert stems >= {"backtest", "build", "report", "tour", "train"}
    env = {**os.environ, "SIGMA_WORKSPACE": str(tmp_path), "OMP_NUM_THREADS": "1"}
    for var in ("SIGMA_DATABASE_URL", "SIGMA_REDIS_URL", "SIGMA_DASK_SCHEDULER"):
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(NOTEBOOKS)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
