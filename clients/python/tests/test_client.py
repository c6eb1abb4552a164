"""The Python client against a real kilnd."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Iterator, Optional

import grpc
import pytest

import kiln
import kiln._proto.jobs_pb2
from kiln import Code, JobAction, JobFilter, JobStatus, KilnError, WatchEventKind

from conftest import Collector, Kilnd, eventually, job_in, stable_port

LONG = {"sleep_ms": "600000"}  # each step 10 minutes: a job that stays RUNNING
QUICK = {"sleep_ms": "20"}


def change(collector: Collector) -> kiln.WatchEvent:
    """The next event of a watch that is not a heartbeat."""
    while True:
        event = collector.next()
        if event.kind is not WatchEventKind.HEARTBEAT:
            return event


def changes(watch: Iterator[kiln.WatchEvent], count: int) -> list[kiln.WatchEvent]:
    """The next ``count`` events of a watch that are not heartbeats."""
    taken: list[kiln.WatchEvent] = []
    for event in watch:
        if event.kind is not WatchEventKind.HEARTBEAT:
            taken.append(event)
            if len(taken) == count:
                break
    return taken


def test_health_needs_no_token(kilnd: Kilnd) -> None:
    with kilnd.client(token="") as anonymous:
        assert anonymous.health() is kiln.HealthStatus.SERVING
        with pytest.raises(KilnError) as refused:
            anonymous.projects()
        assert refused.value.code is Code.UNAUTHENTICATED


def test_submit_and_wait_until_finished(admin: kiln.Client, project: str) -> None:
    types = {t.name: t for t in admin.job_types()}
    assert [s.name for s in types["INDEX_BUILD"].steps][:2] == ["DETECT_RESOURCE", "LOAD_DATA"]
    assert "sleep_ms" in [p.name for p in types["INDEX_BUILD"].params]

    job = admin.submit_job(project, "INDEX_BUILD", "s", QUICK)
    assert job.status is JobStatus.PENDING
    assert (job.project, job.job_type, job.subject, job.subject_version) == (project, "INDEX_BUILD", "s", 1)
    assert job.params == QUICK and job.attempt == 1 and job.submitter == "admin"
    assert JobAction.PAUSE in job.allowed_actions

    done = admin.wait_for_job(job.id, timeout=120)
    assert done.status is JobStatus.FINISHED and done.is_final
    assert done.progress == 100 and done.end_time is not None and done.revision > job.revision
    assert [s.status for s in done.steps] == [JobStatus.FINISHED] * len(done.steps)
    assert done.allowed_actions == [JobAction.DELETE]
    again = admin.job(job.id)
    assert again.status is JobStatus.FINISHED and again.steps[0].name == "DETECT_RESOURCE"


def test_every_operation_and_a_refused_one(admin: kiln.Client, project: str) -> None:
    job = admin.submit_job(project, "INDEX_BUILD", "s", LONG)
    job_in(admin, job.id, JobStatus.RUNNING)

    paused = admin.pause(job.id)
    paused = job_in(admin, paused.id, JobStatus.PAUSED)

    with pytest.raises(KilnError) as refused:
        admin.pause(job.id)
    error = refused.value
    assert error.code is Code.FAILED_PRECONDITION
    assert "its status is PAUSED" in error.message
    assert error.job_status is JobStatus.PAUSED
    assert error.allowed_actions == [JobAction.RESUME, JobAction.RESTART, JobAction.DISCARD]
    assert error.details["kiln-job-status"] == "PAUSED"

    with pytest.raises(KilnError) as stale:
        admin.resume(job.id, expected_revision=paused.revision - 1)
    assert stale.value.code is Code.ABORTED and stale.value.job_revision == paused.revision

    resumed = admin.resume(job.id, expected_revision=paused.revision)
    assert resumed.status in (JobStatus.PENDING, JobStatus.RUNNING)
    job_in(admin, job.id, JobStatus.RUNNING)

    # A repeated request id returns the first answer and does not act twice.
    request_id = kiln.new_request_id()
    restarted = admin.restart(job.id, request_id=request_id)
    assert restarted.attempt == 2
    assert admin.restart(job.id, request_id=request_id).revision == restarted.revision
    assert admin.job(job.id).attempt == 2

    discarded = admin.discard(job.id)
    assert discarded.status is JobStatus.DISCARDED and discarded.allowed_actions == [JobAction.DELETE]
    with pytest.raises(KilnError) as final:
        admin.resume(job.id)
    assert final.value.code is Code.FAILED_PRECONDITION and final.value.allowed_actions == [JobAction.DELETE]

    assert admin.delete(job.id) is None
    with pytest.raises(KilnError) as gone:
        admin.job(job.id)
    assert gone.value.code is Code.NOT_FOUND


def test_invalid_requests_name_the_field(admin: kiln.Client, project: str) -> None:
    with pytest.raises(KilnError) as unknown_type:
        admin.submit_job(project, "NO_SUCH_TYPE", "s")
    assert unknown_type.value.code is Code.INVALID_ARGUMENT and unknown_type.value.field
    with pytest.raises(KilnError) as no_subject:
        admin.submit_job(project, "INDEX_BUILD", "missing")
    assert no_subject.value.code is Code.NOT_FOUND and "missing" in no_subject.value.message
    with pytest.raises(KilnError) as bad_page:
        admin.list_jobs(page_size=-1)
    assert bad_page.value.code is Code.INVALID_ARGUMENT


def test_wait_for_job_with_a_deadline(admin: kiln.Client, project: str) -> None:
    job = admin.submit_job(project, "INDEX_BUILD", "s", LONG)
    with pytest.raises(KilnError) as waited:
        admin.wait_for_job(job.id, timeout=0.5)
    assert waited.value.code is Code.DEADLINE_EXCEEDED
    admin.discard(job.id)
    assert admin.wait_for_job(job.id, timeout=60).status is JobStatus.DISCARDED


def test_batch_by_filter_and_by_ids(admin: kiln.Client, project: str) -> None:
    running = [admin.submit_job(project, "INDEX_BUILD", "s", LONG) for _ in range(3)]
    for job in running:
        job_in(admin, job.id, JobStatus.RUNNING)
    done = admin.submit_job(project, "TABLE_SAMPLING", "s", QUICK)
    admin.wait_for_job(done.id, timeout=120)

    # "Select all" RUNNING jobs of the project: pause them.
    paused = admin.batch(JobAction.PAUSE, filter=JobFilter(projects=[project], statuses=[JobStatus.RUNNING]))
    assert (paused.succeeded, paused.failed) == (3, 0)
    assert sorted(r.id for r in paused.results) == sorted(j.id for j in running)
    assert all(r.ok and r.job is not None and r.job.status is JobStatus.PAUSED for r in paused.results)

    # By ids: one refusal does not stop the others.
    discarded = admin.batch(JobAction.DISCARD, ids=[running[0].id, done.id, running[1].id])
    assert (discarded.succeeded, discarded.failed) == (2, 1)
    assert [r.ok for r in discarded.results] == [True, False, True]
    refusal = discarded.results[1].error
    assert refusal is not None and refusal.code is Code.FAILED_PRECONDITION

    # Every job of the project that allows a discard.
    rest = admin.batch(JobAction.DISCARD, filter=JobFilter(projects=[project]))
    assert rest.succeeded == 1 and rest.results[[r.id for r in rest.results].index(running[2].id)].ok
    statuses = {j.id: j.status for j in admin.all_jobs(JobFilter(projects=[project]))}
    assert statuses == {**{j.id: JobStatus.DISCARDED for j in running}, done.id: JobStatus.FINISHED}

    with pytest.raises(KilnError) as neither:
        admin.batch(JobAction.DELETE)
    assert neither.value.code is Code.INVALID_ARGUMENT


def test_paging(admin: kiln.Client, project: str) -> None:
    admin.create_subject("other", project)
    ids = [admin.submit_job(project, "INDEX_BUILD", "s" if i % 2 else "other", LONG).id for i in range(7)]
    mine = JobFilter(projects=[project])

    first = admin.list_jobs(mine, page_size=3)
    assert len(first.jobs) == 3 and first.total_size == 7 and first.next_page_token
    # Newest first by default: the last submitted leads.
    assert first.jobs[0].id == ids[-1]
    second = admin.list_jobs(mine, page_size=3, page_token=first.next_page_token)
    third = admin.list_jobs(mine, page_size=3, page_token=second.next_page_token)
    assert len(third.jobs) == 1 and third.next_page_token is None
    paged = [j.id for page in (first, second, third) for j in page.jobs]
    assert paged == list(reversed(ids))

    oldest_first = kiln.JobOrder(kiln.OrderField.CREATE_TIME, ascending=True)
    assert [j.id for j in admin.all_jobs(mine, oldest_first, page_size=2)] == ids
    assert len(list(admin.all_jobs(JobFilter(projects=[project], subject="other"), page_size=2))) == 4
    assert {j.id for j in admin.all_jobs(JobFilter(key=ids[3][:13]))} >= {ids[3]}

    assert admin.batch(JobAction.DISCARD, filter=mine).succeeded == 7


def test_watch_sees_changes_in_order(admin: kiln.Client, project: str) -> None:
    before = admin.submit_job(project, "INDEX_BUILD", "s", LONG)
    job_in(admin, before.id, JobStatus.RUNNING)  # from now on it does not change by itself
    # The collector's watch ends when the admin client closes, after the test.
    collector = Collector(admin.watch_jobs(JobFilter(projects=[project])))
    snapshot = collector.next()
    assert snapshot.kind is WatchEventKind.SNAPSHOT
    assert [j.id for j in snapshot.jobs] == [before.id]

    job = admin.submit_job(project, "INDEX_BUILD", "s", QUICK)
    events = [change(collector)]
    while events[-1].job.status is not JobStatus.FINISHED:
        events.append(change(collector))
    assert all(e.job.id == job.id for e in events)
    assert events[0].kind is WatchEventKind.CREATED and events[0].job.status is JobStatus.PENDING
    assert all(e.kind is WatchEventKind.UPDATED for e in events[1:])
    revisions = [e.revision for e in events]
    assert revisions == sorted(set(revisions)) and revisions[0] > snapshot.revision
    assert revisions == [e.job.revision for e in events]
    assert JobStatus.RUNNING in [e.job.status for e in events]

    admin.discard(before.id)
    discarded = change(collector)
    assert discarded.kind is WatchEventKind.UPDATED and discarded.job.status is JobStatus.DISCARDED
    admin.delete(before.id)
    deleted = change(collector)
    assert deleted.kind is WatchEventKind.DELETED and deleted.job.id == before.id
    assert deleted.revision > discarded.revision > revisions[-1]

    # Resuming after a revision replays exactly the changes after it.
    replay = admin.watch_jobs(JobFilter(projects=[project]), since=revisions[0])
    try:
        replayed = changes(replay, len(revisions) - 1 + 2)
    finally:
        replay.close()
    assert [e.revision for e in replayed] == revisions[1:] + [discarded.revision, deleted.revision]


def test_list_then_watch_misses_nothing(admin: kiln.Client, project: str) -> None:
    first = admin.submit_job(project, "INDEX_BUILD", "s", LONG)
    page = admin.list_jobs(JobFilter(projects=[project]))
    assert [j.id for j in page.jobs] == [first.id] and page.revision >= first.revision
    # A change between the list and the watch is the watch's first event, with no snapshot.
    second = admin.submit_job(project, "INDEX_BUILD", "s", LONG)
    watch = admin.watch_jobs(JobFilter(projects=[project]), since=page.revision)
    try:
        event = changes(watch, 1)[0]
    finally:
        watch.close()
    assert event.kind is WatchEventKind.CREATED and event.job.id == second.id and event.revision > page.revision
    admin.batch(JobAction.DISCARD, filter=JobFilter(projects=[project]))


def test_watch_job_ends_by_itself(admin: kiln.Client, project: str) -> None:
    job = admin.submit_job(project, "TABLE_SAMPLING", "s", QUICK)
    events = list(admin.watch_job(job.id))
    assert events[0].kind is WatchEventKind.SNAPSHOT and events[0].jobs[0].id == job.id
    assert events[-1].job is not None and events[-1].job.status is JobStatus.FINISHED
    with pytest.raises(KilnError) as unknown:
        list(admin.watch_job(str(uuid.uuid4())))
    assert unknown.value.code is Code.NOT_FOUND


def test_watch_resumes_across_a_server_restart(workdir: Path) -> None:
    server = Kilnd(workdir / "restart", port=stable_port())
    try:
        server.start()
        with server.client() as admin:
            admin.create_project("p")
            for name in ("a0", "a1", "a2", "b"):
                admin.create_subject(name, "p")
        fast_retry = kiln.RetryPolicy(initial_backoff=0.05, max_backoff=0.2)
        with server.client(retry=fast_retry) as watching:
            collector = Collector(watching.watch_jobs(include_progress=True))
            snapshot = collector.next()
            assert snapshot.kind is WatchEventKind.SNAPSHOT and snapshot.jobs == []
            revisions: list[int] = []
            with server.client() as admin:
                for i in range(3):
                    admin.submit_job("p", "INDEX_BUILD", f"a{i}", {"sleep_ms": "400"})
            while len(revisions) < 6:
                event = collector.next()
                assert event.kind is not WatchEventKind.RESYNCHRONIZED
                if event.job is not None:
                    revisions.append(event.revision)

            server.restart()  # same port, same data: running jobs are requeued and finish

            finished: set[str] = set()
            with server.client() as admin:
                admin.submit_job("p", "INDEX_BUILD", "b", {"sleep_ms": "10"})
                while len(finished) < 4:
                    event = collector.next(timeout=120)
                    assert event.kind is not WatchEventKind.RESYNCHRONIZED, "no resynchronization expected"
                    if event.job is not None:
                        revisions.append(event.revision)
                        if event.job.status is JobStatus.FINISHED:
                            finished.add(event.job.id)
                jobs = {j.id: j.revision for j in admin.all_jobs()}
        first = revisions[0]
        assert revisions == list(range(first, first + len(revisions))), "consecutive revisions across the restart"
        assert revisions[-1] == max(jobs.values())
    finally:
        server.stop()


def test_access(kilnd: Kilnd, admin: kiln.Client, project: str) -> None:
    viewer = f"viewer-{uuid.uuid4().hex[:6]}"
    assert admin.create_user(viewer).admin is False
    binding = admin.grant_role(viewer, project, kiln.Role.VIEWER)
    assert binding == kiln.RoleBinding(viewer, project, kiln.Role.VIEWER)
    new = admin.create_token(viewer, description="tests", ttl=timedelta(hours=1))
    assert new.secret.startswith("kiln_") and new.token.user == viewer and new.token.expire_time is not None
    job = admin.submit_job(project, "INDEX_BUILD", "s", LONG)

    with kilnd.client(token=new.secret) as as_viewer:
        me = as_viewer.whoami()
        assert me.user.name == viewer and me.token_id == new.token.id and me.authentication_enabled
        assert me.user.roles == [binding]
        assert as_viewer.job(job.id).id == job.id  # a VIEWER reads
        assert [p.name for p in as_viewer.projects()] == [project]
        with pytest.raises(KilnError) as denied:
            as_viewer.pause(job.id)
        assert denied.value.code is Code.PERMISSION_DENIED
        with pytest.raises(KilnError) as not_admin:
            as_viewer.users()
        assert not_admin.value.code is Code.PERMISSION_DENIED
        assert [t.id for t in as_viewer.tokens()] == [new.token.id]

        admin.revoke_token(new.token.id)
        with pytest.raises(KilnError) as revoked:
            as_viewer.job(job.id)
        assert revoked.value.code is Code.UNAUTHENTICATED

    with kilnd.client(token="kiln_" + "0" * 43) as stranger:
        with pytest.raises(KilnError) as unknown:
            stranger.job(job.id)
        assert unknown.value.code is Code.UNAUTHENTICATED

    assert viewer in [u.name for u in admin.users()]
    assert admin.tokens(viewer, include_inactive=True)[0].revoke_time is not None
    audit = admin.audit_events(kiln.AuditFilter(actor=viewer, failures_only=True))
    refused = [e for e in audit.events if e.method.endswith("PauseJob")]
    assert refused and refused[0].code is Code.PERMISSION_DENIED and refused[0].target == job.id
    assert admin.set_user_disabled(viewer).disabled
    admin.revoke_role(viewer, project)
    admin.discard(job.id)


def test_follow_step_log(admin: kiln.Client, project: str) -> None:
    job = admin.submit_job(project, "TABLE_SAMPLING", "s", {"sleep_ms": "600"})
    followed = b"".join(admin.follow_step_log(job.id, 0))
    assert b"SAMPLE_TABLE: simulated work for 600 ms" in followed
    assert b"SAMPLE_TABLE: 100%" in followed and followed.rstrip().endswith(b"=== SAMPLE_TABLE succeeded ===")
    chunk = admin.step_log(job.id, "SAMPLE_TABLE")
    assert chunk.data == followed and chunk.next_offset == len(followed)
    tail = admin.step_log(job.id, f"{job.id}-0", offset=chunk.next_offset)
    assert tail.data == b"" and tail.complete
    assert b"".join(admin.follow_step_log(job.id, "SAMPLE_TABLE", offset=10)) == followed[10:]
    with pytest.raises(KilnError) as past_end:
        admin.step_log(job.id, 0, offset=len(followed) + 100)
    assert past_end.value.code is Code.OUT_OF_RANGE


def test_subjects(admin: kiln.Client, project: str) -> None:
    created = admin.create_subject("orders", project, kind="table", schema="id INT", attributes={"owner": "ana"})
    assert (created.version, created.kind, created.attributes, created.creator) == (1, "table", {"owner": "ana"}, "admin")
    with pytest.raises(KilnError) as taken:
        admin.create_subject("orders", project)
    assert taken.value.code is Code.ALREADY_EXISTS
    assert {s.name for s in admin.subjects(project)} == {"s", "orders"}

    job = admin.submit_job(project, "INDEX_BUILD", "orders", LONG)
    with pytest.raises(KilnError) as stale:
        admin.update_subject("orders", project, schema="id BIGINT", expected_version=7)
    assert stale.value.code is Code.ABORTED and stale.value.subject_version == 1

    change = admin.update_subject(
        "orders", project, schema="id BIGINT", set_attributes={"tier": "gold"}, remove_attributes=["owner"],
        expected_version=1,
    )
    assert change.subject.version == 2 and change.subject.attributes == {"tier": "gold"}
    assert change.discarded_job_ids == [job.id]
    discarded = admin.job(job.id)
    assert discarded.status is JobStatus.DISCARDED and "changed from v1 to v2" in discarded.status_reason
    assert admin.subject("orders", project).schema == "id BIGINT"

    assert admin.delete_subject("orders", project, expected_version=2) == []
    with pytest.raises(KilnError) as gone:
        admin.subject("orders", project)
    assert gone.value.code is Code.NOT_FOUND


def test_projects(admin: kiln.Client) -> None:
    assert "default" in [p.name for p in admin.projects()]
    name = f"proj-{uuid.uuid4().hex[:6]}"
    created = admin.create_project(name, "first")
    assert (created.name, created.description, created.creator, created.callback_url) == (name, "first", "admin", None)
    updated = admin.update_project(name, description="second", callback_url="http://127.0.0.1:9/hook")
    assert (updated.description, updated.callback_url) == ("second", "http://127.0.0.1:9/hook")
    assert admin.update_project(name, callback_url="").callback_url is None
    assert admin.project(name).description == "second"
    admin.create_subject("s", name)
    job = admin.submit_job(name, "INDEX_BUILD", "s", LONG)
    with pytest.raises(KilnError) as busy:
        admin.delete_project(name)
    assert busy.value.code is Code.FAILED_PRECONDITION
    admin.discard(job.id)
    assert admin.delete_project(name) == 1
    with pytest.raises(KilnError) as gone:
        admin.project(name)
    assert gone.value.code is Code.NOT_FOUND


def test_an_unreachable_server_is_unavailable() -> None:
    port = stable_port()  # free: nothing listens there
    config = kiln.Config(port=port, retry=kiln.RetryPolicy(max_attempts=2, initial_backoff=0.01), timeout=5)
    with kiln.Client(config) as client:
        with pytest.raises(KilnError) as unreachable:
            client.job_types()
    assert unreachable.value.code is Code.UNAVAILABLE


def test_watch_past_the_event_log_resynchronizes(workdir: Path) -> None:
    server = Kilnd(workdir / "compacted", args=("--event-retention", "2"))
    try:
        server.start()
        with server.client() as admin:
            admin.create_project("p")
            admin.create_subject("s", "p")
            jobs = [admin.submit_job("p", "TABLE_SAMPLING", "s", {"sleep_ms": "0"}) for _ in range(4)]
            for job in jobs:
                admin.wait_for_job(job.id, timeout=60)
        server.restart(same_port=False)  # the event log is compacted at every start, to 2 events here
        with server.client() as admin:
            def out_of_range() -> Optional[KilnError]:
                request = kiln._proto.jobs_pb2.WatchJobsRequest(since_revision=1)
                stream = admin.job_service.WatchJobs(request, metadata=admin._metadata, timeout=10)
                try:
                    next(stream)
                except grpc.RpcError as rpc_error:
                    error = KilnError.from_rpc_error(rpc_error)
                    return error if error.code is Code.OUT_OF_RANGE else None
                finally:
                    stream.cancel()
                return None

            error = eventually(out_of_range, what="the event log to be compacted")
            assert error.oldest_revision is not None and error.oldest_revision > 2

            watch = admin.watch_jobs(since=1)
            try:
                first = next(watch)
            finally:
                watch.close()
            assert first.kind is WatchEventKind.RESYNCHRONIZED
            assert sorted(j.id for j in first.jobs) == sorted(j.id for j in jobs)
            assert all(j.status is JobStatus.FINISHED for j in first.jobs)
    finally:
        server.stop()
