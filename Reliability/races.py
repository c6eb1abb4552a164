#!/usr/bin/env python3
"""Races: many clients issue conflicting operations on the same few jobs; the history of
calls and replies must be linearizable against the status table (DESIGN.md).

    python3 Reliability/races.py --clients 100 --seconds 10 [--jobs 8] [--seed S] [--store sqlite|postgres://...]

Every call is recorded with its invocation time, response time and reply (the job's
status and revision on success; the gRPC code and the `kiln-job-status` detail on
FAILED_PRECONDITION, the `kiln-job-revision` detail on ABORTED). One unfiltered watch
(with progress events) records the event log: every change the server committed, each
with its revision, the job after it and the commit time.

The checker (``check``) is porcupine's per-key partitioning made simple by that log:
each job is an independent object whose states are the log's events for it, in order.
Because the log is the server's one total order of changes, linearizability reduces to
mapping every reply onto it:

1. a successful reply is *exactly one* event of that job: same revision, same new
   status, the operation's target status; the event before it is in a status whose row
   of the table allows the operation (with ``expected_revision``: at that revision);
   the event's commit time lies inside the call's [invocation, response];
2. real time: if call A responded before call B was invoked (same job), A's event comes
   before B's in the log;
3. a refusal names a state the job was in at a point the call could have taken effect:
   after every event that must precede it (events of calls that answered before it was
   invoked) and before every event that must follow it (events of calls invoked after it
   answered, events committed after it answered). FAILED_PRECONDITION: that status, and
   the table must not allow the operation in it; ABORTED: that revision; NOT_FOUND: the
   job deleted;
4. no transition without a call: every change only an operator makes (to PAUSED or
   DISCARDED, back to PENDING, a delete) is claimed by a successful reply, unless a call
   on that job got no answer; every change at all is one the table and the engine allow.

The last line is ``races: N passed, M failed`` (checked replies and log checks).
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
import sys
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Optional

from harness import ALLOWED, LEGAL_TRANSITIONS, TARGET, add_store_argument, log, make_workdir, setup_server, teardown

import kiln

S = kiln.JobStatus
A = kiln.JobAction
PROJECT = "races"
SUBJECTS = ["r0", "r1"]
TOLERANCE = 0.005  # the server stores times in milliseconds
STATUS_IN_MESSAGE = re.compile(r"its status is ([A-Z]+)")


@dataclass
class Call:
    """One operation on one job (a batch is one Call per job it names)."""

    op: str  # submit, pause, resume, restart, discard, delete, subject-discard
    job: str
    t0: float
    t1: float
    via: str = "single"  # single, batch-ids, batch-filter, subject
    ok: bool = False
    revision: int = 0
    status: Optional[S] = None
    code: Optional[kiln.Code] = None
    refused_status: Optional[S] = None
    refused_revision: Optional[int] = None
    expected: Optional[int] = None
    message: str = ""

    @property
    def unknown(self) -> bool:
        """No answer: it may or may not have acted."""
        return not self.ok and self.code not in (kiln.Code.FAILED_PRECONDITION, kiln.Code.NOT_FOUND, kiln.Code.ABORTED)

    def __str__(self) -> str:
        what = f"{self.op} ({self.via})" + (f" expecting rev {self.expected}" if self.expected is not None else "")
        if self.ok:
            reply = f"ok {self.status} rev {self.revision}" if self.status else "ok"
        else:
            reply = f"{self.code.name if self.code else '?'}" + (
                f" status {self.refused_status}" if self.refused_status else ""
            ) + (f" rev {self.refused_revision}" if self.refused_revision is not None else "")
        return f"{what} on {self.job[:8]} [{self.t0:.3f}, {self.t1:.3f}] -> {reply}"


@dataclass
class Event:
    revision: int
    kind: kiln.WatchEventKind
    job: str
    status: S
    attempt: int
    time: float
    reason: str = ""

    @property
    def state(self) -> Optional[S]:
        """The job's status after the event (None: deleted)."""
        return None if self.kind is kiln.WatchEventKind.DELETED else self.status


