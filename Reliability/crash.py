#!/usr/bin/env python3
"""Crash rounds: a mixed workload, SIGKILL of kilnd at a random moment, restart, checks.

    python3 Reliability/crash.py --rounds 5 [--seed S] [--keep DIR] [--store sqlite|postgres://USER@HOST:PORT/DB]

Each round runs the workload (submits; pause, resume, restart, discard, delete; batches by
ids and by filter; subject updates, which discard the subject's jobs) from several
threads for 0.5-3 s, SIGKILLs kilnd, starts it again on the same port and data directory,
and checks (see README.md): acknowledged mutations present, no job behind its last
acknowledged revision, statuses legal, no RUNNING job without a live step, no step of the
killed server alive 2 s after the new one serves, never two live steps for one job,
watchers resumed with increasing (unfiltered: consecutive) revisions and no repeats,
the event log's replay equal to what the watcher saw, and the restart succeeding at the
first try. The last line is ``crash: N passed, M failed``; the exit status is 1 on any
failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from harness import (
    ALLOWED,
    LEGAL_TRANSITIONS,
    Kilnd,
    Marker,
    Markers,
    StartFailed,
    add_store_argument,
    all_procs,
    group_alive,
    kill_group,
    log,
    make_workdir,
    port_holders,
    read_proc,
    setup_server,
    teardown,
)

import kiln

S = kiln.JobStatus
A = kiln.JobAction
PROJECTS = ["rely_a", "rely_b"]
SUBJECTS = ["s0", "s1", "s2"]
EXEC_STEPS = {"WORK", "MORE_WORK"}
NO_RETRY = kiln.RetryPolicy(max_attempts=1)


# MARK: - What the clients were told


@dataclass
class JobRecord:
    project: str
    subject: str
    acked_revision: int = 0
    #: an acknowledged delete: the job must be gone
    deleted: bool = False
    #: a delete that may have happened (no reply, or a batch by filter without reply)
    maybe_deleted: bool = False
    #: an acknowledged discard (by an operation or a subject change): DISCARDED for good
    discarded: bool = False


class Ledger:
    """Every acknowledged mutation, per job."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, JobRecord] = {}
        self.acks = 0
        self.unknown = 0
        self.refused = 0
        self.surprises: list[str] = []

    def submitted(self, job: kiln.Job) -> None:
        with self.lock:
            self.jobs[job.id] = JobRecord(job.project, job.subject, job.revision)
            self.acks += 1

    def acked(self, job: kiln.Job) -> None:
        with self.lock:
            record = self.jobs.get(job.id)
            if record is None:
                return
            record.acked_revision = max(record.acked_revision, job.revision)
            if job.status is S.DISCARDED:
                record.discarded = True
            self.acks += 1

    def acked_delete(self, job_id: str) -> None:
        with self.lock:
            if job_id in self.jobs:
                self.jobs[job_id].deleted = True
            self.acks += 1

    def acked_discard(self, job_id: str) -> None:
        with self.lock:
            if job_id in self.jobs:
                self.jobs[job_id].discarded = True
            self.acks += 1

    def maybe_deleted(self, job_ids: list[str]) -> None:
        with self.lock:
            for job_id in job_ids:
                if job_id in self.jobs:
                    self.jobs[job_id].maybe_deleted = True

    def in_projects(self, projects: list[str]) -> list[str]:
        with self.lock:
            return [i for i, r in self.jobs.items() if r.project in projects]

    def pick(self, rng: random.Random, count: int = 1) -> list[str]:
        with self.lock:
            live = [i for i, r in self.jobs.items() if not r.deleted]
        return rng.sample(live, min(count, len(live))) if live else []


# MARK: - Watchers


@dataclass
class Seen:
    kind: kiln.WatchEventKind
    revision: int
    job: str = ""
    status: Optional[kiln.JobStatus] = None
    attempt: int = 0


