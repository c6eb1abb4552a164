#!/usr/bin/env python3
"""ListJobs and cold start on a large store (issue #12, items 3 and 6).

Starts a real kilnd (release unless $KILND says otherwise) on a fresh data directory,
creates 100 projects, stops it, writes N jobs straight into its SQLite file (one SQL
statement: copies of a real job's stored row, spread over the projects, statuses and
twenty days of create times, inside the default retention), then measures:

- cold start: time from exec to the first answered health check, and RSS then;
- ListJobs over gRPC (the generated Python stub, one call in flight): the first page of 50 and
  a page 10,000 jobs deep (reached by page token), without a filter and with a
  project + status filter, p50/p99 over repeated calls; `total_size` is part of every
  answer, so its cost is in these figures.

    python3 Benchmarks/large_store.py --jobs 1000000          # ≈2 min to seed on 2 cores
    KILND=.build/debug/kilnd python3 Benchmarks/large_store.py --jobs 100000

Prints a table and writes JSON with --json FILE.
"""
from __future__ import annotations

import argparse
import json
import os
import importlib.util
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "clients" / "python"))

import grpc  # noqa: E402
import kiln  # noqa: E402
from kiln import _wire  # noqa: E402
from kiln._proto import jobs_pb2, jobs_pb2_grpc  # noqa: E402
from kiln import JobFilter, JobStatus  # noqa: E402


def load_test_helpers():
    """The Python client tests' helpers (their `Kilnd`: start, stop, the port from the log),
    loaded under another name, as Tests/Browser does."""
    spec = importlib.util.spec_from_file_location(
        "kiln_client_test_helpers", REPO / "clients" / "python" / "tests" / "conftest.py")
    assert spec and spec.loader
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers


def start_timed(server) -> float:
    """Starts kilnd; returns the seconds from exec to its first answered health check."""
    started = time.monotonic()
    server.start(timeout=300)
    with server.client() as client:
        while True:
            try:
                client.health()
                break
            except kiln.KilnError:
                time.sleep(0.005)
    return time.monotonic() - started


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def seed(database: Path, template_id: str, jobs: int, projects: list[str]) -> float:
    """Writes `jobs` copies of the template job; returns the seconds it took."""
    started = time.monotonic()
    db = sqlite3.connect(database)
    statuses = [("FINISHED", 6)] * 7 + [("ERROR", 4), ("DISCARDED", 5), ("PAUSED", 3)]
    cases_status = " ".join(f"WHEN {i} THEN '{s}'" for i, (s, _) in enumerate(statuses))
    cases_rank = " ".join(f"WHEN {i} THEN {r}" for i, (_, r) in enumerate(statuses))
    cases_project = " ".join(f"WHEN {i} THEN '{p}'" for i, p in enumerate(projects))
    # Within kilnd's default retention (30 days after a job's last change), so that the
    # retention sweep keeps them: a store of this size under the default settings.
    span = 20 * 24 * 3600 * 1000
    base = int(time.time() * 1000) - span
    step = span // jobs
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        f"""
        WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?),
        rows AS (
          SELECT printf('bench-%08d', x) AS id,
                 CASE x % {len(projects)} {cases_project} END AS project,
                 CASE (x / {len(projects)} * 7919) % {len(statuses)} {cases_status} END AS status,
                 CASE (x / {len(projects)} * 7919) % {len(statuses)} {cases_rank} END AS status_rank,
                 {base} + x * {step} AS created, x FROM n)
        INSERT INTO job (id, project, job_type, subject, status, status_rank, create_time, update_time,
                         duration_ms, queued_time, revision, body)
        SELECT rows.id, rows.project, t.job_type, t.subject, rows.status, rows.status_rank, rows.created,
               rows.created + 60000, (rows.x * 37) % 600000, NULL, t.revision,
               json_set(t.body, '$.id', rows.id, '$.project', rows.project, '$.status', rows.status,
                        '$.createTime', rows.created, '$.updateTime', rows.created + 60000)
        FROM rows, (SELECT * FROM job WHERE id = ?) AS t
        """,
        (jobs, template_id),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return time.monotonic() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_calls(call, count: int) -> list[float]:
    call()  # warm
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200, help="calls per measured case")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # Release unless KILND names another binary (the helpers read KILND).
    os.environ.setdefault("KILND", str(REPO / ".build" / "release" / "kilnd"))
    binary = os.environ["KILND"]
    work = Path(tempfile.mkdtemp(prefix="kiln-large-"))
    data = work / "data"
    projects = [f"p{i:03d}" for i in range(args.projects)]

    server = load_test_helpers().Kilnd(data)
    server.start()
    token = server.admin_token
    with server.client() as client:
        for name in projects:
            client.create_project(name)
            client.create_subject("s", name)
        template = client.submit_job(projects[0], "TABLE_SAMPLING", "s", {"sleep_ms": "0"})
        client.wait_for_job(template.id, timeout=60)
    server.stop()
    seconds = seed(data / "kiln.sqlite", template.id, args.jobs, projects)
    print(f"seeded {args.jobs:,} jobs in {seconds:.1f} s ({(data / 'kiln.sqlite').stat().st_size / 2**20:.0f} MiB)")

    cold = start_timed(server)
    port = server.port
    rss = rss_mb(server.process.pid)
    results = {"jobs": args.jobs, "kilnd": str(binary), "cold_start_s": cold, "rss_at_start_mb": rss, "cases": []}
    print(f"cold start to first health answer: {cold * 1000:.0f} ms, RSS {rss:.0f} MB")
    try:
        with server.client() as client, grpc.insecure_channel(
            f"127.0.0.1:{port}"
        ) as channel:
            stub = jobs_pb2_grpc.JobServiceStub(channel)
            metadata = [("authorization", f"Bearer {token}")]
            filtered = JobFilter(projects=[projects[7]], statuses=[JobStatus.FINISHED])
            for label, filter in (("no filter", JobFilter()), ("project + status", filtered)):
                first = client.list_jobs(filter, page_size=50)
                # 10,000 jobs deep, or as deep as the filter's jobs go.
                depth_jobs = min(10_000, (first.total_size - 1) // 50 * 50)
                token_at = first.next_page_token
                for _ in range(depth_jobs // 50 - 1):
                    token_at = client.list_jobs(filter, page_size=50, page_token=token_at).next_page_token
                for depth, page_token in (("first page", None), (f"{depth_jobs:,} deep", token_at)):
                    # Timed with the bare generated stub: the Python client's conversion of
                    # 50 jobs to its dataclasses alone takes ≈4 ms, which is not kilnd's.
                    request = jobs_pb2.ListJobsRequest(
                        filter=_wire.job_filter(filter), page_size=50, page_token=page_token or "")
                    samples = time_calls(lambda: stub.ListJobs(request, metadata=metadata), args.calls)
                    p50, p99 = percentiles(samples)
                    results["cases"].append(
                        {"filter": label, "page": depth, "total_size": first.total_size, "p50_ms": p50, "p99_ms": p99})
                    print(f"ListJobs {label:17} {depth:12} total_size={first.total_size:>9,}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
        results["rss_after_mb"] = rss_mb(server.process.pid)
        print(f"RSS after the calls: {results['rss_after_mb']:.0f} MB")
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
