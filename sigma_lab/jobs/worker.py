"""The worker process: ``python -m sigma_lab.jobs.worker JOB_ID`` runs one job and exits."""

from __future__ import annotations

import sys

from sigma_lab.jobs.runner import execute_job


def main(argv: list[str] | None = None) -> int:
    """Run the job named on the command line; exit code 0 once its outcome is recorded."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m sigma_lab.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    execute_job(int(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