# MARK: - Recording


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Call] = []

    def add(self, *calls: Call) -> None:
        with self.lock:
            self.calls.extend(calls)


class Pool:
    """The small set of jobs every client works on; a deleted one is replaced."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.gone: deque[str] = deque(maxlen=4)  # recently deleted: NOT_FOUND is their answer
        self.revisions: dict[str, int] = {}  # the last revision a reply showed

    def pick(self, rng: random.Random, count: int = 1) -> list[str]:
        with self.lock:
            choices = list(self.ids)
            if self.gone and (rng.random() < 0.05 or not choices):
                choices.append(rng.choice(self.gone))
        return rng.sample(choices, min(count, len(choices))) if choices else []

    def deleted(self, job_id: str) -> None:
        with self.lock:
            if job_id in self.ids:
                self.ids.remove(job_id)
                self.gone.append(job_id)

    def seen(self, job: kiln.Job) -> None:
        with self.lock:
            self.revisions[job.id] = max(self.revisions.get(job.id, 0), job.revision)

    def missing(self) -> int:
        with self.lock:
            return self.size - len(self.ids)


def outcome(call: Call, job: Optional[kiln.Job], error: Optional[kiln.KilnError]) -> Call:
    if error is None:
        call.ok = True
        if job is not None:
            call.revision, call.status = job.revision, job.status
    else:
        call.code = error.code
        call.message = error.message
        call.refused_status = error.job_status
        call.refused_revision = error.job_revision
        if call.refused_status is None and error.code is kiln.Code.FAILED_PRECONDITION:
            # A batch's per-job refusal carries the message only; a job discarded by its
            # subject's change says so instead of naming its status.
            match = STATUS_IN_MESSAGE.search(error.message)
            if match and match.group(1) in S.__members__:
                call.refused_status = S(match.group(1))
            elif "it was discarded because its subject" in error.message:
                call.refused_status = S.DISCARDED
    return call


class Clients:
    def __init__(self, server, pool: Pool, recorder: Recorder, seed: int, deadline: float) -> None:
        self.server = server
        self.pool = pool
        self.recorder = recorder
        self.seed = seed
        self.deadline = deadline
        self.errors: list[str] = []

    def submit(self, client: kiln.Client, rng: random.Random) -> None:
        params = {"sleep_ms": str(rng.choice([60, 150, 300]))}
        if rng.random() < 0.35:
            params.update(fail_step="SECOND", fail_times="1")  # goes to ERROR once
        call = Call("submit", "", time.time(), 0)
        try:
            job = client.submit_job(PROJECT, "RELY_RACE", rng.choice(SUBJECTS), params)
            call.t1 = time.time()
            call.job = job.id
            self.recorder.add(outcome(call, job, None))
            with self.pool.lock:
                self.pool.ids.append(job.id)
            self.pool.seen(job)
        except kiln.KilnError as error:
            self.errors.append(f"submit: {error}")

    def keeper(self) -> None:
        """Keeps the pool full."""
        rng = random.Random(self.seed)
        with self.server.client(timeout=30) as client:
            while time.time() < self.deadline:
                for _ in range(self.pool.missing()):
                    self.submit(client, rng)
                time.sleep(0.02)

    def worker(self, index: int, client: kiln.Client) -> None:
        rng = random.Random(self.seed * 1000 + index)
        for _ in range(1_000_000):  # bounded; the deadline ends it
            if time.time() >= self.deadline:
                return
            roll = rng.random()
            try:
                if self.pool.missing() > 0 and roll < 0.3:
                    self.submit(client, rng)
                elif roll < 0.78:
                    self.single(client, rng)
                elif roll < 0.90:
                    self.batch_ids(client, rng)
                elif roll < 0.95:
                    self.batch_filter(client, rng)
                elif roll < 0.96:
                    self.subject(client, rng)
            except Exception as error:  # a bug of the suite: reported, never hidden
                self.errors.append(f"worker {index}: {error!r}")
            time.sleep(rng.uniform(0, 0.02))

    def single(self, client: kiln.Client, rng: random.Random) -> None:
        ids = self.pool.pick(rng)
        if not ids:
            return
        action = rng.choices([A.PAUSE, A.RESUME, A.RESTART, A.DISCARD, A.DELETE], [30, 30, 20, 6, 14])[0]
        expected = None
        if rng.random() < 0.15:
            with self.pool.lock:
                expected = self.pool.revisions.get(ids[0])
        call = Call(action.value.lower(), ids[0], time.time(), 0, expected=expected)
        job, error = None, None
        try:
            job = client.perform(action, ids[0], expected_revision=expected)
        except kiln.KilnError as e:
            error = e
        call.t1 = time.time()
        self.recorder.add(outcome(call, job, error))
        if job is not None:
            self.pool.seen(job)
        if (error is None and action is A.DELETE) or (error is not None and error.code is kiln.Code.NOT_FOUND):
            self.pool.deleted(ids[0])

    def batch_ids(self, client: kiln.Client, rng: random.Random) -> None:
        ids = self.pool.pick(rng, rng.randint(2, 4))
        if not ids:
            return
        action = rng.choice([A.PAUSE, A.RESUME, A.RESTART, A.DISCARD, A.DELETE])
        self._batch(client, action, "batch-ids", ids=ids)

    def batch_filter(self, client: kiln.Client, rng: random.Random) -> None:
        action = rng.choices([A.PAUSE, A.RESUME, A.RESTART, A.DISCARD, A.DELETE], [30, 30, 20, 5, 15])[0]
        statuses = rng.sample(list(S), rng.randint(1, 3)) if rng.random() < 0.7 else []
        self._batch(client, action, "batch-filter", filter=kiln.JobFilter(projects=[PROJECT], statuses=statuses))

    def _batch(self, client: kiln.Client, action: A, via: str, **selector) -> None:
        t0 = time.time()
        try:
            result = client.batch(action, **selector)
        except kiln.KilnError as error:
            t1 = time.time()
            for job_id in selector.get("ids", []):
                self.recorder.add(outcome(Call(action.value.lower(), job_id, t0, t1, via), None, error))
            if "filter" in selector:
                self.errors.append(f"batch by filter without an answer: {error}")  # its jobs are unknown
            return
        t1 = time.time()
        calls = []
        for item in result.results:
            call = Call(action.value.lower(), item.id, t0, t1, via)
            calls.append(outcome(call, item.job, None if item.ok else item.error))
            if item.job is not None:
                self.pool.seen(item.job)
            if item.ok and action is A.DELETE:
                self.pool.deleted(item.id)
        self.recorder.add(*calls)

    def subject(self, client: kiln.Client, rng: random.Random) -> None:
        t0 = time.time()
        try:
            change = client.update_subject(rng.choice(SUBJECTS), PROJECT, schema=f"id INT, c{uuid.uuid4().hex[:6]} INT")
        except kiln.KilnError as error:
            self.errors.append(f"subject update without an answer: {error}")
            return
        t1 = time.time()
        self.recorder.add(*(Call("subject-discard", job_id, t0, t1, "subject", ok=True) for job_id in change.discarded_job_ids))


class LogWatcher:
    """The unfiltered watch with progress: the event log as committed."""

    def __init__(self, server) -> None:
        self.client = server.client()
        self.stream = self.client.watch_jobs(kiln.JobFilter(), include_progress=True)
        self.events: list[Event] = []
        self.marks: list[kiln.WatchEvent] = []  # snapshot, heartbeats, resynchronizations
        self.error: Optional[BaseException] = None
        self.revision = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                if event.job is not None:
                    job = event.job
                    when = event.time.timestamp() if event.time else 0.0
                    self.events.append(Event(event.revision, event.kind, job.id, job.status, job.attempt, when, job.status_reason))
                else:
                    self.marks.append(event)
                self.revision = event.revision
        except BaseException as error:
            self.error = error

    def close(self) -> None:
        self.client.close()


# MARK: - The checker


@dataclass
class Verdict:
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=lambda: defaultdict(int))

    def fail(self, category: str, text: str) -> None:
        self.counts[category] += 1
        self.failures.append(f"[{category}] {text}")


OPERATOR_CHANGES = {"pause", "resume", "restart", "discard", "delete", "subject-discard"}


def classify(before: Optional[Event], event: Event) -> Optional[str]:
    """Which operation (if only an operation can) makes this change; None for the engine's."""
    if event.kind is kiln.WatchEventKind.DELETED:
        return "delete"
    if before is None:
        return None
    b, a = before.status, event.status
    if a is S.PAUSED and b is not S.PAUSED:
        return "pause"
    if a is S.DISCARDED and b is not S.DISCARDED:
        return "discard"
    if a is S.PENDING and b in (S.PAUSED, S.ERROR, S.RUNNING):
        return "restart" if event.attempt == before.attempt + 1 else "resume"
    return None