class Watcher:
    """A watch that runs for the whole run through every crash (the client resumes it
    after its last revision), recording every event."""

    def __init__(self, name: str, server: Kilnd, flt: kiln.JobFilter, progress: bool, consecutive: bool) -> None:
        self.name = name
        self.server = server
        self.filter = flt
        self.progress = progress
        self.consecutive = consecutive
        self.events: list[Seen] = []
        self.lock = threading.Lock()
        self.error: Optional[BaseException] = None
        self.checked = 0  # events already checked by earlier rounds
        self.last_revision = 0  # the last revision checked
        self.client = server.client()
        self.stream = self.client.watch_jobs(flt, include_progress=progress)
        self.thread = threading.Thread(target=self._run, name=f"watch-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                seen = Seen(event.kind, event.revision)
                if event.job is not None:
                    seen = Seen(event.kind, event.revision, event.job.id, event.job.status, event.job.attempt)
                with self.lock:
                    self.events.append(seen)
        except BaseException as error:  # reported by the checks
            self.error = error

    def revision(self) -> int:
        with self.lock:
            return self.events[-1].revision if self.events else 0

    def new_events(self) -> list[Seen]:
        with self.lock:
            events = self.events[self.checked :]
            self.checked = len(self.events)
        return events

    def close(self) -> None:
        self.client.close()


def check_watch(watcher: Watcher, events: list[Seen]) -> list[str]:
    """Strictly increasing revisions, no event twice; for the unfiltered watcher (with
    progress events), every revision exactly one after the previous."""
    problems = []
    last = watcher.last_revision
    seen_revisions: set[int] = set()
    for event in events:
        if event.kind is kiln.WatchEventKind.RESYNCHRONIZED:
            problems.append(f"{watcher.name}: resynchronized at {event.revision} (the log no longer had {last})")
            last = event.revision
            continue
        if event.kind is kiln.WatchEventKind.SNAPSHOT:
            last = event.revision
            continue
        if event.kind is kiln.WatchEventKind.HEARTBEAT:
            if event.revision < last:
                problems.append(f"{watcher.name}: heartbeat at {event.revision} after revision {last}")
            last = max(last, event.revision)
            continue
        if event.revision in seen_revisions or event.revision <= last:
            problems.append(f"{watcher.name}: revision {event.revision} after {last} (repeat or out of order)")
        elif watcher.consecutive and event.revision != last + 1:
            problems.append(f"{watcher.name}: gap, revision {event.revision} after {last}")
        seen_revisions.add(event.revision)
        last = max(last, event.revision)
    watcher.last_revision = last
    return problems


class Transitions:
    """Every status change the unfiltered watcher saw must be one the design allows."""

    def __init__(self) -> None:
        self.status: dict[str, kiln.JobStatus] = {}
        self.checked = 0

    def check(self, events: list[Seen]) -> list[str]:
        problems = []
        for event in events:
            self.checked += 1
            if event.kind is kiln.WatchEventKind.CREATED:
                if event.job in self.status:
                    problems.append(f"job {event.job} created twice (revision {event.revision})")
                if event.status is not S.PENDING:
                    problems.append(f"job {event.job} created {event.status} (revision {event.revision})")
                self.status[event.job] = event.status  # type: ignore[assignment]
            elif event.kind is kiln.WatchEventKind.UPDATED:
                before = self.status.get(event.job)
                after = event.status
                if before is not None and after is not None and before != after and (before, after) not in LEGAL_TRANSITIONS:
                    problems.append(f"job {event.job}: {before} -> {after} at revision {event.revision}")
                if before is not None and before == after and before.is_final:
                    problems.append(f"job {event.job} changed while {before} at revision {event.revision}")
                self.status[event.job] = after  # type: ignore[assignment]
            elif event.kind is kiln.WatchEventKind.DELETED:
                before = self.status.pop(event.job, None)
                if before is not None and not before.is_final:
                    problems.append(f"job {event.job} deleted while {before} at revision {event.revision}")
        return problems


# MARK: - The workload


class Workload:
    def __init__(self, server: Kilnd, ledger: Ledger, rng: random.Random, threads: int) -> None:
        self.server = server
        self.ledger = ledger
        self.seed = rng.randrange(1 << 30)
        self.stop = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()
        roles = ["submit", "submit", "operate", "operate", "operate", "batch", "subject"]
        roles += ["operate"] * max(0, threads - len(roles))
        self.threads = [
            threading.Thread(target=self._run, args=(role, i), name=f"{role}-{i}", daemon=True)
            for i, role in enumerate(roles[:threads] if threads >= 7 else roles)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self, timeout: float = 20) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, role: str, index: int) -> None:
        rng = random.Random(self.seed + index)
        body = {"submit": self._submit, "operate": self._operate, "batch": self._batch, "subject": self._subject}[role]
        with self.server.client(timeout=5, retry=NO_RETRY) as client:
            for _ in range(100_000):  # bounded; the round's stop event ends it much earlier
                if self.stop.is_set():
                    return
                try:
                    body(client, rng)
                except kiln.KilnError:
                    pass  # accounted for by the body
                with self.lock:
                    self.calls += 1
                self.stop.wait(rng.uniform(0.01, 0.08))

    def _submit(self, client: kiln.Client, rng: random.Random) -> None:
        project, subject = rng.choice(PROJECTS), rng.choice(SUBJECTS)
        job_type, params = ("RELY_EXEC", {}) if rng.random() < 0.85 else ("RELY_QUICK", {})
        try:
            self.ledger.submitted(client.submit_job(project, job_type, subject, params))
        except kiln.KilnError as error:
            self._failed(error, [])

    def _operate(self, client: kiln.Client, rng: random.Random) -> None:
        ids = self.ledger.pick(rng)
        if not ids:
            return
        action = rng.choices([A.PAUSE, A.RESUME, A.RESTART, A.DISCARD, A.DELETE], [25, 25, 15, 8, 20])[0]
        try:
            job = client.perform(action, ids[0])
        except kiln.KilnError as error:
            self._failed(error, ids if action is A.DELETE else [])
            return
        if action is A.DELETE:
            self.ledger.acked_delete(ids[0])
        elif job is not None:
            self.ledger.acked(job)

    def _batch(self, client: kiln.Client, rng: random.Random) -> None:
        action = rng.choice([A.PAUSE, A.RESUME, A.RESTART, A.DISCARD, A.DELETE])
        if rng.random() < 0.5:
            ids = self.ledger.pick(rng, rng.randint(2, 6))
            if not ids:
                return
            maybe = ids
            call = lambda: client.batch(action, ids=ids)  # noqa: E731
        else:
            project = rng.choice(PROJECTS)
            statuses = {
                A.PAUSE: [S.PENDING], A.RESUME: [S.PAUSED, S.ERROR], A.RESTART: [S.ERROR],
                A.DISCARD: [S.ERROR, S.PAUSED], A.DELETE: [S.FINISHED, S.DISCARDED],
            }[action]
            maybe = self.ledger.in_projects([project])
            call = lambda: client.batch(action, filter=kiln.JobFilter(projects=[project], statuses=statuses))  # noqa: E731
        try:
            outcome = call()
        except kiln.KilnError as error:
            self._failed(error, maybe if action is A.DELETE else [])
            return
        for result in outcome.results:
            if not result.ok:
                with self.ledger.lock:
                    self.ledger.refused += 1
            elif action is A.DELETE:
                self.ledger.acked_delete(result.id)
            elif result.job is not None:
                self.ledger.acked(result.job)
        time.sleep(rng.uniform(0.1, 0.4))

    def _subject(self, client: kiln.Client, rng: random.Random) -> None:
        if self.stop.wait(rng.uniform(0.4, 1.0)):
            return
        project, subject = rng.choice(PROJECTS), rng.choice(SUBJECTS)
        try:
            change = client.update_subject(subject, project, schema=f"id INT, v{uuid.uuid4().hex[:8]} INT")
        except kiln.KilnError as error:
            self._failed(error, [])
            return
        for job_id in change.discarded_job_ids:
            self.ledger.acked_discard(job_id)

    def _failed(self, error: kiln.KilnError, maybe_deleted: list[str]) -> None:
        with self.ledger.lock:
            if error.code in (kiln.Code.FAILED_PRECONDITION, kiln.Code.NOT_FOUND):
                self.ledger.refused += 1
                return
            self.ledger.unknown += 1
            if error.code not in (kiln.Code.UNAVAILABLE, kiln.Code.DEADLINE_EXCEEDED, kiln.Code.CANCELLED, kiln.Code.UNKNOWN):
                self.ledger.surprises.append(f"{error.code.name}: {error.message}")
        if maybe_deleted:
            self.ledger.maybe_deleted(maybe_deleted)


