"""Jobs: submitting pipeline work (202 with the job), listing, reading and cancelling jobs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query

from api.deps import Id, PageParams, Researcher, Viewer, WorkDep, next_cursor
from api.schemas import BacktestRequest, JobOut, Page
from sigma_lab import auth
from sigma_lab.errors import NotFoundError
from sigma_lab.store import Job, repo
from sigma_lab.store.models import JOB_STATUSES

router = APIRouter(tags=["jobs"])
JobStatus = Literal[JOB_STATUSES]


def _jobs_module() -> Any:
    from sigma_lab import jobs

    return jobs


def submit_job(work: WorkDep, key: auth.KeyInfo, target: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check the key's job quotas, submit ``target`` as a function job owned by the key, return the job."""
    auth.check_job_quota(work.session, key, target)
    work.session.commit()
    job_id = _jobs_module().submit(target, params, kind="function")
    work.session.execute(sa.update(Job).where(Job.id == job_id).values(api_key_id=key.id))
    work.touch("job", job_id)
    return repo.get_job(work.session, job_id)


def _owned(job: dict[str, Any], key: auth.KeyInfo) -> dict[str, Any]:
    if not key.allows("admin") and job["api_key_id"] not in (None, key.id):
        raise NotFoundError(f"job {job['id']} does not exist")
    return job


@router.post("/backtests", status_code=202, response_model=JobOut)
def start_backtest(body: BacktestRequest, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Backtest a rule strategy on a symbol's bars as a job; poll ``GET /jobs/{id}``."""
    return submit_job(work, key, "backtest", body.model_dump(mode="json", exclude_none=True))


@router.get("/jobs", response_model=Page[JobOut])
def list_jobs(
    work: WorkDep,
    key: Viewer,
    page: PageParams,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
) -> dict[str, Any]:
    """Jobs, newest first (a non-admin key sees its own)."""
    query = sa.select(Job).order_by(Job.id.desc()).limit(page.limit)
    if status is not None:
        query = query.where(Job.status == status)
    if page.before is not None:
        query = query.where(Job.id < page.before)
    if not key.allows("admin"):
        query = query.where(Job.api_key_id == key.id)
    items = [repo.to_dict(j) for j in work.session.scalars(query)]
    return {"items": items, "next_before": next_cursor(items, page)}


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: Id, work: WorkDep, key: Viewer) -> dict[str, Any]:
    """One job: status, progress, result or error."""
    return _owned(repo.get_job(work.session, job_id), key)


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=JobOut)
def cancel_job(job_id: Id, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next checkpoint."""
    _owned(repo.get_job(work.session, job_id), key)
    work.touch("job", job_id)
    work.session.commit()
    _jobs_module().cancel(job_id)
    return repo.get_job(work.session, job_id)
