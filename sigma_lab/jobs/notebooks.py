"""Running one notebook with Papermill: an explicit kernel, timeouts, and every failure classified.

:func:`run_notebook` either returns the executed notebook's path or raises
:class:`NotebookFailed`, which says what kind of failure it was (``cell_error``,
``cell_timeout``, ``dead_kernel``, ``missing_kernel``, ``start_timeout``), in which cell
(its index in the output notebook, which holds Papermill's injected-parameters cell) and
with which error. The output notebook is written as cells finish, so it shows the failure.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigma_lab.errors import ConfigError, NotFoundError, SigmaError

KERNEL_NAME = "python3"
EXECUTION_TIMEOUT = 600
START_TIMEOUT = 60
SOURCE_EXCERPT = 500


class NotebookFailed(SigmaError):
    """A notebook run failed; ``kind``, ``cell_index``, ``source``, ``ename`` and ``evalue`` say how."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        cell_index: int | None = None,
        source: str | None = None,
        ename: str | None = None,
        evalue: str | None = None,
    ) -> None:
        self.kind = kind
        self.cell_index = cell_index
        self.source = source
        self.ename = ename
        self.evalue = evalue
        where = f" in cell {cell_index}" if cell_index is not None else ""
        super().__init__(f"{kind}{where}: {message}")

    def details(self) -> dict[str, Any]:
        """The failure as a JSON-able dict (stored in the job's ``result``)."""
        return {
            "kind": self.kind,
            "cell_index": self.cell_index,
            "source": self.source,
            "ename": self.ename,
            "evalue": self.evalue,
        }


def notebooks_dir() -> Path:
    """The project's ``notebooks/`` folder."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def resolve_notebook(target: str | Path) -> Path:
    """A notebook path: an existing ``.ipynb`` path, or a name under ``notebooks/`` (``.ipynb`` optional)."""
    path = Path(target)
    candidates = [path] if path.is_absolute() else [path, notebooks_dir() / path]
    for candidate in candidates:
        for option in (candidate, candidate.with_name(candidate.name + ".ipynb")):
            if option.suffix == ".ipynb" and option.is_file():
                return option.resolve()
    names = sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))
    raise NotFoundError(f"notebook {str(target)!r} not found; the notebooks under notebooks/ are {names}")


def ensure_kernelspec(name: str = KERNEL_NAME) -> str:
    """Make sure the ``python3`` kernel exists (installing ipykernel's spec into ``sys.prefix`` if missing).

    Other names are returned as they are: a missing one fails the run as ``missing_kernel``.

    The ``python3`` spec launches ``python``, which jupyter_client replaces with
    ``sys.executable``: the kernel runs this very interpreter and its packages.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    if name != KERNEL_NAME:
        return name
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=name, prefix=sys.prefix)
    return name


def _error_cell(output: Path, fallback: int) -> int:
    """The index in the saved output of the cell with an error (Papermill adds a banner cell on top)."""
    import nbformat

    nb = nbformat.read(output, as_version=4)
    for index, cell in enumerate(nb.cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index
    return fallback


def _started_cell(output: Path) -> tuple[int | None, str | None]:
    """The last cell Papermill started in the saved output (the one running when the run stopped)."""
    import nbformat

    if not output.is_file():
        return None, None
    nb = nbformat.read(output, as_version=4)
    last = None
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            last = index
    if last is None:
        return None, None
    return last, nb.cells[last].source[:SOURCE_EXCERPT]


def run_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str = KERNEL_NAME,
    execution_timeout: int = EXECUTION_TIMEOUT,
    start_timeout: int = START_TIMEOUT,
    cwd: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` with Papermill into ``output``, injecting ``parameters``.

    Raises :class:`NotebookFailed` for any failure of the run, classified by kind.
    """
    import papermill as pm
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    source = resolve_notebook(notebook)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if execution_timeout <= 0 or start_timeout <= 0:
        raise ConfigError(
            f"execution_timeout ({execution_timeout}) and start_timeout ({start_timeout}) must be positive"
        )
    try:
        pm.execute_notebook(
            str(source),
            str(out),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            execution_timeout=execution_timeout,
            start_timeout=start_timeout,
            progress_bar=False,
            cwd=str(cwd or source.parent),
        )
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(
            "cell_error",
            f"{exc.ename}: {exc.evalue}",
            cell_index=_error_cell(out, exc.cell_index),
            source=(exc.source or "")[:SOURCE_EXCERPT],
            ename=exc.ename,
            evalue=exc.evalue,
        ) from None
    except CellTimeoutError as exc:
        index, cell = _started_cell(out)
        raise NotebookFailed(
            "cell_timeout",
            f"a cell ran longer than execution_timeout={execution_timeout}s",
            cell_index=index,
            source=cell,
            ename=type(exc).__name__,
            evalue=str(exc)[:SOURCE_EXCERPT],
        ) from None
    except DeadKernelError as exc:
        index, cell = _started_cell(out)
        raise NotebookFailed(
            "dead_kernel",
            f"the kernel died ({exc})",
            cell_index=index,
            source=cell,
            ename=type(exc).__name__,
            evalue=str(exc),
        ) from None
    except NoSuchKernel as exc:
        raise NotebookFailed(
            "missing_kernel",
            f"no kernel named {kernel_name!r} is installed",
            ename=type(exc).__name__,
            evalue=str(exc),
        ) from None
    except RuntimeError as exc:
        if "didn't respond" not in str(exc):
            raise
        raise NotebookFailed(
            "start_timeout",
            f"the kernel did not start within start_timeout={start_timeout}s",
            ename=type(exc).__name__,
            evalue=str(exc),
        ) from None
    return out