# MARK: - Step processes over time


class Sampler:
    """Looks at the live step processes every 0.2 s: two live processes for one job at
    once is a step running twice."""

    def __init__(self, markers: Markers, server: Kilnd) -> None:
        self.markers = markers
        self.server = server
        self.lock = threading.Lock()
        self.overlaps: list[str] = []
        self.reported: set[frozenset] = set()
        self.stop = threading.Event()
        self.samples = 0
        self.thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            procs = all_procs()
            by_job: dict[str, list[Marker]] = defaultdict(list)
            for marker in self.markers.live(procs):
                by_job[marker.job].append(marker)
            self.samples += 1
            current = self.server.pid
            for job, live in by_job.items():
                if len(live) < 2:
                    continue
                # all_procs() reads /proc one process at a time, so one snapshot can hold
                # a step that ended at the start of the scan and the next step that began
                # before its end. Proof of overlap: every one of them is still alive now,
                # after all of them were seen alive (a process does not come back).
                now = all_procs()
                if not all(group_alive(m, now) for m in live):
                    continue
                key = frozenset(m.key for m in live)
                if key in self.reported:
                    continue
                self.reported.add(key)
                described = ", ".join(
                    f"pid {m.pid} (attempt {m.attempt} {m.step}, "
                    f"{'this kilnd' if m.parent == current else f'orphan of kilnd {m.parent}'})"
                    for m in sorted(live, key=lambda m: m.start)
                )
                with self.lock:
                    self.overlaps.append(f"job {job}: {len(live)} live step processes at once: {described}")

    def take(self) -> list[str]:
        with self.lock:
            overlaps, self.overlaps = self.overlaps, []
        return overlaps

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


