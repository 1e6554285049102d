"""The domain errors of Sigma Lab: one base class, a few precise kinds.

Every error says what went wrong and where (a row, a file and key path, a setting), so a
user never has to read a traceback from deep inside pandas.
"""

from __future__ import annotations


class SigmaError(Exception):
    """Base class of every error Sigma Lab raises on purpose."""


class ConfigError(SigmaError, ValueError):
    """A setting, parameter or configuration file is invalid."""


class BarValidationError(SigmaError, ValueError):
    """Bars break the bar-frame contract; the message names the row and the problem."""

    def __init__(self, problem: str, row: object | None = None) -> None:
        self.problem = problem
        self.row = row
        where = f" at row {row}" if row is not None else ""
        super().__init__(f"invalid bars{where}: {problem}")


class DataSourceError(SigmaError):
    """A data source could not deliver bars (unknown symbol, missing data, remote failure)."""


class AuthError(DataSourceError):
    """A remote data source refused our credentials."""


class NotFoundError(SigmaError, LookupError):
    """A named thing (symbol, model, run, pack) does not exist."""


class StoreError(SigmaError):
    """The store could not complete an operation; nothing was half-written."""
