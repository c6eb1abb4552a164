#!/usr/bin/env python3
"""kiln.aio: submits two jobs at once, follows both until they are final, then prints a log line.

    export KILN_TOKEN_FILE=kiln-data/admin.token     # and KILN_ADDR=host:port if not 127.0.0.1:7077
    python3 clients/python/examples/aio_jobs.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import kiln  # noqa: E402


async def follow(client: kiln.aio.Client, job_id: str) -> None:
    async for event in client.watch_job(job_id):  # ends by itself once the job is final
        job = event.job or next(iter(event.jobs), None)  # heartbeats carry no job
        if job is not None:
            step = next((s.name for s in job.steps if s.status is kiln.JobStatus.RUNNING), "")
            print(f"{job.id[:8]}  {event.kind:<8}  r{event.revision:<3} {job.status:<8} {step}")


async def main() -> None:
    async with kiln.aio.Client(kiln.Config.from_env()) as client:
        try:
            await client.create_project("demo")
            await client.create_subject("orders", "demo", kind="table")
        except kiln.KilnError as error:
            if error.code is not kiln.Code.ALREADY_EXISTS:
                raise
        jobs = await asyncio.gather(
            *(client.submit_job("demo", "TABLE_SAMPLING", "orders", {"sleep_ms": "200"}) for _ in range(2))
        )
        await asyncio.gather(*(follow(client, job.id) for job in jobs))
        log = b"".join([chunk async for chunk in client.follow_step_log(jobs[0].id, 0)])
        print(log.decode().splitlines()[-1])


if __name__ == "__main__":
    asyncio.run(main())