# MARK: - Checks after a restart


def check_state(client: kiln.Client, ledger: Ledger) -> tuple[list[str], dict]:
    """Acknowledged mutations present, nothing behind, statuses legal."""
    problems: list[str] = []
    jobs = {job.id: job for job in client.all_jobs(page_size=1000)}
    counts = {"jobs": len(jobs), "lost": 0, "behind": 0, "undeleted": 0, "illegal": 0}
    with ledger.lock:
        records = dict(ledger.jobs)
    for job_id, record in records.items():
        job = jobs.get(job_id)
        if record.deleted:
            if job is not None:
                counts["undeleted"] += 1
                problems.append(f"job {job_id}: its delete was acknowledged but it exists ({job.status}, rev {job.revision})")
            continue
        if job is None:
            if not record.maybe_deleted:
                counts["lost"] += 1
                problems.append(f"job {job_id}: acknowledged (rev {record.acked_revision}) but missing")
            continue
        if job.revision < record.acked_revision:
            counts["behind"] += 1
            problems.append(f"job {job_id}: revision {job.revision} behind the acknowledged {record.acked_revision}")
        if record.discarded and job.status is not S.DISCARDED:
            problems.append(f"job {job_id}: its discard was acknowledged but it is {job.status}")
    for job in jobs.values():
        issues = []
        if set(job.allowed_actions) != ALLOWED[job.status]:
            issues.append(f"allowed_actions {sorted(a.value for a in job.allowed_actions)} for {job.status}")
        running_steps = [s for s in job.steps if s.status is S.RUNNING]
        if job.status is S.RUNNING and len(running_steps) > 1:
            issues.append(f"{len(running_steps)} steps RUNNING")
        if job.status is not S.RUNNING and running_steps:
            issues.append(f"{job.status} with step {running_steps[0].name} RUNNING")
        if job.status is S.FINISHED and any(s.status is not S.FINISHED for s in job.steps):
            issues.append("FINISHED with unfinished steps")
        if issues:
            counts["illegal"] += 1
            problems.append(f"job {job.id}: " + "; ".join(issues))
    return problems, counts