def check(calls: list[Call], events: list[Event], verdict: Verdict) -> None:
    by_job_events: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_job_events[event.job].append(event)
    index_of = {}  # revision -> (job, index in its history)
    for job, history in by_job_events.items():
        for i, event in enumerate(history):
            index_of[event.revision] = (job, i)
    by_job_calls: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_job_calls[call.job].append(call)

    # 4a. Every change is one the table and the engine allow.
    for job, history in by_job_events.items():
        for before, event in zip(history, history[1:]):
            if event.kind is kiln.WatchEventKind.DELETED:
                if not before.status.is_final:
                    verdict.fail("illegal-change", f"job {job[:8]} deleted while {before.status} (rev {event.revision})")
            elif before.status != event.status and (before.status, event.status) not in LEGAL_TRANSITIONS:
                verdict.fail("illegal-change", f"job {job[:8]} {before.status} -> {event.status} (rev {event.revision})")
            elif before.status == event.status and before.status.is_final:
                verdict.fail("illegal-change", f"job {job[:8]} changed while {before.status} (rev {event.revision})")

    for job, job_calls in by_job_calls.items():
        history = by_job_events.get(job, [])
        claimed: dict[int, Call] = {}  # event index -> the call whose reply it is
        call_index: dict[int, int] = {}  # id(call) -> event index

        # 1. Successful replies: exactly one event each.
        for call in job_calls:
            if not call.ok:
                continue
            problem, index = match_success(call, history, index_of)
            if problem is None and index in claimed:
                problem = f"the same change (rev {history[index].revision}) is also the reply of: {claimed[index]}"
            if problem is not None:
                verdict.fail("false-success", f"{call}: {problem}")
                continue
            claimed[index] = call
            call_index[id(call)] = index
            verdict.passed += 1

        # 2. Real time: A answered before B was invoked => A's event before B's.
        done = sorted((c for c in job_calls if id(c) in call_index), key=lambda c: call_index[id(c)])
        earliest_later_answer = float("inf")
        later: Optional[Call] = None
        for call in reversed(done):
            if earliest_later_answer < call.t0 and later is not None:
                verdict.fail("real-time", f"{later} answered before {call} was invoked, yet its change comes later in the log")
            if call.t1 < earliest_later_answer:
                earliest_later_answer, later = call.t1, call

        # 3. Refusals: a state the job was in, inside the call's window.
        windows = Windows(history, job_calls, call_index)
        for call in job_calls:
            if call.ok or call.unknown:
                continue
            lo, hi = windows.of(call)
            problem = match_refusal(call, history, lo, hi)
            if problem is None:
                verdict.passed += 1
            else:
                verdict.fail("false-refusal", f"{call}: {problem}")

        # 4b. No operator's change without a successful reply claiming it.
        unanswered = any(c.unknown for c in job_calls)
        for i, event in enumerate(history):
            before = history[i - 1] if i else None
            needed = classify(before, event)
            if needed is None or i in claimed:
                continue
            if unanswered:
                verdict.counts["excused-unanswered"] += 1
                continue
            verdict.fail("phantom-change", f"job {job[:8]} {before.status if before else '-'} -> {event.state} at rev {event.revision} ({needed}) with no acknowledged call")
        verdict.passed += len(history)


