#!/usr/bin/env python3
"""Prints every change to Kiln's jobs as it happens, until Ctrl-C.

    export KILN_TOKEN_FILE=kiln-data/admin.token     # and KILN_ADDR=host:port if not 127.0.0.1:7077
    python3 clients/python/examples/watch.py [PROJECT ...]

The watch survives disconnects and restarts of the server: it resumes after the last
revision it printed, so no change is lost or repeated.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import kiln  # noqa: E402


def describe(job: kiln.Job) -> str:
    step = next((s.name for s in job.steps if s.status is kiln.JobStatus.RUNNING), "")
    return f"{job.id[:8]}  {job.project:<12} {job.job_type:<14} {job.status.value:<9} {job.progress:>3}%  {step}"


def main(projects: list[str]) -> int:
    try:
        config = kiln.Config.from_env()
    except kiln.KilnError as error:
        print(f"kiln: {error.message}", file=sys.stderr)
        return 64
    with kiln.Client(config) as client:
        try:
            for event in client.watch_jobs(kiln.JobFilter(projects=projects), include_progress=True):
                if event.kind in (kiln.WatchEventKind.SNAPSHOT, kiln.WatchEventKind.RESYNCHRONIZED):
                    print(f"-- {event.kind}: {len(event.jobs)} job(s) at revision {event.revision}")
                    for job in event.jobs:
                        print(f"{event.revision:>8}  {describe(job)}")
                elif event.job is not None:
                    print(f"{event.revision:>8}  {describe(event.job)}  [{event.kind}]", flush=True)
        except kiln.KilnError as error:
            print(f"kiln: {error}", file=sys.stderr)
            return 77 if error.code in (kiln.Code.UNAUTHENTICATED, kiln.Code.PERMISSION_DENIED) else 1
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