def check_running_have_steps(
    client: kiln.Client, markers: Markers, samples: int = 3, interval: float = 1.0
) -> tuple[list[str], int]:
    """A RUNNING job whose running step is an exec step has a live process for it: the
    same (job, attempt, step, step start) without one in every sample, over ~3 s, fails."""
    missing_in_all: Optional[set] = None
    details: dict = {}
    checked = 0
    for index in range(samples):
        if index:
            time.sleep(interval)
        live = {(m.job, m.attempt, m.step) for m in markers.live()}
        missing = set()
        for job in client.all_jobs(kiln.JobFilter(statuses=[S.RUNNING]), page_size=1000):
            for step in job.steps:
                if step.status is S.RUNNING and step.name in EXEC_STEPS:
                    checked += 1
                if step.status is S.RUNNING and step.name in EXEC_STEPS and (job.id, job.attempt, step.name) not in live:
                    key = (job.id, job.attempt, step.name, step.start_time)
                    missing.add(key)
                    details[key] = job
        missing_in_all = missing if missing_in_all is None else missing_in_all & missing
    return [
        f"job {job_id} RUNNING in {step} (attempt {attempt}, since {start}) with no live step process for {samples * interval:.0f} s"
        for (job_id, attempt, step, start) in sorted(missing_in_all or set(), key=str)
    ], checked


def replay_matches(server: Kilnd, since: int, until: int, watcher: Watcher) -> list[str]:
    """The log replayed after ``since`` (a new watch) gives every revision up to ``until``
    in order, each the same change the live watcher saw."""
    if until <= since:
        return []
    with watcher.lock:
        seen = {e.revision: e for e in watcher.events if e.job}
    problems = []
    expected = since + 1
    with server.client(timeout=10) as client:
        stream = client.watch_jobs(kiln.JobFilter(), include_progress=True, since=since)
        deadline = time.monotonic() + 20
        try:
            for event in stream:
                if event.kind is kiln.WatchEventKind.RESYNCHRONIZED:
                    return [f"replay after {since}: the log no longer reaches back (resynchronized)"]
                if event.kind is kiln.WatchEventKind.HEARTBEAT:
                    if event.revision >= until:
                        break
                    if time.monotonic() > deadline:
                        problems.append(f"replay after {since}: stuck at {expected - 1}, wanted {until}")
                        break
                    continue
                if event.job is None:
                    continue
                if event.revision != expected:
                    problems.append(f"replay after {since}: revision {event.revision} where {expected} was expected")
                expected = event.revision + 1
                live = seen.get(event.revision)
                if live is not None and (live.job, live.status) != (event.job.id, event.job.status):
                    problems.append(
                        f"revision {event.revision}: the watcher saw job {live.job} {live.status}, "
                        f"the log replays job {event.job.id} {event.job.status}"
                    )
                if event.revision >= until or time.monotonic() > deadline:
                    break
        finally:
            stream.close()
    return problems


# MARK: - A round


@dataclass
class RoundResult:
    number: int
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def describe_holders(port: int, steps: list[Marker]) -> str:
    by_pid = {m.pid: m for m in steps}
    parts = []
    for pid, command in port_holders(port):
        marker = by_pid.get(pid)
        if marker is not None:
            parts.append(f"pid {pid} (step {marker.step} of job {marker.job[:8]}, a process of the killed kilnd)")
        else:
            parts.append(f"pid {pid} '{' '.join(command.split())[:40]}'")
    if len(parts) > 4:
        parts = parts[:4] + [f"and {len(parts) - 4} more"]
    return ", ".join(parts) or "nobody"