def match_success(call: Call, history: list[Event], index_of: dict) -> tuple[Optional[str], int]:
    """The log event a successful reply is (None, index) or why there is none."""
    if call.op in ("delete", "subject-discard"):
        kind = kiln.WatchEventKind.DELETED if call.op == "delete" else None
        candidates = [
            i for i, e in enumerate(history)
            if (e.kind is kind if kind else (e.status is S.DISCARDED and i and history[i - 1].status is not S.DISCARDED))
        ]
        if len(candidates) != 1:
            return f"{len(candidates)} matching events in the log", -1
        index = candidates[0]
    else:
        where = index_of.get(call.revision)
        if where is None:
            return f"no event has revision {call.revision}", -1
        job, index = where
        if job != call.job:
            return f"revision {call.revision} is a change of job {job[:8]}", -1
    event = history[index]
    before = history[index - 1] if index else None
    if call.op == "submit":
        if index != 0 or event.kind is not kiln.WatchEventKind.CREATED or event.status is not S.PENDING:
            return f"the log's rev {event.revision} is {event.kind.value} {event.status}, not the creation", index
    else:
        action = A.DISCARD if call.op == "subject-discard" else A(call.op.upper())
        if before is None:
            return f"rev {event.revision} has no earlier state to act on", index
        if action not in ALLOWED[before.status]:
            return f"the job was {before.status} (rev {before.revision}), which does not allow {action.value}", index
        target = TARGET[action]
        if target is not None and event.status is not target:
            return f"the log's rev {event.revision} made it {event.status}, not {target}", index
        if call.status is not None and call.status is not event.status:
            return f"the reply says {call.status}, the log's rev {event.revision} says {event.status}", index
        if action is A.RESTART and event.attempt != before.attempt + 1:
            return f"attempt {before.attempt} -> {event.attempt} at rev {event.revision}", index
        if call.expected is not None and before.revision != call.expected:
            return f"expected rev {call.expected} but it acted on rev {before.revision}", index
        if call.op == "subject-discard" and "subject" not in event.reason:
            return f"the discard at rev {event.revision} gives the reason {event.reason!r}", index
    if not (call.t0 - TOLERANCE <= event.time <= call.t1 + TOLERANCE):
        return f"the change (rev {event.revision}) was committed at {event.time:.3f}, outside the call", index
    return None, index


