"""Kiln's asyncio client, on grpc.aio: the methods of :class:`kiln.Client` as coroutines.

    import asyncio
    import kiln

    async def main() -> None:
        async with kiln.aio.Client(kiln.Config.from_env()) as client:
            job = await client.submit_job("sales", "INDEX_BUILD", "sales_model")
            async for event in client.watch_job(job.id):
                print(event.kind, event.job and event.job.status)

    asyncio.run(main())

Arguments, results (the same dataclasses and enums), errors (:class:`kiln.KilnError`),
deadlines, retries with reused request ids, and how watches resume are those of
:class:`kiln.Client`: both run the operations of :mod:`kiln._operations`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any, AsyncIterator, Callable, Mapping, Optional, Sequence, TypeVar

import grpc
import grpc.aio

from . import _connection, _operations
from . import client as _sync
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

__all__ = ["Client"]

T = TypeVar("T")
C = TypeVar("C", bound=type)


def _documented_like(model: type) -> Callable[[C], C]:
    """Gives each public method without a docstring the docstring of ``model``'s method of that name."""

    def document(cls: C) -> C:
        for name, member in vars(cls).items():
            if not name.startswith("_") and callable(member) and not member.__doc__:
                member.__doc__ = getattr(model, name).__doc__
        return cls

    return document


