"""Sigma Lab: from raw bars to a trustworthy, reproducible leaderboard and live signals."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sigma-lab")
except PackageNotFoundError:
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