class Windows:
    """Where in a job's history a call may take effect: positions lo..hi, position p
    being "after event p" (the status of event p, or deleted)."""

    def __init__(self, history: list[Event], calls: list[Call], call_index: dict[int, int]) -> None:
        self.last = len(history) - 1
        answered = sorted((c.t1, call_index[id(c)]) for c in calls if id(c) in call_index)
        self.answer_times = [t for t, _ in answered]
        self.prefix_max = []
        best = 0
        for _, index in answered:
            best = max(best, index)
            self.prefix_max.append(best)
        invoked = sorted((c.t0, call_index[id(c)]) for c in calls if id(c) in call_index)
        invoked += [(e.time - TOLERANCE, i) for i, e in enumerate(history)]  # committed after that time
        invoked.sort()
        self.start_times = [t for t, _ in invoked]
        self.suffix_min = [0] * len(invoked)
        low = len(history)
        for k in range(len(invoked) - 1, -1, -1):
            low = min(low, invoked[k][1])
            self.suffix_min[k] = low

    def of(self, call: Call) -> tuple[int, int]:
        k = bisect.bisect_left(self.answer_times, call.t0)  # calls answered before it was invoked
        lo = self.prefix_max[k - 1] if k else 0
        k = bisect.bisect_right(self.start_times, call.t1)  # events that began after it answered
        hi = (self.suffix_min[k] - 1) if k < len(self.start_times) else self.last
        return lo, max(hi, lo - 1)