@_documented_like(_sync.Client)
class Client(_connection.Connection):
    """An asyncio connection to a Kiln server.

    Use it with ``async with``, which closes the connection::

        async with kiln.aio.Client(kiln.Config.from_env()) as client:
            job = await client.submit_job("sales", "INDEX_BUILD", "sales_model")
            print((await client.wait_for_job(job.id)).status)   # JobStatus.FINISHED

    Every method of :class:`kiln.Client` is here with the same arguments and results:
    unary calls are coroutines (their docstrings are the blocking client's);
    :meth:`all_jobs`, :meth:`all_audit_events`, :meth:`watch_jobs`, :meth:`watch_job`
    and :meth:`follow_step_log` are async iterators. Each call raises
    :class:`kiln.KilnError`, applies ``config.timeout`` to each attempt and retries
    UNAVAILABLE with backoff, reusing one request id. Cancelling the task that awaits a
    call, or iterates a watch, cancels the RPC.

    Create and use a client in one event loop (grpc.aio binds the channel to it); the
    calls of many tasks of that loop may share it.
    """

    _grpc = grpc.aio
    channel: grpc.aio.Channel
    _closed = False

    # MARK: - Lifetime

    async def close(self) -> None:
        """Closes the connection: calls in flight are cancelled, open watches end."""
        self._closed = True
        await self.channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __enter__(self) -> "Client":
        raise TypeError("kiln.aio.Client is an asyncio client: use `async with`, or kiln.Client for `with`")

    def __exit__(self, *exc_info: Any) -> None:  # pragma: no cover - __enter__ always raises
        pass

    # MARK: - Calling

    def _cancelled_by_close(self) -> bool:
        """Whether a CancelledError out of grpc.aio comes from :meth:`close` (which cancels the
        calls in flight) rather than from a cancellation of the task, which must go on."""
        if not self._closed:
            return False
        task = asyncio.current_task()
        cancelling = getattr(task, "cancelling", None)  # Python 3.11+
        return cancelling is None or cancelling() == 0

    async def _call(self, plan: _operations.Unary[T]) -> T:
        """One unary call with the token and deadline, retrying UNAVAILABLE with backoff."""
        method = self._method(plan)
        attempt = 1
        while True:
            try:
                response = await method(plan.request, metadata=self._metadata, timeout=self.config.timeout)
            except grpc.aio.UsageError:  # "Channel is closed."
                raise _connection.closed() from None
            except asyncio.CancelledError:
                if self._cancelled_by_close():
                    raise _connection.closed() from None
                raise
            except grpc.RpcError as rpc_error:
                if self._closed:
                    raise _connection.closed() from None
                delay = _connection.failed_attempt(self.config, rpc_error, attempt)
            else:
                return plan.convert(response)
            await asyncio.sleep(delay)
            attempt += 1

    async def _stream(self, stream: _operations.Stream[T]) -> AsyncIterator[T]:
        """A streaming call, reconnected as ``stream`` decides; ends quietly when the client closes.

        Leaving the iteration (``aclose()``) or cancelling the task iterating it cancels the RPC.
        """
        method = self._method(stream)
        while True:
            request, timeout = stream.connect()
            try:
                call = method(request, metadata=self._metadata, timeout=timeout)
            except grpc.aio.UsageError:  # the client was closed
                return
            error: Optional[KilnError] = None
            try:
                async for message in call:
                    item = stream.receive(message)
                    if item is not None:
                        yield item
            except grpc.aio.UsageError:
                return
            except asyncio.CancelledError:
                if self._cancelled_by_close():
                    return
                raise
            except grpc.RpcError as rpc_error:
                if self._closed:
                    return
                error = KilnError.from_rpc_error(rpc_error)
            finally:
                call.cancel()
            delay = stream.disconnected(error)
            if delay is None:
                return
            await asyncio.sleep(delay)

    # MARK: - Health

    async def health(self, service: str = "") -> HealthStatus:
        return await self._call(_operations.health(service))

    # MARK: - Jobs

    async def submit_job(
        self,
        project: str,
        job_type: str,
        subject: str,
        params: Optional[Mapping[str, str]] = None,
        *,
        request_id: Optional[str] = None,
    ) -> Job:
        return await self._call(_operations.submit_job(project, job_type, subject, params, request_id))

    async def job(self, job_id: str) -> Job:
        return await self._call(_operations.job(job_id))

    async def list_jobs(
        self,
        filter: Optional[JobFilter] = None,
        order: Optional[JobOrder] = None,
        page_size: int = 0,
        page_token: Optional[str] = None,
    ) -> JobPage:
        return await self._call(_operations.list_jobs(filter, order, page_size, page_token))

    async def all_jobs(
        self, filter: Optional[JobFilter] = None, order: Optional[JobOrder] = None, page_size: int = 200
    ) -> AsyncIterator[Job]:
        """Every job matching ``filter``, an async iterator fetching a page at a time as the iteration goes on."""
        token: Optional[str] = None
        while True:
            page = await self.list_jobs(filter, order, page_size, token)
            for job in page.jobs:
                yield job
            token = page.next_page_token
            if token is None:
                return

    async def pause(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        return await self._call(_operations.perform(JobAction.PAUSE, job_id, expected_revision, request_id))  # type: ignore[return-value]

    async def resume(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        return await self._call(_operations.perform(JobAction.RESUME, job_id, expected_revision, request_id))  # type: ignore[return-value]

    async def restart(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        return await self._call(_operations.perform(JobAction.RESTART, job_id, expected_revision, request_id))  # type: ignore[return-value]

    async def discard(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        return await self._call(_operations.perform(JobAction.DISCARD, job_id, expected_revision, request_id))  # type: ignore[return-value]

    async def delete(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> None:
        await self._call(_operations.perform(JobAction.DELETE, job_id, expected_revision, request_id))

    async def perform(
        self,
        action: JobAction,
        job_id: str,
        *,
        expected_revision: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> Optional[Job]:
        return await self._call(_operations.perform(action, job_id, expected_revision, request_id))

    async def batch(
        self,
        action: JobAction,
        *,
        ids: Optional[Sequence[str]] = None,
        filter: Optional[JobFilter] = None,
        request_id: Optional[str] = None,
    ) -> BatchOutcome:
        return await self._call(_operations.batch(action, ids, filter, request_id))

    async def job_types(self) -> list[JobType]:
        return await self._call(_operations.job_types())

    async def step_log(self, job_id: str, step: "str | int", offset: int = 0, limit: int = 0) -> StepLogChunk:
        return await self._call(_operations.step_log(job_id, step, offset, limit))

    def follow_step_log(self, job_id: str, step: "str | int", offset: int = 0) -> AsyncIterator[bytes]:
        """A step's log from ``offset``, then new bytes as they are written, until the step can
        no longer write: an async iterator of ``bytes``. Reconnects after a dropped connection
        and goes on from the last byte delivered.
        """
        return self._stream(_operations.LogFollow(job_id, step, offset, self.config.retry))

    # MARK: - Watching

    def watch_jobs(
        self, filter: Optional[JobFilter] = None, *, include_progress: bool = False, since: Optional[int] = None
    ) -> AsyncIterator[WatchEvent]:
        """Every change to the jobs matching ``filter``, as it happens, surviving disconnects:
        an async generator of :class:`kiln.WatchEvent`.

        Events and resumption are those of :meth:`kiln.Client.watch_jobs`: a SNAPSHOT (or,
        with ``since``, the changes after that revision), then CREATED, UPDATED, DELETED and
        HEARTBEAT events; after a dropped connection, a server restart or falling behind it
        reconnects with backoff and resumes after the last revision delivered; after
        OUT_OF_RANGE a RESYNCHRONIZED snapshot. Final errors raise :class:`kiln.KilnError`.
        Stop by leaving the ``async for`` (then ``await events.aclose()``, or iterate inside
        ``contextlib.aclosing``) or by cancelling the task: the RPC is cancelled.
        """
        return self._stream(_operations.watch_jobs(filter, include_progress, since, self.config.retry))

    def watch_job(self, job_id: str, *, include_progress: bool = False) -> AsyncIterator[WatchEvent]:
        """One job's changes, an async generator starting with a SNAPSHOT holding it, surviving
        disconnects like :meth:`watch_jobs`; ends by itself when the job is FINISHED,
        DISCARDED or deleted.
        """
        return self._stream(_operations.watch_job(job_id, include_progress, self.config.retry))

    async def wait_for_job(self, job_id: str, *, or_error: bool = True, timeout: Optional[float] = None) -> Job:
        wait = _operations.JobWait(job_id, or_error, timeout, self.config.retry)
        async with contextlib.aclosing(self._stream(wait.session)) as events:
            async for event in events:
                done = wait.see(event)
                if done is not None:
                    return done
        return wait.ended()

    # MARK: - Projects

    async def create_project(self, name: str, description: str = "", callback_url: Optional[str] = None) -> Project:
        return await self._call(_operations.create_project(name, description, callback_url))

    async def project(self, name: str) -> Project:
        return await self._call(_operations.project(name))

    async def projects(self) -> list[Project]:
        return await self._call(_operations.projects())

    async def update_project(
        self, name: str, *, description: Optional[str] = None, callback_url: Optional[str] = None
    ) -> Project:
        return await self._call(_operations.update_project(name, description, callback_url))

    async def delete_project(self, name: str) -> int:
        return await self._call(_operations.delete_project(name))

    # MARK: - Access

    async def whoami(self) -> Identity:
        return await self._call(_operations.whoami())

    async def create_user(self, name: str, *, admin: bool = False) -> User:
        return await self._call(_operations.create_user(name, admin))

    async def users(self) -> list[User]:
        return await self._call(_operations.users())

    async def set_user_disabled(self, name: str, disabled: bool = True) -> User:
        return await self._call(_operations.set_user_disabled(name, disabled))

    async def grant_role(self, user: str, project: str, role: Role) -> RoleBinding:
        return await self._call(_operations.grant_role(user, project, role))

    async def revoke_role(self, user: str, project: str) -> None:
        await self._call(_operations.revoke_role(user, project))

    async def create_token(
        self, user: Optional[str] = None, *, description: str = "", ttl: Optional[timedelta] = None
    ) -> NewToken:
        return await self._call(_operations.create_token(user, description, ttl))

    async def tokens(self, user: Optional[str] = None, *, include_inactive: bool = False) -> list[Token]:
        return await self._call(_operations.tokens(user, include_inactive))

    async def revoke_token(self, token_id: str) -> Token:
        return await self._call(_operations.revoke_token(token_id))

    async def audit_events(
        self, filter: Optional[AuditFilter] = None, page_size: int = 0, page_token: Optional[str] = None
    ) -> AuditPage:
        return await self._call(_operations.audit_events(filter, page_size, page_token))

    async def all_audit_events(
        self, filter: Optional[AuditFilter] = None, page_size: int = 500
    ) -> AsyncIterator[AuditEvent]:
        """Every audit event matching ``filter``, newest first: an async iterator fetching a page at a time."""
        token: Optional[str] = None
        while True:
            page = await self.audit_events(filter, page_size, token)
            for event in page.events:
                yield event
            token = page.next_page_token
            if token is None:
                return

    # MARK: - Subjects

    async def create_subject(
        self,
        name: str,
        project: str,
        *,
        kind: str = "",
        schema: str = "",
        attributes: Optional[Mapping[str, str]] = None,
    ) -> Subject:
        return await self._call(_operations.create_subject(name, project, kind, schema, attributes))

    async def subject(self, name: str, project: str) -> Subject:
        return await self._call(_operations.subject(name, project))

    async def subjects(self, project: Optional[str] = None) -> list[Subject]:
        return await self._call(_operations.subjects(project))

    async def update_subject(
        self,
        name: str,
        project: str,
        *,
        schema: Optional[str] = None,
        set_attributes: Optional[Mapping[str, str]] = None,
        remove_attributes: Optional[Sequence[str]] = None,
        expected_version: Optional[int] = None,
    ) -> SubjectChange:
        return await self._call(
            _operations.update_subject(name, project, schema, set_attributes, remove_attributes, expected_version)
        )

    async def delete_subject(self, name: str, project: str, *, expected_version: Optional[int] = None) -> list[str]:
        return await self._call(_operations.delete_subject(name, project, expected_version))