def restart(server: Kilnd, old_steps: list[Marker], result: RoundResult) -> tuple[float, bool]:
    """Starts kilnd again; the first try must succeed. On failure, names the port's
    holders, kills the killed server's step groups (so the run can go on) and tries again.
    Returns the time it took and whether the first try served."""
    began = time.monotonic()
    holders_before = describe_holders(server.port, old_steps)
    try:
        server.start()
        return time.monotonic() - began, True
    except StartFailed as failure:
        lines = [line.strip() for line in failure.log_tail.splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if line.startswith("Error")), lines[-1] if lines else "")
        said = [line.split("] ", 1)[-1] for line in lines if "previous server" in line]
        alive = [m for m in old_steps if group_alive(m, all_procs())]
        result.failures.append(
            f"restart failed at the first try: {failure}: {reason[:110]}; port {server.port} held before the start by "
            + holders_before + "; after the failed start by " + describe_holders(server.port, old_steps)
            + (f"; the failed kilnd said: {said[0]}" if said else "")
            + f"; {len(alive)} of {len(old_steps)} old step processes still alive"
        )
    for attempt in range(5):
        for marker in old_steps:
            kill_group(marker)
        for _ in range(100):
            if not port_holders(server.port):
                break
            time.sleep(0.1)
        try:
            server.start()
            result.notes.append(f"served at try {attempt + 2}, after the suite killed the old server's steps")
            return time.monotonic() - began, False
        except StartFailed:
            continue
    raise SystemExit(f"kilnd does not start any more; its log:\n{server.log_tail()}")