def match_refusal(call: Call, history: list[Event], lo: int, hi: int) -> Optional[str]:
    if not history:
        return "the job has no event in the log"
    states = history[lo : hi + 1]
    shown = ", ".join(f"{e.state or 'deleted'}@{e.revision}" for e in states[:6]) or "none"
    if call.code is kiln.Code.FAILED_PRECONDITION:
        action = A.DISCARD if call.op == "subject-discard" else A(call.op.upper())
        if call.refused_status is None:
            return "no status named in the refusal"
        if action in ALLOWED[call.refused_status]:
            return f"refused although {call.refused_status} allows {action.value}"
        if not any(e.state is call.refused_status for e in states):
            return f"the job was never {call.refused_status} while the call could act (states {shown})"
    elif call.code is kiln.Code.NOT_FOUND:
        if not any(e.state is None for e in states):
            return f"the job existed all along the call (states {shown})"
    elif call.code is kiln.Code.ABORTED:
        if call.refused_revision is None:
            return "no revision named in the refusal"
        if call.refused_revision == call.expected:
            return f"refused although the job is at the expected revision {call.expected}"
        if not any(e.revision == call.refused_revision and e.state is not None for e in states):
            return f"the job was never at revision {call.refused_revision} while the call could act (states {shown})"
    return None


def self_test(calls: list[Call], events: list[Event], rng: random.Random) -> list[str]:
    """Corrupts the recorded history in ways a wrong server would, and checks that the
    checker notices each one: evidence that a clean verdict means something."""
    import copy

    results = []

    def run(name: str, category: "str | tuple[str, ...]", mutate) -> None:
        mutated = copy.deepcopy(calls)
        if not mutate(mutated):
            results.append(f"{name}: no call to corrupt")
            return
        verdict = Verdict()
        check(mutated, events, verdict)
        categories = (category,) if isinstance(category, str) else category
        found = any(verdict.counts.get(c) for c in categories)
        results.append(f"{name}: {'detected' if found else 'MISSED'}")

    def wrong_status(cs: list[Call]) -> bool:
        c = [c for c in cs if c.ok and c.op == "pause"]
        if not c:
            return False
        rng.choice(c).status = S.RUNNING  # a reply claiming a status the change did not give
        return True

    def wrong_revision(cs: list[Call]) -> bool:
        c = [c for c in cs if c.ok and c.op in ("resume", "restart")]
        if not c:
            return False
        rng.choice(c).revision += 1  # a reply naming another change
        return True

    def stale_refusal(cs: list[Call]) -> bool:
        had = defaultdict(set)
        for e in events:
            had[e.job].add(e.status)
        for call in cs:
            if call.code is kiln.Code.FAILED_PRECONDITION and call.op == "pause":
                never = [s for s in (S.PAUSED, S.FINISHED, S.DISCARDED) if s not in had[call.job]]
                if never:
                    call.refused_status = never[0]  # a status the job never had at all
                    return True
        return False

    def lost_reply(cs: list[Call]) -> bool:
        c = [c for c in cs if c.ok and c.op == "pause"]
        if not c:
            return False
        cs.remove(rng.choice(c))  # a change nobody asked for
        return True

    def reordered(cs: list[Call]) -> bool:
        by_job = defaultdict(list)
        for c in cs:
            if c.ok and c.op not in ("submit", "subject-discard"):
                by_job[c.job].append(c)
        for job_calls in by_job.values():
            job_calls.sort(key=lambda c: c.revision if c.op != "delete" else 1 << 60)
            if len(job_calls) >= 2:
                first, second = job_calls[0], job_calls[1]
                # the later change answered before the earlier one was invoked
                second.t0, second.t1 = first.t0 - 2, first.t0 - 1
                return True
        return False

    run("a reply with a status the log does not have", "false-success", wrong_status)
    run("a reply naming another revision", "false-success", wrong_revision)
    run("a refusal naming a status the job did not have", "false-refusal", stale_refusal)
    run("a change without a reply", "phantom-change", lost_reply)
    # Commit times inside the calls imply real-time order up to the clock's tolerance, so
    # this one is caught as a change committed outside its call, or as real-time.
    run("two changes in the wrong real-time order", ("real-time", "false-success"), reordered)
    return results


