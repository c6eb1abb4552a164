#!/usr/bin/env python3
"""Soak: one kilnd takes a million events with watchers attached; its memory must level off.

    python3 Reliability/soak.py --events 1000000 [--jobs 2000] [--margin 0.10] [--max-minutes 120] [--store sqlite|postgres://...]

Uses .build/release/kilnd when it exists (else the debug build; $KILND overrides). Events
are produced quickly with batch operations over many jobs: submit ``--jobs`` RELY_QUICK
jobs (two 1 ms sleep steps), then batch pause / resume them by filter over and over,
discard and delete them, submit more. Two watchers read every event (one unfiltered with
progress, one filtered), one stalled watcher never reads. kilnd's RSS (VmRSS in
/proc/PID/status) is sampled every few seconds and printed as a curve (events, RSS MB).

Fails if kilnd dies, if a watcher ends or misses events, or if the largest RSS of the
last third of the samples exceeds the largest of the middle third by more than
``--margin`` (10 %) plus 8 MB. The last line is ``soak: N passed, M failed``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from harness import Kilnd, add_store_argument, log, make_workdir, rss_mb, setup_server, teardown

import kiln
from kiln._proto import jobs_pb2

S = kiln.JobStatus
A = kiln.JobAction
PROJECT = "soak"


class Counter:
    """A watcher that reads everything and checks its revisions only go up."""

    def __init__(self, server, flt: kiln.JobFilter, progress: bool, consecutive: bool) -> None:
        self.client = server.client()
        self.stream = self.client.watch_jobs(flt, include_progress=progress)
        self.consecutive = consecutive
        self.events = 0
        self.revision = 0
        self.problems: list[str] = []
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                if event.job is not None:
                    if event.revision <= self.revision:
                        self.problems.append(f"revision {event.revision} after {self.revision}")
                    elif self.consecutive and self.revision and event.revision != self.revision + 1:
                        self.problems.append(f"gap: {event.revision} after {self.revision}")
                    self.events += 1
                if event.kind is kiln.WatchEventKind.RESYNCHRONIZED:
                    self.problems.append(f"resynchronized at {event.revision}")
                self.revision = max(self.revision, event.revision)
        except BaseException as error:
            self.error = error

    def close(self) -> None:
        self.client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per generation")
    parser.add_argument("--margin", type=float, default=0.10, help="allowed RSS growth of the last third over the middle third")
    parser.add_argument("--sample", type=float, default=3.0, help="seconds between RSS samples")
    parser.add_argument("--max-minutes", type=float, default=120)
    parser.add_argument("--keep", help="use (and keep) this work directory")
    add_store_argument(parser)
    args = parser.parse_args()
    workdir = make_workdir("kiln-soak-", args.keep)
    server, _ = setup_server(
        workdir, ["--max-running", "32", "--max-running-per-project", "32", "--heartbeat", "2"], prefer_release=True,
        store=args.store,
    )
    try:
        return soak(args, server, workdir)
    finally:
        teardown(server, workdir, args.keep)


def soak(args: argparse.Namespace, server: Kilnd, workdir: Path) -> int:
    log(f"soak: {args.events} events, {args.jobs} jobs a generation, kilnd {server.binary} (copy of the "
        f"{'release' if 'release' in str(server.binary) else 'debug'} build? see KILND), state in {server.store}, "
        f"work in {workdir}")
    server.start()
    failures: list[str] = []
    passed = 0
    samples: list[tuple[float, int, float]] = []  # (seconds, revision, RSS MB)
    stop = threading.Event()
    client = server.client(timeout=300)
    client.create_project(PROJECT, "reliability suite: soak")
    client.create_subject("soaked", PROJECT, kind="model", schema="id INT")
    watchers = [
        Counter(server, kiln.JobFilter(), progress=True, consecutive=True),
        Counter(server, kiln.JobFilter(projects=[PROJECT], statuses=[S.PAUSED, S.FINISHED]), False, False),
    ]
    # A watcher that never reads: the server must bound what it keeps for it.
    stalled_client = server.client()
    stalled = stalled_client.job_service.WatchJobs(
        jobs_pb2.WatchJobsRequest(include_progress=True), metadata=(("authorization", f"Bearer {server.admin_token}"),)
    )
    began = time.monotonic()
    revision = 0

    def sampler() -> None:
        while not stop.wait(args.sample):
            rss = rss_mb(server.pid) if server.alive() else None
            if rss is None:
                return
            samples.append((time.monotonic() - began, max(revision, watchers[0].revision), rss))
            log(f"  {samples[-1][0]:7.0f} s  {samples[-1][1]:>9} events  {rss:7.1f} MB")

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    everything = kiln.JobFilter(projects=[PROJECT])
    generation = 0
    try:
        while revision < args.events:
            if time.monotonic() - began > args.max_minutes * 60:
                failures.append(f"only {revision} events after {args.max_minutes} minutes")
                break
            if not server.alive():
                break
            generation += 1
            for _ in range(args.jobs):
                job = client.submit_job(PROJECT, "RELY_QUICK", "soaked", {"sleep_ms": "1"})
                revision = max(revision, job.revision)
            for _ in range(20):  # pause and resume the generation many times
                for action, statuses in ((A.PAUSE, [S.PENDING, S.RUNNING]), (A.RESUME, [S.PAUSED])):
                    outcome = client.batch(action, filter=kiln.JobFilter(projects=[PROJECT], statuses=statuses))
                    revision = max([revision] + [r.job.revision for r in outcome.results if r.job is not None])
                if revision >= args.events:
                    break
            client.batch(A.DISCARD, filter=kiln.JobFilter(projects=[PROJECT], statuses=[S.PENDING, S.RUNNING, S.PAUSED, S.ERROR]))
            outcome = client.batch(A.DELETE, filter=everything)
            revision = server.current_revision()
    except kiln.KilnError as error:
        failures.append(f"a call failed: {error}")
    finally:
        stop.set()
        thread.join(args.sample + 1)
    alive = server.alive()
    if not alive:
        code = server.process.returncode if server.process else None
        failures.append(f"kilnd died (exit status {code}) at about {max(revision, watchers[0].revision)} events")
        log(server.log_tail(5))
    else:
        passed += 1
        final = server.current_revision()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(w.revision < final and w.error is None for w in watchers[:1]):
            time.sleep(0.2)
    for index, watcher in enumerate(watchers):
        if watcher.error is not None and alive:
            failures.append(f"watcher {index} ended: {watcher.error!r}")
        elif watcher.problems:
            failures.append(f"watcher {index}: {len(watcher.problems)} problems, e.g. {watcher.problems[:3]}")
        else:
            passed += 1
    log(f"soak: {max(revision, watchers[0].revision)} events in {time.monotonic() - began:.0f} s, {generation} generations, "
        f"watchers read {watchers[0].events} and {watchers[1].events} events")

    # The curve must level off: the last third no higher than the middle third plus the margin.
    if len(samples) >= 6:
        third = len(samples) // 3
        middle = max(rss for _, _, rss in samples[third : 2 * third])
        last = max(rss for _, _, rss in samples[2 * third :])
        limit = middle * (1 + args.margin) + 8
        verdict = "ok" if last <= limit else "GROWS"
        log(f"soak: RSS middle third max {middle:.1f} MB, last third max {last:.1f} MB, limit {limit:.1f} MB: {verdict}")
        if last > limit:
            failures.append(f"RSS still grows: {middle:.1f} MB -> {last:.1f} MB (limit {limit:.1f})")
        else:
            passed += 1
    else:
        failures.append(f"only {len(samples)} RSS samples: too short a run to judge the curve")
    stalled.cancel()
    stalled_client.close()
    for watcher in watchers:
        watcher.close()
    client.close()
    server.stop()
    for failure in failures:
        log(f"    {failure}")
    log(f"soak: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