def run_round(
    number: int, server: Kilnd, markers: Markers, ledger: Ledger, watchers: list[Watcher],
    transitions: Transitions, sampler: Sampler, rng: random.Random, threads: int, reap: bool = False,
) -> RoundResult:
    result = RoundResult(number)
    start_revision = watchers[0].revision()
    workload = Workload(server, ledger, rng, threads)
    workload.start()
    delay = rng.uniform(0.5, 3.0)
    time.sleep(delay)

    # The crash: the step processes kilnd has now are what must not outlive it.
    old_pid = server.pid
    children = [p for p in all_procs().values() if p.ppid == old_pid]
    server.kill()
    workload.stop.set()
    time.sleep(0.3)  # a step spawned at the last moment writes its marker
    procs = all_procs()
    old_steps = [m for m in markers.scan().values() if m.parent == old_pid and group_alive(m, procs)]
    marked = {m.pid for m in old_steps}
    unmarked = [p for p in children if p.pid not in marked and (q := procs.get(p.pid)) and q.start == p.start and q.state != "Z"]
    # A child that had not yet written its marker: watched by pid and start time too.
    old_steps += [Marker(p.pid, p.start, "?", 0, "?", old_pid, time.monotonic()) for p in unmarked]

    if reap:
        # --reap: the suite does what a fixed server would (stop the previous server's
        # steps), so that every other check can be seen to pass against today's server.
        for marker in old_steps:
            kill_group(marker)
        time.sleep(0.2)
    took, first_try = restart(server, old_steps, result)
    workload.finish()
    time.sleep(2.0)  # the new server's time to stop the previous server's steps
    procs = all_procs()
    survivors = [m for m in old_steps if group_alive(m, procs)]
    if survivors and first_try:
        result.failures.append(
            f"{len(survivors)} of {len(old_steps)} step processes of the killed kilnd alive 2 s after the new one serves: "
            + ", ".join(f"pid {m.pid} (job {m.job[:8]} attempt {m.attempt} {m.step})" for m in survivors[:6])
        )
    with server.client(timeout=15) as client:
        problems, counts = check_state(client, ledger)
        result.failures += problems
        missing, running_checked = check_running_have_steps(client, markers)
        result.failures += missing

    # Watchers: resumed (past the server's revision now), in order, nothing twice.
    target = server.current_revision()
    for _ in range(200):
        if all(w.revision() >= target or w.error for w in watchers):
            break
        time.sleep(0.1)
    for watcher in watchers:
        if watcher.error is not None:
            result.failures.append(f"{watcher.name}: watch ended: {watcher.error!r}")
        elif watcher.revision() < target:
            result.failures.append(f"{watcher.name}: did not resume within 20 s (at {watcher.revision()}, server at {target})")
        events = watcher.new_events()
        result.failures += check_watch(watcher, events)
        if watcher is watchers[0]:
            result.failures += transitions.check(events)
    replay_until = min(target, watchers[0].revision())
    result.failures += replay_matches(server, start_revision, replay_until, watchers[0])

    # Orphans die here, whatever the verdict, so that each round starts clean.
    result.failures += sampler.take()
    for marker in old_steps:
        kill_group(marker)

    result.notes.insert(
        0,
        f"killed after {delay:.2f} s with {len(children)} step process(es), {workload.calls} calls; "
        f"restart {took:.2f} s; jobs {counts['jobs']}, acked {ledger.acks}, revision {target}; "
        f"{running_checked} running exec steps checked; replayed {start_revision + 1}..{replay_until}",
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--threads", type=int, default=7, help="workload threads (at least 7: 2 submit, 3 operate, batch, subject)")
    parser.add_argument("--keep", help="use (and keep) this work directory")
    parser.add_argument(
        "--reap", action="store_true",
        help="self-check of the suite: kill the killed server's steps before restarting (what a fixed kilnd does)",
    )
    parser.add_argument("--max-minutes", type=float, default=240, help="stop starting rounds after this long")
    add_store_argument(parser)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    workdir = make_workdir("kiln-crash-", args.keep)
    server, markers = setup_server(
        workdir, ["--max-running", "16", "--max-running-per-project", "8", "--heartbeat", "1"], store=args.store
    )
    try:
        return run_rounds(args, seed, server, markers, workdir)
    finally:
        teardown(server, workdir, args.keep)


def run_rounds(args: argparse.Namespace, seed: int, server: Kilnd, markers: Markers, workdir: Path) -> int:
    rng = random.Random(seed)
    log(
        f"crash: seed {seed}, {args.rounds} rounds, kilnd {server.binary} on 127.0.0.1:{server.port}, "
        f"state in {server.store}, work in {workdir}"
    )
    server.start()
    with server.client() as admin:
        for project in PROJECTS:
            admin.create_project(project, "reliability suite")
            for subject in SUBJECTS:
                admin.create_subject(subject, project, kind="model", schema="id INT")
    ledger = Ledger()
    watchers = [
        Watcher("watch-all", server, kiln.JobFilter(), progress=True, consecutive=True),
        Watcher("watch-a-active", server, kiln.JobFilter(projects=["rely_a"], statuses=[S.RUNNING, S.PAUSED, S.ERROR]), False, False),
        Watcher("watch-b", server, kiln.JobFilter(projects=["rely_b"]), progress=False, consecutive=False),
    ]
    time.sleep(0.5)
    transitions = Transitions()
    sampler = Sampler(markers, server)
    passed = failed = 0
    began = time.monotonic()
    try:
        for number in range(1, args.rounds + 1):
            if time.monotonic() - began > args.max_minutes * 60:
                log(f"crash: stopping after {args.max_minutes} minutes")
                break
            result = run_round(
                number, server, markers, ledger, watchers, transitions, sampler, rng, args.threads, args.reap
            )
            verdict = "FAIL" if result.failures else "ok"
            log(f"round {number}: {verdict} — " + "; ".join(result.notes))
            for failure in result.failures[:12]:
                log(f"    {failure}")
            if len(result.failures) > 12:
                log(f"    ... and {len(result.failures) - 12} more")
            if result.failures:
                failed += 1
            else:
                passed += 1
    finally:
        sampler.close()
        for watcher in watchers:
            watcher.close()
        server.stop()
        for marker in markers.scan().values():
            kill_group(marker)
        log(
            f"crash: {ledger.acks} acknowledged mutations, {ledger.refused} refused, {ledger.unknown} without an answer "
            f"(kills), {len(markers.scan())} step processes started, {sampler.samples} process samples"
        )
        if ledger.surprises:
            log(f"crash: unexpected errors ({len(ledger.surprises)}): " + "; ".join(sorted(set(ledger.surprises))[:5]))
    log(f"crash: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