# MARK: - The run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--jobs", type=int, default=8, help="the jobs every client works on")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", help="use (and keep) this work directory")
    parser.add_argument("--self-test", action="store_true", help="also check that the checker catches corrupted histories")
    add_store_argument(parser)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    workdir = make_workdir("kiln-races-", args.keep)
    server, _ = setup_server(
        workdir, ["--max-running", "16", "--max-running-per-project", "16", "--heartbeat", "1"], store=args.store
    )
    verdict = Verdict()
    recorder = Recorder()
    try:
        log(
            f"races: seed {seed}, {args.clients} clients for {args.seconds:.0f} s on {args.jobs} jobs, "
            f"kilnd {server.binary}, state in {server.store}"
        )
        server.start()
        with server.client() as admin:
            admin.create_project(PROJECT, "reliability suite: races")
            for subject in SUBJECTS:
                admin.create_subject(subject, PROJECT, kind="model", schema="id INT")
        watcher = LogWatcher(server)
        time.sleep(0.5)
        pool = Pool(args.jobs)
        deadline = time.time() + args.seconds
        clients = Clients(server, pool, recorder, seed, deadline)
        with server.client(timeout=30) as first:
            for _ in range(args.jobs):
                clients.submit(first, random.Random(seed))
        channels = [server.client(timeout=30) for _ in range(max(1, args.clients // 10))]
        threads = [threading.Thread(target=clients.keeper, daemon=True)]
        threads += [
            threading.Thread(target=clients.worker, args=(i, channels[i % len(channels)]), daemon=True)
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 60)
        for channel in channels:
            channel.close()
        alive = server.alive()
        if not alive:
            verdict.fail("server", f"kilnd died (exit {server.process.returncode}): {server.log_tail(3)}")
            target = watcher.revision
        else:
            target = server.current_revision()
            for _ in range(300):
                if watcher.revision >= target or watcher.error:
                    break
                time.sleep(0.1)
        watcher.close()
        events = list(watcher.events)

        # The log must be complete for the checker to mean anything.
        gaps = [(a.revision, b.revision) for a, b in zip(events, events[1:]) if b.revision != a.revision + 1]
        if gaps:
            verdict.fail("watch", f"{len(gaps)} gaps or repeats in the unfiltered watch, e.g. {gaps[:3]}")
        if alive and watcher.revision < target:
            verdict.fail("watch", f"the watch stopped at {watcher.revision}, the server is at {target}")
        for mark in watcher.marks:
            if mark.kind is kiln.WatchEventKind.RESYNCHRONIZED:
                verdict.fail("watch", f"the watch resynchronized at {mark.revision}")
        for error in clients.errors[:5]:
            verdict.fail("client", error)

        calls = list(recorder.calls)
        check(calls, events, verdict)
        ops = defaultdict(lambda: defaultdict(int))
        for call in calls:
            ops[call.op]["ok" if call.ok else (call.code.name if call.code else "?")] += 1
        log(f"races: {len(calls)} replies, {len(events)} events (revisions {events[0].revision if events else 0}..{events[-1].revision if events else 0})")
        for op, outcomes in sorted(ops.items()):
            log(f"    {op:16} " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        if args.self_test:
            for line in self_test(calls, events, random.Random(seed)):
                log(f"self-test: {line}")
                if "MISSED" in line:
                    verdict.fail("self-test", line)
        if verdict.counts:
            log("races: " + ", ".join(f"{k} {v}" for k, v in sorted(verdict.counts.items())))
        for failure in verdict.failures[:25]:
            log(f"    {failure}")
        if len(verdict.failures) > 25:
            log(f"    ... and {len(verdict.failures) - 25} more")
    finally:
        teardown(server, workdir, args.keep)
    log(f"races: {verdict.passed} passed, {len(verdict.failures)} failed")
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
