"""kiln.aio.Client, the asyncio client, against a real kilnd."""

from __future__ import annotations

import asyncio
import inspect
import re
import urllib.request
import uuid
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Optional, TypeVar

import grpc
import grpc.aio
import pytest
import pytest_asyncio

import kiln
from kiln import Code, JobAction, JobFilter, JobStatus, KilnError, WatchEventKind
from kiln._proto import jobs_pb2

from conftest import Kilnd, stable_port

T = TypeVar("T")
LONG = {"sleep_ms": "600000"}  # each step 10 minutes: a job that stays RUNNING
QUICK = {"sleep_ms": "20"}


@pytest_asyncio.fixture
async def client(kilnd: Kilnd) -> AsyncIterator[kiln.aio.Client]:
    async with kilnd.aio_client() as client:
        yield client


async def eventually(condition: Callable[[], Awaitable[Optional[T]]], what: str, timeout: float = 60) -> T:
    """Awaits ``condition`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await condition()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def job_in(client: kiln.aio.Client, job_id: str, *statuses: JobStatus) -> kiln.Job:
    """Polls the job until its status is one of ``statuses``."""

    async def check() -> Optional[kiln.Job]:
        job = await client.job(job_id)
        return job if job.status in statuses else None

    return await eventually(check, f"job {job_id} to be {'/'.join(s.value for s in statuses)}")


class Collector:
    """Reads a watch in a task into a queue, so that a test can act while it watches."""

    def __init__(self, events: AsyncIterator[kiln.WatchEvent]) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(events))

    async def _run(self, events: AsyncIterator[kiln.WatchEvent]) -> None:
        try:
            async for event in events:
                self.queue.put_nowait(event)
        except Exception as error:  # handed to the test
            self.queue.put_nowait(error)

    async def next(self, timeout: float = 60) -> kiln.WatchEvent:
        try:
            item = await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            pytest.fail("no watch event within the deadline")
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, kiln.WatchEvent)
        return item

    async def change(self, timeout: float = 60) -> kiln.WatchEvent:
        """The next event that is not a heartbeat."""
        while True:
            event = await self.next(timeout)
            if event.kind is not WatchEventKind.HEARTBEAT:
                return event

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_the_same_methods_as_the_blocking_client() -> None:
    blocking = {n: m for n, m in vars(kiln.Client).items() if not n.startswith("_") and callable(m)}
    asynchronous = {n: m for n, m in vars(kiln.aio.Client).items() if not n.startswith("_") and callable(m)}
    assert set(asynchronous) == set(blocking)
    streams = {"all_jobs", "all_audit_events", "follow_step_log", "watch_jobs", "watch_job"}
    for name, method in blocking.items():
        ours = asynchronous[name]
        theirs, mine = inspect.signature(method).parameters, inspect.signature(ours).parameters
        assert [(p.name, p.kind, p.default) for p in mine.values()] == [
            (p.name, p.kind, p.default) for p in theirs.values()
        ], name
        assert ours.__doc__, f"kiln.aio.Client.{name} has no docstring"
        assert inspect.iscoroutinefunction(ours) == (name not in streams), name


def test_retries_of_unavailable_reuse_one_request_id() -> None:
    """Both clients: three attempts of one submit, the first two UNAVAILABLE, send one request id."""
    seen: list[str] = []

    def attempt(request: jobs_pb2.SubmitJobRequest, **_: object) -> jobs_pb2.SubmitJobResponse:
        seen.append(request.request_id)
        if len(seen) % 3:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="connection refused"
            )
        return jobs_pb2.SubmitJobResponse(job=jobs_pb2.Job(id="j", status=jobs_pb2.JOB_STATUS_PENDING))

    async def awaited(request: jobs_pb2.SubmitJobRequest, **options: object) -> jobs_pb2.SubmitJobResponse:
        return attempt(request, **options)

    class Service:
        def __init__(self, method: Callable[..., object]) -> None:
            self.SubmitJob = method

    config = kiln.Config(port=stable_port(), retry=kiln.RetryPolicy(max_attempts=3, initial_backoff=0.01))
    with kiln.Client(config) as blocking:
        blocking.job_service = Service(attempt)  # type: ignore[assignment]
        assert blocking.submit_job("p", "INDEX_BUILD", "s").id == "j"

    async def run() -> kiln.Job:
        async with kiln.aio.Client(config) as asynchronous:
            asynchronous.job_service = Service(awaited)  # type: ignore[assignment]
            return await asynchronous.submit_job("p", "INDEX_BUILD", "s")

    assert asyncio.run(run()).status is JobStatus.PENDING
    assert len(seen) == 6 and len(set(seen[:3])) == 1 and len(set(seen[3:])) == 1 and seen[0] != seen[3]


@pytest.mark.asyncio
async def test_submit_list_and_get(client: kiln.aio.Client, project: str) -> None:
    assert await client.health() is kiln.HealthStatus.SERVING
    me = await client.whoami()
    assert me.user.name == "admin" and me.user.admin and me.authentication_enabled
    types = {t.name: t for t in await client.job_types()}
    assert [s.name for s in types["INDEX_BUILD"].steps][:2] == ["DETECT_RESOURCE", "LOAD_DATA"]

    ids = [(await client.submit_job(project, "INDEX_BUILD", "s", LONG)).id for _ in range(3)]
    job = await client.job(ids[0])
    assert (job.project, job.job_type, job.subject, job.params, job.submitter) == (project, "INDEX_BUILD", "s", LONG, "admin")
    mine = JobFilter(projects=[project])
    first = await client.list_jobs(mine, page_size=2)
    assert [j.id for j in first.jobs] == ids[:0:-1] and first.total_size == 3 and first.next_page_token
    last = await client.list_jobs(mine, page_size=2, page_token=first.next_page_token)
    assert [j.id for j in last.jobs] == ids[:1] and last.next_page_token is None
    oldest_first = kiln.JobOrder(kiln.OrderField.CREATE_TIME, ascending=True)
    assert [j.id async for j in client.all_jobs(mine, oldest_first, page_size=2)] == ids
    assert (await client.batch(JobAction.DISCARD, filter=mine)).succeeded == 3


@pytest.mark.asyncio
async def test_every_operation_and_a_batch(client: kiln.aio.Client, project: str) -> None:
    job = await client.submit_job(project, "INDEX_BUILD", "s", LONG)
    await job_in(client, job.id, JobStatus.RUNNING)
    await client.pause(job.id)
    paused = await job_in(client, job.id, JobStatus.PAUSED)

    with pytest.raises(KilnError) as refused:
        await client.pause(job.id)
    assert refused.value.code is Code.FAILED_PRECONDITION and refused.value.job_status is JobStatus.PAUSED
    assert refused.value.allowed_actions == [JobAction.RESUME, JobAction.RESTART, JobAction.DISCARD]
    with pytest.raises(KilnError) as stale:
        await client.resume(job.id, expected_revision=paused.revision - 1)
    assert stale.value.code is Code.ABORTED and stale.value.job_revision == paused.revision

    assert (await client.resume(job.id, expected_revision=paused.revision)).status in (
        JobStatus.PENDING, JobStatus.RUNNING,
    )
    await job_in(client, job.id, JobStatus.RUNNING)
    request_id = kiln.new_request_id()
    restarted = await client.restart(job.id, request_id=request_id)
    assert restarted.attempt == 2
    assert (await client.restart(job.id, request_id=request_id)).revision == restarted.revision
    discarded = await client.perform(JobAction.DISCARD, job.id)
    assert discarded is not None and discarded.status is JobStatus.DISCARDED
    assert await client.delete(job.id) is None
    with pytest.raises(KilnError) as gone:
        await client.job(job.id)
    assert gone.value.code is Code.NOT_FOUND

    running = [await client.submit_job(project, "INDEX_BUILD", "s", LONG) for _ in range(2)]
    done = await client.submit_job(project, "TABLE_SAMPLING", "s", QUICK)
    await client.wait_for_job(done.id, timeout=60)
    outcome = await client.batch(JobAction.DISCARD, ids=[running[0].id, done.id, running[1].id])
    assert (outcome.succeeded, outcome.failed) == (2, 1)
    assert [r.ok for r in outcome.results] == [True, False, True]
    assert outcome.results[0].job is not None and outcome.results[0].job.status is JobStatus.DISCARDED
    refusal = outcome.results[1].error
    assert refusal is not None and refusal.code is Code.FAILED_PRECONDITION
    deleted = await client.batch(JobAction.DELETE, filter=JobFilter(projects=[project]))
    assert (deleted.succeeded, deleted.failed) == (3, 0)


@pytest.mark.asyncio
async def test_errors_carry_the_code_and_the_field(kilnd: Kilnd, client: kiln.aio.Client, project: str) -> None:
    with pytest.raises(KilnError) as unknown_type:
        await client.submit_job(project, "NO_SUCH_TYPE", "s")
    assert unknown_type.value.code is Code.INVALID_ARGUMENT and unknown_type.value.field == "job_type"
    assert "NO_SUCH_TYPE" in unknown_type.value.message
    with pytest.raises(KilnError) as bad_page:
        await client.list_jobs(page_size=-1)
    assert bad_page.value.code is Code.INVALID_ARGUMENT and bad_page.value.field == "page_size"
    with pytest.raises(KilnError) as not_a_mapping:
        await client.submit_job(project, "INDEX_BUILD", "s", ["sleep_ms=1"])  # type: ignore[arg-type]
    assert not_a_mapping.value.code is Code.INVALID_ARGUMENT and not_a_mapping.value.field == "params"
    with pytest.raises(KilnError) as no_subject:
        await client.submit_job(project, "INDEX_BUILD", "missing")
    assert no_subject.value.code is Code.NOT_FOUND and "missing" in no_subject.value.message
    with pytest.raises(KilnError) as neither:
        await client.batch(JobAction.DELETE)
    assert neither.value.code is Code.INVALID_ARGUMENT and neither.value.field == "selector"
    with pytest.raises(KilnError) as bad_action:
        await client.perform("STOP", "j")  # type: ignore[arg-type]
    assert bad_action.value.field == "action" and "PAUSE" in bad_action.value.message

    async with kilnd.aio_client(token="") as anonymous:
        assert await anonymous.health() is kiln.HealthStatus.SERVING
        with pytest.raises(KilnError) as refused:
            await anonymous.projects()
        assert refused.value.code is Code.UNAUTHENTICATED

    with pytest.raises(TypeError, match="unknown client option hots"):
        kiln.aio.Client(kilnd.config(), hots="x")
    with pytest.raises(TypeError, match="async with"):
        with kilnd.aio_client():
            pass
    closed = kilnd.aio_client()
    await closed.close()
    with pytest.raises(KilnError) as after_close:
        await closed.job_types()
    assert after_close.value.code is Code.CANCELLED and "closed" in after_close.value.message

    # config.timeout is each attempt's deadline.
    async with kilnd.aio_client(timeout=1e-6) as hurried:
        with pytest.raises(KilnError) as late:
            await hurried.job_types()
    assert late.value.code is Code.DEADLINE_EXCEEDED

    unreachable = kiln.Config(port=stable_port(), retry=kiln.RetryPolicy(max_attempts=2, initial_backoff=0.01), timeout=5)
    async with kiln.aio.Client(unreachable) as nowhere:
        with pytest.raises(KilnError) as down:
            await nowhere.job_types()
    assert down.value.code is Code.UNAVAILABLE


@pytest.mark.asyncio
async def test_projects_access_and_subjects(kilnd: Kilnd, client: kiln.aio.Client, project: str) -> None:
    name = f"aio-{uuid.uuid4().hex[:6]}"
    assert (await client.create_project(name, "first")).creator == "admin"
    updated = await client.update_project(name, description="second", callback_url="http://127.0.0.1:9/hook")
    assert (updated.description, updated.callback_url) == ("second", "http://127.0.0.1:9/hook")
    assert (await client.project(name)).description == "second"
    assert name in [p.name for p in await client.projects()]

    subject = await client.create_subject("orders", name, kind="table", schema="id INT", attributes={"owner": "ana"})
    assert (subject.version, subject.attributes) == (1, {"owner": "ana"})
    job = await client.submit_job(name, "INDEX_BUILD", "orders", LONG)
    change = await client.update_subject(
        "orders", name, schema="id BIGINT", set_attributes={"tier": "gold"}, remove_attributes=["owner"],
        expected_version=1,
    )
    assert change.subject.version == 2 and change.discarded_job_ids == [job.id]
    assert (await client.subject("orders", name)).attributes == {"tier": "gold"}
    assert [s.name for s in await client.subjects(name)] == ["orders"]
    with pytest.raises(KilnError) as stale:
        await client.delete_subject("orders", name, expected_version=1)
    assert stale.value.code is Code.ABORTED and stale.value.subject_version == 2
    assert await client.delete_subject("orders", name, expected_version=2) == []
    assert await client.delete_project(name) == 1

    viewer = f"viewer-{uuid.uuid4().hex[:6]}"
    assert not (await client.create_user(viewer)).admin
    binding = await client.grant_role(viewer, project, kiln.Role.VIEWER)
    new = await client.create_token(viewer, description="aio")
    async with kilnd.aio_client(token=new.secret) as as_viewer:
        me = await as_viewer.whoami()
        assert me.user.roles == [binding] and me.token_id == new.token.id
        assert [t.id for t in await as_viewer.tokens()] == [new.token.id]
        with pytest.raises(KilnError) as denied:
            await as_viewer.users()
        assert denied.value.code is Code.PERMISSION_DENIED
        assert (await client.revoke_token(new.token.id)).revoke_time is not None
        with pytest.raises(KilnError) as revoked:
            await as_viewer.projects()
        assert revoked.value.code is Code.UNAUTHENTICATED
    assert viewer in [u.name for u in await client.users()]
    assert (await client.set_user_disabled(viewer)).disabled
    await client.revoke_role(viewer, project)
    mine = kiln.AuditFilter(target=viewer)
    page = await client.audit_events(mine, page_size=1)
    assert len(page.events) == 1 and page.next_page_token
    methods = [e.method.rsplit("/", 1)[-1] async for e in client.all_audit_events(mine, page_size=1)]
    assert methods[:2] == ["RevokeRole", "SetUserDisabled"] and "CreateUser" in methods


@pytest.mark.asyncio
async def test_a_watch_sees_live_changes_and_survives_a_restart(workdir: Path) -> None:
    server = Kilnd(workdir / "aio-restart", port=stable_port())
    server.start()
    try:
        fast_retry = kiln.RetryPolicy(initial_backoff=0.05, max_backoff=0.2)
        async with server.aio_client(retry=fast_retry) as client:
            await client.create_project("p")
            await client.create_subject("s", "p")
            watch = Collector(client.watch_jobs(JobFilter(projects=["p"])))
            snapshot = await watch.next()
            assert snapshot.kind is WatchEventKind.SNAPSHOT and snapshot.jobs == []


            async def job_change() -> kiln.WatchEvent:
                event = await watch.change()
                assert event.kind in (WatchEventKind.CREATED, WatchEventKind.UPDATED), (
                    f"a {event.kind} event: the watch must resume after its last revision, not start over"
                )
                return event

            job = await client.submit_job("p", "INDEX_BUILD", "s", LONG)
            events = [await job_change()]
            assert events[0].kind is WatchEventKind.CREATED and events[0].job.id == job.id
            while events[-1].job.status is not JobStatus.RUNNING:
                events.append(await job_change())

            # The watch reconnects while kilnd is down and after it is back: same port, same data.
            await asyncio.to_thread(server.restart)
            await client.pause(job.id)
            while events[-1].job.status is not JobStatus.PAUSED:
                events.append(await job_change())
            assert {e.job.id for e in events} == {job.id}
            revisions = [e.revision for e in events]
            assert revisions == list(range(revisions[0], revisions[0] + len(revisions))), "nothing lost or repeated"
            assert revisions[-1] == (await client.job(job.id)).revision
            await watch.stop()
            await client.discard(job.id)
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_follow_step_log_to_the_end(client: kiln.aio.Client, project: str) -> None:
    job = await client.submit_job(project, "TABLE_SAMPLING", "s", {"sleep_ms": "300"})
    followed = b"".join([chunk async for chunk in client.follow_step_log(job.id, 0)])
    assert b"SAMPLE_TABLE: simulated work for 300 ms" in followed
    assert followed.rstrip().endswith(b"=== SAMPLE_TABLE succeeded ===")
    whole = await client.step_log(job.id, "SAMPLE_TABLE")
    assert whole.data == followed and whole.complete
    assert b"".join([c async for c in client.follow_step_log(job.id, "SAMPLE_TABLE", offset=10)]) == followed[10:]
    with pytest.raises(KilnError) as past_end:
        await client.step_log(job.id, 0, offset=len(followed) + 100)
    assert past_end.value.code is Code.OUT_OF_RANGE
    with pytest.raises(KilnError) as negative:
        client.follow_step_log(job.id, 0, offset=-1)
    assert negative.value.field == "offset"


@pytest.mark.asyncio
async def test_wait_for_job(client: kiln.aio.Client, project: str) -> None:
    quick = await client.submit_job(project, "TABLE_SAMPLING", "s", QUICK)
    done = await client.wait_for_job(quick.id, timeout=60)
    assert done.status is JobStatus.FINISHED and done.progress == 100
    events = [e async for e in client.watch_job(quick.id)]  # a final job: the snapshot, then the end
    assert [e.kind for e in events] == [WatchEventKind.SNAPSHOT] and events[0].jobs[0].id == quick.id

    held = await client.submit_job(project, "INDEX_BUILD", "s", LONG)
    with pytest.raises(KilnError) as waited:
        await client.wait_for_job(held.id, timeout=0.3)
    assert waited.value.code is Code.DEADLINE_EXCEEDED
    waiting = asyncio.create_task(client.wait_for_job(held.id, timeout=60))
    await client.discard(held.id)
    assert (await waiting).status is JobStatus.DISCARDED
    with pytest.raises(KilnError) as unknown:
        await client.wait_for_job(str(uuid.uuid4()), timeout=10)
    assert unknown.value.code is Code.NOT_FOUND


@pytest.mark.asyncio
async def test_many_calls_gathered_at_once(client: kiln.aio.Client, project: str) -> None:
    submitted = await asyncio.gather(*(client.submit_job(project, "INDEX_BUILD", "s", LONG) for _ in range(40)))
    ids = {job.id for job in submitted}
    assert len(ids) == 40
    fetched = await asyncio.gather(*(client.job(job_id) for job_id in ids), client.list_jobs(JobFilter(projects=[project])))
    page = fetched.pop()
    assert {job.id for job in fetched} == ids and page.total_size == 40
    # One bad call among them fails alone.
    results = await asyncio.gather(client.job("no-such-job"), client.job_types(), return_exceptions=True)
    assert isinstance(results[0], KilnError) and results[0].code is Code.NOT_FOUND and isinstance(results[1], list)
    discarded = await asyncio.gather(*(client.discard(job_id) for job_id in ids))
    assert {job.status for job in discarded} == {JobStatus.DISCARDED}


async def open_watches(url: str) -> float:
    def scrape() -> float:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        return float(re.search(r"^kiln_watches_open (\S+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]

    return await asyncio.to_thread(scrape)


@pytest.mark.asyncio
async def test_cancelling_a_watch_cancels_its_rpc(metered: tuple[Kilnd, str]) -> None:
    server, url = metered
    async with server.aio_client() as client:
        watch = Collector(client.watch_jobs())
        assert (await watch.next()).kind is WatchEventKind.SNAPSHOT
        await eventually(lambda: _equals(open_watches(url), 1), "the server to count the watch")
        watch.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch.task
        await eventually(lambda: _equals(open_watches(url), 0), "the server to see the watch cancelled")

        # Leaving the iteration and closing the generator ends the RPC too; the client goes on.
        events = client.watch_jobs()
        async for event in events:
            assert event.kind is WatchEventKind.SNAPSHOT
            break
        await eventually(lambda: _equals(open_watches(url), 1), "the server to count the second watch")
        await events.aclose()
        await eventually(lambda: _equals(open_watches(url), 0), "the server to see the second watch closed")
        assert await client.health() is kiln.HealthStatus.SERVING

        # Closing the client ends a watch quietly.
        watch = Collector(client.watch_jobs())
        assert (await watch.next()).kind is WatchEventKind.SNAPSHOT
    await asyncio.wait_for(watch.task, 10)
    assert watch.queue.empty()


async def _equals(value: Awaitable[float], expected: float) -> bool:
    return await value == expected
