"""Job records and runners: submit a notebook or a core function, watch it, cancel it, recover it.

Every job is a row in the store's ``jobs`` table. Execution never blocks the caller: by
default each job runs in its own worker process (``python -m sigma_lab.jobs.worker JOB_ID``,
started in a new session so the process group can be stopped as a whole); with
``SIGMA_DASK_SCHEDULER`` set, a Dask task on the cluster starts that same worker and
supervises it. The worker records ``host:pid:start-time`` on the row, so :func:`recover` can
tell a crashed job (its process gone) from a live one, and :func:`cancel` can stop it.
Executed notebooks are kept under ``<workspace>/jobs/<job_id>/``.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sigma_lab.config import get_settings
from sigma_lab.errors import ConfigError, NotFoundError, SigmaError
from sigma_lab.jobs.notebooks import (
    EXECUTION_TIMEOUT,
    KERNEL_NAME,
    START_TIMEOUT,
    NotebookFailed,
    ensure_kernelspec,
    resolve_notebook,
    run_notebook,
)
from sigma_lab.jobs.stages import FUNCTIONS, PipelineStopped, Stage, get_function

KINDS: tuple[str, ...] = ("notebook", "function")
ACTIVE: tuple[str, ...] = ("queued", "running")
TERMINAL: tuple[str, ...] = ("succeeded", "failed", "cancelled")
CANCEL_GRACE = 5.0
POLL_SECONDS = 0.2
ERROR_CHARS = 2000

_processes: dict[int, subprocess.Popen[bytes]] = {}
_clients: dict[str, Any] = {}
_lock = threading.Lock()


class JobTimeout(SigmaError, TimeoutError):
    """A job did not finish within the time :func:`wait` was given."""


class _Cancelled(BaseException):
    """Raised inside a worker when it is asked to stop (SIGTERM)."""


# --- where things live ------------------------------------------------------------------------


def job_dir(job_id: int) -> Path:
    """``<workspace>/jobs/<job_id>/``: the job's executed notebook and worker log."""
    return get_settings().workspace_path / "jobs" / str(job_id)


def _worker_env() -> dict[str, str]:
    """The settings a worker needs to reach the same workspace and store as this process."""
    settings = get_settings()
    return {"SIGMA_WORKSPACE": str(settings.workspace_path), "SIGMA_DATABASE_URL": settings.database}


def _identity(pid: int | None = None) -> str:
    import psutil

    process = psutil.Process(pid or os.getpid())
    return f"{socket.gethostname()}:{process.pid}:{process.create_time():.3f}"


def _worker_state(worker: str | None) -> tuple[bool, str]:
    """Whether the worker named ``host:pid:start`` is alive (``True`` when it is on another host)."""
    import psutil

    if not worker:
        return True, "no worker yet"
    host, pid_text, started = worker.rsplit(":", 2)
    if host != socket.gethostname():
        return True, f"worker on {host}"
    pid = int(pid_text)
    try:
        process = psutil.Process(pid)
        alive = f"{process.create_time():.3f}" == started and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    return alive, f"worker process {pid} on {host}"


# --- reading ----------------------------------------------------------------------------------


def _reap() -> None:
    with _lock:
        for job_id, process in list(_processes.items()):
            if process.poll() is not None:
                del _processes[job_id]


def get(job_id: int) -> dict[str, Any]:
    """The job as a dict (status, timings, params, output_path, error, failing_cell, result...)."""
    from sigma_lab.store import repo, session_scope

    _reap()
    with session_scope() as session:
        return repo.get_job(session, job_id)


