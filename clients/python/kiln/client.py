"""The Kiln client: one typed method for every ``kiln.v1`` RPC.

What each method sends, returns and retries is written once, in :mod:`kiln._operations`;
this client runs it with blocking calls, :class:`kiln.aio.Client` with ``await``.
"""

from __future__ import annotations

import time as _time
from datetime import timedelta
from typing import Any, Iterator, Mapping, Optional, Sequence, TypeVar

import grpc

from . import _connection, _operations
from ._operations import new_request_id
from .errors import KilnError
from .types import (
    AuditEvent,
    AuditFilter,
    AuditPage,
    BatchOutcome,
    HealthStatus,
    Identity,
    Job,
    JobAction,
    JobFilter,
    JobOrder,
    JobPage,
    JobType,
    NewToken,
    Project,
    Role,
    RoleBinding,
    StepLogChunk,
    Subject,
    SubjectChange,
    Token,
    User,
    WatchEvent,
)

__all__ = ["Client", "new_request_id"]

T = TypeVar("T")


class Client(_connection.Connection):
    """A connection to a Kiln server.

    Use it as a context manager, which closes the connection::

        import kiln

        with kiln.Client(kiln.Config.from_env()) as client:
            job = client.submit_job("sales", "INDEX_BUILD", "sales_model")
            print(client.wait_for_job(job.id).status)   # JobStatus.FINISHED

    Every method returns the client's dataclasses (:class:`Job`, :class:`Project`...),
    raises :class:`KilnError`, applies ``config.timeout`` to each attempt, and retries an
    unreachable server (UNAVAILABLE) with backoff. Mutations carry a request id, reused
    by every retry, so a retry after a lost reply never acts twice.

    A client may be shared by threads. For asyncio, :class:`kiln.aio.Client` has the same
    methods as coroutines.
    """

    channel: grpc.Channel

    # MARK: - Lifetime

    def close(self) -> None:
        """Closes the connection; open watches end."""
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # MARK: - Calling

    def _call(self, plan: _operations.Unary[T]) -> T:
        """One unary call with the token and deadline, retrying UNAVAILABLE with backoff."""
        method = self._method(plan)
        attempt = 1
        while True:
            try:
                response = method(plan.request, metadata=self._metadata, timeout=self.config.timeout)
            except grpc.RpcError as rpc_error:
                delay = _connection.failed_attempt(self.config, rpc_error, attempt)
            except ValueError:  # grpc's "Cannot invoke RPC on closed channel!"
                raise _connection.closed() from None
            else:
                return plan.convert(response)
            _time.sleep(delay)
            attempt += 1

    def _stream(self, stream: _operations.Stream[T]) -> Iterator[T]:
        """A streaming call, reconnected as ``stream`` decides; ends quietly when the client closes."""
        method = self._method(stream)
        while True:
            request, timeout = stream.connect()
            try:
                call = method(request, metadata=self._metadata, timeout=timeout)
            except ValueError:  # the client was closed
                return
            error: Optional[KilnError] = None
            try:
                for message in call:
                    item = stream.receive(message)
                    if item is not None:
                        yield item
            except grpc.RpcError as rpc_error:
                error = KilnError.from_rpc_error(rpc_error)
            finally:
                call.cancel()
            delay = stream.disconnected(error)
            if delay is None:
                return
            _time.sleep(delay)

    # MARK: - Health

    def health(self, service: str = "") -> HealthStatus:
        """The standard gRPC health check (needs no token); ``""`` asks about the server as a whole."""
        return self._call(_operations.health(service))

    # MARK: - Jobs

    def submit_job(
        self,
        project: str,
        job_type: str,
        subject: str,
        params: Optional[Mapping[str, str]] = None,
        *,
        request_id: Optional[str] = None,
    ) -> Job:
        """Submits a job of ``job_type`` on an existing ``subject`` of ``project``; it starts PENDING.

        Raises NOT_FOUND for an unknown project or subject, INVALID_ARGUMENT for an unknown
        job type or a missing parameter (``error.field`` names it).
        """
        return self._call(_operations.submit_job(project, job_type, subject, params, request_id))

    def job(self, job_id: str) -> Job:
        """The job with its steps and completion callbacks (NOT_FOUND if it does not exist for the caller)."""
        return self._call(_operations.job(job_id))

    def list_jobs(
        self,
        filter: Optional[JobFilter] = None,
        order: Optional[JobOrder] = None,
        page_size: int = 0,
        page_token: Optional[str] = None,
    ) -> JobPage:
        """One page of the jobs matching ``filter`` (``page_size`` 0: 50; at most 1000)."""
        return self._call(_operations.list_jobs(filter, order, page_size, page_token))

    def all_jobs(
        self, filter: Optional[JobFilter] = None, order: Optional[JobOrder] = None, page_size: int = 200
    ) -> Iterator[Job]:
        """Every job matching ``filter``, fetched a page at a time as the iteration goes on."""
        token: Optional[str] = None
        while True:
            page = self.list_jobs(filter, order, page_size, token)
            yield from page.jobs
            token = page.next_page_token
            if token is None:
                return

    def pause(self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None) -> Job:
        """Pauses a PENDING or RUNNING job (FAILED_PRECONDITION otherwise, with ``error.allowed_actions``).

        With ``expected_revision``, ABORTED unless the job is at that revision
        (``error.job_revision`` is its current one).
        """
        return self._call(_operations.perform(JobAction.PAUSE, job_id, expected_revision, request_id))  # type: ignore[return-value]

    def resume(self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None) -> Job:
        """Queues a PAUSED or ERROR job again; it continues at its first unfinished step."""
        return self._call(_operations.perform(JobAction.RESUME, job_id, expected_revision, request_id))  # type: ignore[return-value]

    def restart(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        """Throws away every step's result and runs the job again (``attempt`` + 1, same id)."""
        return self._call(_operations.perform(JobAction.RESTART, job_id, expected_revision, request_id))  # type: ignore[return-value]

    def discard(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        """Stops the job for good (DISCARDED)."""
        return self._call(_operations.perform(JobAction.DISCARD, job_id, expected_revision, request_id))  # type: ignore[return-value]

    def delete(self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None) -> None:
        """Removes a FINISHED or DISCARDED job and its logs."""
        self._call(_operations.perform(JobAction.DELETE, job_id, expected_revision, request_id))

    def perform(
        self,
        action: JobAction,
        job_id: str,
        *,
        expected_revision: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> Optional[Job]:
        """Applies ``action`` to one job; the job after it (``None`` for a delete)."""
        return self._call(_operations.perform(action, job_id, expected_revision, request_id))

    def batch(
        self,
        action: JobAction,
        *,
        ids: Optional[Sequence[str]] = None,
        filter: Optional[JobFilter] = None,
        request_id: Optional[str] = None,
    ) -> BatchOutcome:
        """Applies ``action`` to the jobs ``ids`` (in that order), or to every job matching
        ``filter`` at the time of the call ("select all"; a filter without projects covers
        every project the caller operates). Each job is changed all or nothing; one job's
        refusal does not stop the others.
        """
        return self._call(_operations.batch(action, ids, filter, request_id))

    def job_types(self) -> list[JobType]:
        """The job types the server offers, with their steps and parameters."""
        return self._call(_operations.job_types())

    def step_log(self, job_id: str, step: "str | int", offset: int = 0, limit: int = 0) -> StepLogChunk:
        """Bytes of a step's log (the step by id, index or name) from ``offset``; ``limit`` 0: 64 KiB."""
        return self._call(_operations.step_log(job_id, step, offset, limit))

    def follow_step_log(self, job_id: str, step: "str | int", offset: int = 0) -> Iterator[bytes]:
        """A step's log from ``offset``, then new bytes as they are written, until the step can
        no longer write (``kubectl logs -f``). Reconnects after a dropped connection and goes
        on from the last byte delivered.
        """
        return self._stream(_operations.LogFollow(job_id, step, offset, self.config.retry))

    # MARK: - Watching

    def watch_jobs(
        self, filter: Optional[JobFilter] = None, *, include_progress: bool = False, since: Optional[int] = None
    ) -> Iterator[WatchEvent]:
        """Every change to the jobs matching ``filter``, as it happens, surviving disconnects.

        The iteration starts with one SNAPSHOT event holding every matching job (or, with
        ``since``, the changes after that revision), then CREATED, UPDATED and DELETED events,
        and HEARTBEATs while nothing happens. When the connection drops, the server restarts,
        or the watch falls behind, it reconnects with backoff and resumes after the last
        revision it delivered: no change is lost or repeated. When the server no longer keeps
        that revision (OUT_OF_RANGE), it takes a fresh snapshot and delivers it as a
        RESYNCHRONIZED event. UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND and other
        errors raise :class:`KilnError`. Stop iterating (or ``close()`` the generator) to stop.
        """
        return self._stream(_operations.watch_jobs(filter, include_progress, since, self.config.retry))

    def watch_job(self, job_id: str, *, include_progress: bool = False) -> Iterator[WatchEvent]:
        """One job's changes, starting with a SNAPSHOT holding it, surviving disconnects like
        :meth:`watch_jobs`; ends by itself when the job is FINISHED, DISCARDED or deleted.
        """
        return self._stream(_operations.watch_job(job_id, include_progress, self.config.retry))

    def wait_for_job(self, job_id: str, *, or_error: bool = True, timeout: Optional[float] = None) -> Job:
        """Waits until the job is FINISHED or DISCARDED (or ERROR, unless ``or_error`` is false)
        and returns it.

        Raises NOT_FOUND for an unknown job, DEADLINE_EXCEEDED when ``timeout`` seconds pass
        first, or whatever ended the watch.
        """
        wait = _operations.JobWait(job_id, or_error, timeout, self.config.retry)
        events = self._stream(wait.session)
        try:
            for event in events:
                done = wait.see(event)
                if done is not None:
                    return done
        finally:
            events.close()
        return wait.ended()

    # MARK: - Projects

    def create_project(self, name: str, description: str = "", callback_url: Optional[str] = None) -> Project:
        """Creates a project (ADMIN); ALREADY_EXISTS when the name is taken."""
        return self._call(_operations.create_project(name, description, callback_url))

    def project(self, name: str) -> Project:
        """The project (NOT_FOUND unless the caller holds a role in it)."""
        return self._call(_operations.project(name))

    def projects(self) -> list[Project]:
        """The projects the caller holds a role in (every project for an ADMIN), by name."""
        return self._call(_operations.projects())

    def update_project(
        self, name: str, *, description: Optional[str] = None, callback_url: Optional[str] = None
    ) -> Project:
        """Changes what is given (ADMIN); ``callback_url=""`` removes the callback."""
        return self._call(_operations.update_project(name, description, callback_url))

    def delete_project(self, name: str) -> int:
        """Deletes the project with its FINISHED and DISCARDED jobs (ADMIN); how many jobs went.

        FAILED_PRECONDITION while any of its jobs is PENDING, RUNNING, PAUSED or ERROR.
        """
        return self._call(_operations.delete_project(name))

    # MARK: - Access

    def whoami(self) -> Identity:
        """The caller: user, roles and token."""
        return self._call(_operations.whoami())

    def create_user(self, name: str, *, admin: bool = False) -> User:
        """Creates a user (ADMIN); ALREADY_EXISTS when the name is taken."""
        return self._call(_operations.create_user(name, admin))

    def users(self) -> list[User]:
        """Every user with their roles (ADMIN)."""
        return self._call(_operations.users())

    def set_user_disabled(self, name: str, disabled: bool = True) -> User:
        """Disables (or enables) a user (ADMIN): a disabled user's tokens are refused."""
        return self._call(_operations.set_user_disabled(name, disabled))

    def grant_role(self, user: str, project: str, role: Role) -> RoleBinding:
        """Gives ``user`` ``role`` in ``project``, replacing any role they held there (ADMIN)."""
        return self._call(_operations.grant_role(user, project, role))

    def revoke_role(self, user: str, project: str) -> None:
        """Takes away ``user``'s role in ``project`` (ADMIN); their open watches resume, rescoped."""
        self._call(_operations.revoke_role(user, project))

    def create_token(
        self, user: Optional[str] = None, *, description: str = "", ttl: Optional[timedelta] = None
    ) -> NewToken:
        """Creates a token for ``user`` (default: the caller; others' for an ADMIN only).

        The secret is in the result, shown this once.
        """
        return self._call(_operations.create_token(user, description, ttl))

    def tokens(self, user: Optional[str] = None, *, include_inactive: bool = False) -> list[Token]:
        """The tokens of ``user`` (default: the caller's), revoked and expired ones too if asked."""
        return self._call(_operations.tokens(user, include_inactive))

    def revoke_token(self, token_id: str) -> Token:
        """Revokes a token: refused from the next call on, its open watches end."""
        return self._call(_operations.revoke_token(token_id))

    def audit_events(
        self, filter: Optional[AuditFilter] = None, page_size: int = 0, page_token: Optional[str] = None
    ) -> AuditPage:
        """One page of the audit trail, newest first (ADMIN); ``page_size`` 0: 100."""
        return self._call(_operations.audit_events(filter, page_size, page_token))

    def all_audit_events(self, filter: Optional[AuditFilter] = None, page_size: int = 500) -> Iterator[AuditEvent]:
        """Every audit event matching ``filter``, newest first, a page at a time."""
        token: Optional[str] = None
        while True:
            page = self.audit_events(filter, page_size, token)
            yield from page.events
            token = page.next_page_token
            if token is None:
                return

    # MARK: - Subjects

    def create_subject(
        self,
        name: str,
        project: str,
        *,
        kind: str = "",
        schema: str = "",
        attributes: Optional[Mapping[str, str]] = None,
    ) -> Subject:
        """Creates a subject at version 1 (OPERATOR or ADMIN); ALREADY_EXISTS when the name is taken."""
        return self._call(_operations.create_subject(name, project, kind, schema, attributes))

    def subject(self, name: str, project: str) -> Subject:
        """The subject ``name`` of ``project``."""
        return self._call(_operations.subject(name, project))

    def subjects(self, project: Optional[str] = None) -> list[Subject]:
        """The subjects of ``project`` (default: every project the caller holds a role in)."""
        return self._call(_operations.subjects(project))

    def update_subject(
        self,
        name: str,
        project: str,
        *,
        schema: Optional[str] = None,
        set_attributes: Optional[Mapping[str, str]] = None,
        remove_attributes: Optional[Sequence[str]] = None,
        expected_version: Optional[int] = None,
    ) -> SubjectChange:
        """Changes the schema or attributes: the version goes up by one and every PENDING,
        RUNNING, PAUSED or ERROR job on the subject is discarded. With ``expected_version``,
        ABORTED unless the subject is at it (``error.subject_version``).
        """
        return self._call(
            _operations.update_subject(name, project, schema, set_attributes, remove_attributes, expected_version)
        )

    def delete_subject(self, name: str, project: str, *, expected_version: Optional[int] = None) -> list[str]:
        """Deletes the subject; the ids of the jobs the deletion discarded."""
        return self._call(_operations.delete_subject(name, project, expected_version))