def list_jobs(status: str | None = None, limit: int = 50, *, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest jobs first, optionally only those with ``status`` and/or ``kind``."""
    from sigma_lab.store import Job, session_scope
    from sigma_lab.store.models import JOB_STATUSES
    from sigma_lab.store.repo import to_dict

    if status is not None and status not in JOB_STATUSES:
        raise ConfigError(f"job status {status!r} is not one of {list(JOB_STATUSES)}")
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    _reap()
    query = sa.select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    with session_scope() as session:
        return [to_dict(job) for job in session.scalars(query)]


# --- state changes ----------------------------------------------------------------------------


def _finish(job_id: int, status: str, *, url: str | None = None, result: Mapping[str, Any] | None = None,
            **fields: Any) -> bool:
    """Move an active job to a final ``status``, merging ``result`` into its result, and queue its
    webhook events (:mod:`sigma_lab.jobs.outcome`) in the same transaction.

    The row is locked first (``FOR UPDATE``; on SQLite the write lock up front), so of two
    processes finishing one job only the first changes it: an event is never lost or sent twice.
    Returns ``False`` (and changes nothing) when the job had already finished.
    """
    from sigma_lab.jobs.outcome import publish_outcome
    from sigma_lab.store import Job, repo, session_scope
    from sigma_lab.store.engine import IMMEDIATE
    from sigma_lab.store.types import to_jsonable

    with session_scope(url) as session:
        session.connection(execution_options={IMMEDIATE: True})
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status in TERMINAL:
            return False
        if result is not None:
            fields["result"] = to_jsonable({**(job.result or {}), **dict(result)})
        repo.update_job_status(session, job_id, status, **fields)
        publish_outcome(session, job)
    return True


def resolve_function(target: str) -> Stage:
    """A registered function name, or ``package.module:function`` for any importable function."""
    if target in FUNCTIONS or ":" not in target:
        return get_function(target)
    module_name, _, attr = target.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(f"job function {target!r} cannot be imported: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"job function {target!r} is not callable")
    return fn


def submit(
    target: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    kind: str = "notebook",
    wait: bool = False,
    timeout: float | None = None,
    kernel_name: str = KERNEL_NAME,
    execution_timeout: int = EXECUTION_TIMEOUT,
    start_timeout: int = START_TIMEOUT,
    parent_id: int | None = None,
) -> int:
    """Queue ``target`` (a notebook under ``notebooks/`` or a job function) and start it in the background.

    ``kind`` is ``"notebook"`` (a name under ``notebooks/`` or a path) or ``"function"`` (a
    registered name such as ``"pipeline"``, or ``package.module:function``). Notebook
    jobs get ``job_id`` injected as a parameter. With ``wait`` the call returns once the job has
    finished (or raises :class:`JobTimeout` after ``timeout`` seconds). Returns the job id.
    """
    from sigma_lab.store import Job, repo, session_scope
    from sigma_lab.store.types import to_jsonable

    text = str(target)
    if kind not in KINDS:
        raise ConfigError(f"job kind {kind!r} is not one of {list(KINDS)}")
    if kind == "notebook":
        path = resolve_notebook(text)
        text = str(path)
        options = {"kernel_name": kernel_name, "execution_timeout": execution_timeout,
                   "start_timeout": start_timeout}
    else:
        resolve_function(text)
        options = {}
    settings = get_settings()
    executor = f"dask:{settings.dask_scheduler}" if settings.dask_scheduler else "local"
    with session_scope() as session:
        job_id = repo.create_job(
            session, kind, text, to_jsonable(dict(params or {})),
            executor=executor, parent_id=parent_id, result={"options": options},
        )
        if kind == "notebook":
            job = session.get(Job, job_id)
            job.output_path = str(job_dir(job_id) / Path(text).name)
    job_dir(job_id).mkdir(parents=True, exist_ok=True)
    try:
        if settings.dask_scheduler:
            _submit_dask(settings.dask_scheduler, job_id)
        else:
            _start_local(job_id)
    except Exception as exc:
        _finish(job_id, "failed", error=f"could not start the job ({executor}): {type(exc).__name__}: {exc}")
        raise
    if wait:
        _wait_for(job_id, timeout)
    return job_id


def _spawn_worker(job_id: int, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    log = Path(env["SIGMA_WORKSPACE"]) / "jobs" / str(job_id)
    log.mkdir(parents=True, exist_ok=True)
    with (log / "worker.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sigma_lab.jobs.worker", str(job_id)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _start_local(job_id: int) -> None:
    from sigma_lab.store import Job, session_scope

    process = _spawn_worker(job_id, _worker_env())
    with _lock:
        _processes[job_id] = process
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is not None and job.worker is None and job.status == "queued":
            job.worker = _identity(process.pid)


def _dask_client(address: str) -> Any:
    from distributed import Client

    with _lock:
        client = _clients.get(address)
        if client is None or client.status in ("closed", "closing"):
            client = Client(address, set_as_default=False)
            _clients[address] = client
    return client


def _submit_dask(address: str, job_id: int) -> None:
    from distributed import fire_and_forget

    client = _dask_client(address)
    future = client.submit(supervise, job_id, _worker_env(), key=f"sigma-job-{job_id}", pure=False)
    fire_and_forget(future)


def supervise(job_id: int, env: Mapping[str, str]) -> str:
    """Run one job in a worker process on this machine and watch it (the task a Dask worker runs).

    Stops the worker when the job is cancelled; marks the job failed if the worker dies
    without finishing it. Returns the job's final status.
    """
    from sigma_lab.store import Job, session_scope

    url = env["SIGMA_DATABASE_URL"]
    process = _spawn_worker(job_id, env)
    while process.poll() is None:
        time.sleep(POLL_SECONDS * 2)
        with session_scope(url) as session:
            job = session.get(Job, job_id)
            cancelled = job is None or job.cancel_requested
        if cancelled:
            _stop_group(process.pid, CANCEL_GRACE)
            process.wait()
    error = f"worker process {process.pid} exited with code {process.returncode} before finishing the job"
    _finish(job_id, "failed", url=url, error=error)
    with session_scope(url) as session:
        return session.get(Job, job_id).status


def _gone(pid: int) -> bool:
    import psutil

    _reap()
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _stop_group(pid: int, grace: float) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it if it is still there after ``grace``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.05)


def cancel(job_id: int, *, grace: float = CANCEL_GRACE) -> dict[str, Any]:
    """Cancel a queued or running job: mark it cancelled and stop its worker's process group.

    A job that already finished is returned unchanged. Returns the job as a dict.
    """
    from sigma_lab.store import Job, session_scope

    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        if job.status in TERMINAL:
            return get(job_id)
        job.cancel_requested = True
    _finish(job_id, "cancelled", error="cancelled by request")
    worker = get(job_id)["worker"]
    if worker:
        host, pid, _ = worker.rsplit(":", 2)
        alive, _ = _worker_state(worker)
        if host == socket.gethostname() and alive:
            _stop_group(int(pid), grace)
    _reap()
    return get(job_id)


def wait(job_id: int, timeout: float | None = None) -> dict[str, Any]:
    """Block until the job is finished and return it; :class:`JobTimeout` after ``timeout`` seconds.

    A job whose local worker died without finishing is marked failed instead of waited on forever.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = get(job_id)
        if job["status"] in TERMINAL:
            return job
        alive, who = _worker_state(job["worker"])
        if not alive:
            _mark_crashed(job_id, who)
            continue
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout(f"job {job_id} ({job['target']}) is still {job['status']} after {timeout}s")
        time.sleep(POLL_SECONDS)


_wait_for = wait


def _mark_crashed(job_id: int, who: str) -> bool:
    return _finish(job_id, "failed", error=f"{who} is gone (crashed or killed) before the job finished")


def recover() -> list[int]:
    """Mark failed the active jobs whose worker process on this host is gone; return their ids.

    Called at start-up of the job runner, the CLI and the API: a job left ``running`` by a
    crash would otherwise stay running forever.
    """
    from sigma_lab.store import Job, session_scope

    _reap()
    with session_scope() as session:
        rows = session.execute(
            sa.select(Job.id, Job.worker).where(Job.status.in_(ACTIVE), Job.worker.is_not(None))
        ).all()
    recovered = []
    for job_id, worker in rows:
        alive, who = _worker_state(worker)
        if not alive and _mark_crashed(job_id, who):
            recovered.append(job_id)
    return recovered


# --- the worker side --------------------------------------------------------------------------


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Cancelled


def execute_job(job_id: int) -> str:
    """Run job ``job_id`` in this process and record its outcome; return its final status.

    This is what a worker process runs. A job that is no longer queued (cancelled, or taken
    by another worker) is left alone.
    """
    from sigma_lab.store import Job, repo, session_scope

    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        if job.status != "queued" or job.cancel_requested:
            return job.status
        repo.update_job_status(session, job_id, "running", worker=_identity())
        kind, target, params = job.kind, job.target, dict(job.params or {})
        options = dict((job.result or {}).get("options") or {})
        output = job.output_path
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if kind == "notebook":
            ensure_kernelspec(options.get("kernel_name", KERNEL_NAME))
            run_notebook(target, output, {**params, "job_id": job_id}, **options)
            _finish(job_id, "succeeded", progress=1.0, result={"output_path": output})
        else:
            value = resolve_function(target)(job_id, **params)
            _finish(job_id, "succeeded", progress=1.0, result={"value": value})
    except _Cancelled:
        _finish(job_id, "cancelled", error="cancelled by request")
    except NotebookFailed as exc:
        _finish(
            job_id, "failed", error=str(exc), failing_cell=exc.cell_index, result={"failure": exc.details()}
        )
    except PipelineStopped as exc:
        _finish(job_id, "failed", error=str(exc),
                result={"value": exc.result, "stopped_at": exc.stage, "reason": exc.reason})
    except Exception as exc:  # noqa: BLE001 - any failure of the job is recorded on its row
        _finish(
            job_id,
            "failed",
            error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS],
            result={"failure": {"kind": "exception", "traceback": traceback.format_exc()[-4000:]}},
        )
    with session_scope() as session:
        return session.get(Job, job_id).status
