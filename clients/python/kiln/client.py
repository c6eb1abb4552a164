"""The Kiln client: one typed method for every ``kiln.v1`` RPC."""

from __future__ import annotations

import time as _time
import uuid
from datetime import timedelta
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar

import grpc

from . import _wire
from ._proto import (
    access_pb2,
    access_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    subjects_pb2,
    subjects_pb2_grpc,
)
from .config import Config
from .errors import Code, KilnError
from .types import (
    AuditEvent,
    AuditFilter,
    AuditPage,
    BatchOutcome,
    BatchResult,
    HealthStatus,
    Identity,
    Job,
    JobAction,
    JobFilter,
    JobOrder,
    JobPage,
    JobStatus,
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
    WatchEventKind,
)

T = TypeVar("T")

# Watch errors after which a watch reconnects and resumes: the connection dropped, the
# server restarted or ended the stream (roles changed), or the watch fell behind.
_RESUMABLE = (Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.DEADLINE_EXCEEDED, Code.CANCELLED)

_KINDS = {
    jobs_pb2.WATCH_EVENT_KIND_CREATED: WatchEventKind.CREATED,
    jobs_pb2.WATCH_EVENT_KIND_UPDATED: WatchEventKind.UPDATED,
    jobs_pb2.WATCH_EVENT_KIND_DELETED: WatchEventKind.DELETED,
}


def new_request_id() -> str:
    """A fresh idempotency key for a mutating call."""
    return str(uuid.uuid4())


class Client:
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

    A client may be shared by threads.
    """

    def __init__(self, config: Optional[Config] = None, **overrides: Any) -> None:
        """Connects (lazily) to the server of ``config`` (default: ``Config()``, 127.0.0.1:7077).

        Keyword arguments override fields of the configuration, e.g.
        ``Client(host="kiln.internal", port=7077, token=secret)``.
        """
        config = config or Config()
        if overrides:
            config = Config(**{**config.__dict__, **overrides})
        self.config: Config = config
        options = [
            # Reconnect quickly after the server comes back: gRPC's default waits up to 2 minutes.
            ("grpc.initial_reconnect_backoff_ms", int(config.retry.initial_backoff * 1000) or 100),
            ("grpc.min_reconnect_backoff_ms", int(config.retry.initial_backoff * 1000) or 100),
            ("grpc.max_reconnect_backoff_ms", int(config.retry.max_backoff * 1000) or 1000),
        ]
        if config.tls is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(config.tls.ca_file),
                private_key=_read(config.tls.key_file),
                certificate_chain=_read(config.tls.cert_file),
            )
            self.channel: grpc.Channel = grpc.secure_channel(config.target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(config.target, options=options)
        #: The generated stubs, for what the typed API does not cover.
        self.job_service = jobs_pb2_grpc.JobServiceStub(self.channel)
        self.project_service = access_pb2_grpc.ProjectServiceStub(self.channel)
        self.access_service = access_pb2_grpc.AccessServiceStub(self.channel)
        self.subject_service = subjects_pb2_grpc.SubjectServiceStub(self.channel)
        self.health_service = health_pb2_grpc.HealthStub(self.channel)
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {config.token}"),) if config.token else ()
        )

    # MARK: - Lifetime

    def close(self) -> None:
        """Closes the connection; open watches end."""
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # MARK: - Calling

    def _call(self, method: Callable[..., T], request: Any) -> T:
        """One unary call with the token and deadline, retrying UNAVAILABLE with backoff."""
        attempt = 1
        while True:
            try:
                return method(request, metadata=self._metadata, timeout=self.config.timeout)
            except grpc.RpcError as rpc_error:
                error = self._explained(KilnError.from_rpc_error(rpc_error))
                if error.code is not Code.UNAVAILABLE or attempt >= self.config.retry.max_attempts:
                    raise error from None
            _time.sleep(self.config.retry.backoff(attempt))
            attempt += 1

    def _explained(self, error: KilnError) -> KilnError:
        # A TLS server closes a plaintext client's connection during the HTTP/2 preface;
        # gRPC's C core reports that as "Socket closed", the Swift transport by "preface".
        message = error.message.lower()
        if (
            error.code is Code.UNAVAILABLE
            and self.config.tls is None
            and ("preface" in message or "socket closed" in message)
        ):
            error.message += (
                " If the server serves TLS (kilnd --tls-cert), connect over TLS: give its CA file (KILN_CA_FILE)."
            )
        return error

    # MARK: - Health

    def health(self, service: str = "") -> HealthStatus:
        """The standard gRPC health check (needs no token); ``""`` asks about the server as a whole."""
        response = self._call(self.health_service.Check, health_pb2.HealthCheckRequest(service=service))
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return HealthStatus(name) if name in HealthStatus.__members__ else HealthStatus.UNKNOWN

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
        request = jobs_pb2.SubmitJobRequest(
            project=project,
            job_type=job_type,
            subject=subject,
            params={str(k): str(v) for k, v in (params or {}).items()},
            request_id=request_id or new_request_id(),
        )
        return _wire.job(self._call(self.job_service.SubmitJob, request).job)

    def job(self, job_id: str) -> Job:
        """The job with its steps and completion callbacks (NOT_FOUND if it does not exist for the caller)."""
        return _wire.job(self._call(self.job_service.GetJob, jobs_pb2.GetJobRequest(id=job_id)).job)

    def list_jobs(
        self,
        filter: Optional[JobFilter] = None,
        order: Optional[JobOrder] = None,
        page_size: int = 0,
        page_token: Optional[str] = None,
    ) -> JobPage:
        """One page of the jobs matching ``filter`` (``page_size`` 0: 50; at most 1000)."""
        request = jobs_pb2.ListJobsRequest(
            filter=_wire.job_filter(filter),
            order_by=_wire.job_order(order),
            page_size=page_size,
            page_token=page_token or "",
        )
        response = self._call(self.job_service.ListJobs, request)
        return JobPage(
            jobs=[_wire.job(j) for j in response.jobs],
            next_page_token=response.next_page_token or None,
            total_size=response.total_size,
        )

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
        return self._perform(JobAction.PAUSE, job_id, expected_revision, request_id)  # type: ignore[return-value]

    def resume(self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None) -> Job:
        """Queues a PAUSED or ERROR job again; it continues at its first unfinished step."""
        return self._perform(JobAction.RESUME, job_id, expected_revision, request_id)  # type: ignore[return-value]

    def restart(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        """Throws away every step's result and runs the job again (``attempt`` + 1, same id)."""
        return self._perform(JobAction.RESTART, job_id, expected_revision, request_id)  # type: ignore[return-value]

    def discard(
        self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None
    ) -> Job:
        """Stops the job for good (DISCARDED)."""
        return self._perform(JobAction.DISCARD, job_id, expected_revision, request_id)  # type: ignore[return-value]

    def delete(self, job_id: str, *, expected_revision: Optional[int] = None, request_id: Optional[str] = None) -> None:
        """Removes a FINISHED or DISCARDED job and its logs."""
        self._perform(JobAction.DELETE, job_id, expected_revision, request_id)

    def perform(
        self,
        action: JobAction,
        job_id: str,
        *,
        expected_revision: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> Optional[Job]:
        """Applies ``action`` to one job; the job after it (``None`` for a delete)."""
        return self._perform(JobAction(action), job_id, expected_revision, request_id)

    def _perform(
        self, action: JobAction, job_id: str, expected_revision: Optional[int], request_id: Optional[str]
    ) -> Optional[Job]:
        methods: dict[JobAction, tuple[Callable[..., Any], Any]] = {
            JobAction.PAUSE: (self.job_service.PauseJob, jobs_pb2.PauseJobRequest),
            JobAction.RESUME: (self.job_service.ResumeJob, jobs_pb2.ResumeJobRequest),
            JobAction.RESTART: (self.job_service.RestartJob, jobs_pb2.RestartJobRequest),
            JobAction.DISCARD: (self.job_service.DiscardJob, jobs_pb2.DiscardJobRequest),
            JobAction.DELETE: (self.job_service.DeleteJob, jobs_pb2.DeleteJobRequest),
        }
        method, request_type = methods[action]
        # One request id for the logical call, reused by every retry.
        request = request_type(id=job_id, request_id=request_id or new_request_id())
        if expected_revision is not None:
            request.expected_revision = expected_revision
        response = self._call(method, request)
        return None if action is JobAction.DELETE else _wire.job(response.job)

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
        if (ids is None) == (filter is None):
            raise KilnError(Code.INVALID_ARGUMENT, "selector: give either ids or filter", {"kiln-field": "selector"})
        request = jobs_pb2.BatchJobsRequest(action=_wire.action_wire(action), request_id=request_id or new_request_id())
        if ids is not None:
            request.ids.ids.extend(ids)
        else:
            request.filter.CopyFrom(_wire.job_filter(filter))
        response = self._call(self.job_service.BatchJobs, request)
        results = []
        for result in response.results:
            if result.ok:
                results.append(
                    BatchResult(id=result.id, ok=True, job=_wire.job(result.job) if result.HasField("job") else None)
                )
            else:
                error = KilnError(Code.from_number(result.error.code), result.error.message)
                results.append(BatchResult(id=result.id, ok=False, error=error))
        return BatchOutcome(results=results, succeeded=response.succeeded, failed=response.failed)

    def job_types(self) -> list[JobType]:
        """The job types the server offers, with their steps and parameters."""
        response = self._call(self.job_service.ListJobTypes, jobs_pb2.ListJobTypesRequest())
        return [_wire.job_type(t) for t in response.job_types]

    def step_log(self, job_id: str, step: "str | int", offset: int = 0, limit: int = 0) -> StepLogChunk:
        """Bytes of a step's log (the step by id, index or name) from ``offset``; ``limit`` 0: 64 KiB."""
        request = jobs_pb2.GetStepLogRequest(job_id=job_id, step_id=str(step), offset=offset, limit=limit)
        response = self._call(self.job_service.GetStepLog, request)
        return StepLogChunk(data=response.data, next_offset=response.next_offset, complete=response.complete)

    def follow_step_log(self, job_id: str, step: "str | int", offset: int = 0) -> Iterator[bytes]:
        """A step's log from ``offset``, then new bytes as they are written, until the step can
        no longer write (``kubectl logs -f``). Reconnects after a dropped connection and goes
        on from the last byte delivered.
        """
        position = offset
        failures = 0
        while True:
            request = jobs_pb2.FollowStepLogRequest(job_id=job_id, step_id=str(step), offset=position)
            try:
                call = self.job_service.FollowStepLog(request, metadata=self._metadata)
            except ValueError:  # the client was closed
                return
            try:
                for chunk in call:
                    failures = 0
                    position = chunk.next_offset
                    yield chunk.data
                return
            except grpc.RpcError as rpc_error:
                error = KilnError.from_rpc_error(rpc_error)
                if error.code is not Code.UNAVAILABLE:
                    raise error from None
            finally:
                call.cancel()
            failures += 1
            _time.sleep(self.config.retry.backoff(failures))

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
        request = jobs_pb2.WatchJobsRequest(filter=_wire.job_filter(filter), include_progress=include_progress)
        return self._watch(self.job_service.WatchJobs, request, since, ends=False, deadline=None)

    def watch_job(self, job_id: str, *, include_progress: bool = False) -> Iterator[WatchEvent]:
        """One job's changes, starting with a SNAPSHOT holding it, surviving disconnects like
        :meth:`watch_jobs`; ends by itself when the job is FINISHED, DISCARDED or deleted.
        """
        request = jobs_pb2.WatchJobRequest(id=job_id, include_progress=include_progress)
        return self._watch(self.job_service.WatchJob, request, None, ends=True, deadline=None)

    def wait_for_job(self, job_id: str, *, or_error: bool = True, timeout: Optional[float] = None) -> Job:
        """Waits until the job is FINISHED or DISCARDED (or ERROR, unless ``or_error`` is false)
        and returns it.

        Raises NOT_FOUND for an unknown job, DEADLINE_EXCEEDED when ``timeout`` seconds pass
        first, or whatever ended the watch.
        """
        deadline = None if timeout is None else _time.monotonic() + timeout
        request = jobs_pb2.WatchJobRequest(id=job_id)
        last: Optional[Job] = None
        for event in self._watch(self.job_service.WatchJob, request, None, ends=True, deadline=deadline):
            if event.kind in (WatchEventKind.SNAPSHOT, WatchEventKind.RESYNCHRONIZED):
                last = next((j for j in event.jobs if j.id == job_id), last)
            elif event.job is not None:
                last = event.job
            if last is not None and (last.is_final or (or_error and last.status is JobStatus.ERROR)):
                return last
        if deadline is not None and _time.monotonic() >= deadline:
            # The server may end the stream in good order when the deadline it was given passes.
            raise _wait_expired()
        if last is None:
            raise KilnError(Code.NOT_FOUND, f"job {job_id} not found")
        return last

    def _watch(
        self, method: Callable[..., Any], request: Any, since: Optional[int], *, ends: bool, deadline: Optional[float]
    ) -> Iterator[WatchEvent]:
        resume = since
        resynchronizing = False
        failures = 0
        while True:
            if resume is None:
                request.ClearField("since_revision")
            else:
                request.since_revision = resume
            timeout = None
            if deadline is not None:
                timeout = deadline - _time.monotonic()
                if timeout <= 0:
                    raise _wait_expired()
            try:
                call = method(request, metadata=self._metadata, timeout=timeout)
            except ValueError:  # the client was closed
                return
            snapshot: list[Job] = []
            try:
                for message in call:
                    failures = 0
                    kind = message.kind
                    if kind == jobs_pb2.WATCH_EVENT_KIND_SNAPSHOT:
                        snapshot.append(_wire.job(message.job))
                        continue
                    time = _wire.time(message, "time")
                    if kind == jobs_pb2.WATCH_EVENT_KIND_SNAPSHOT_END:
                        event_kind = WatchEventKind.RESYNCHRONIZED if resynchronizing else WatchEventKind.SNAPSHOT
                        event = WatchEvent(event_kind, message.revision, jobs=snapshot, time=time)
                        snapshot = []
                    elif kind == jobs_pb2.WATCH_EVENT_KIND_HEARTBEAT:
                        event = WatchEvent(WatchEventKind.HEARTBEAT, message.revision, time=time)
                    elif kind in _KINDS:
                        event = WatchEvent(_KINDS[kind], message.revision, job=_wire.job(message.job), time=time)
                    else:
                        continue  # a kind this client does not know
                    resume = message.revision
                    resynchronizing = False
                    yield event
                # A one-job watch ends by itself at a final status; a filter watch ends only
                # with an error, so an orderly end is treated like a dropped connection.
                if ends:
                    return
            except grpc.RpcError as rpc_error:
                error = KilnError.from_rpc_error(rpc_error)
                if deadline is not None and _time.monotonic() >= deadline:
                    raise _wait_expired() from None
                if error.code is Code.OUT_OF_RANGE:
                    resume = None
                    resynchronizing = True
                elif error.code not in _RESUMABLE:
                    raise error from None
            finally:
                call.cancel()
            failures += 1
            _time.sleep(self.config.retry.backoff(failures))

    # MARK: - Projects

    def create_project(self, name: str, description: str = "", callback_url: Optional[str] = None) -> Project:
        """Creates a project (ADMIN); ALREADY_EXISTS when the name is taken."""
        request = access_pb2.CreateProjectRequest(name=name, description=description, callback_url=callback_url or "")
        return _wire.project(self._call(self.project_service.CreateProject, request).project)

    def project(self, name: str) -> Project:
        """The project (NOT_FOUND unless the caller holds a role in it)."""
        return _wire.project(self._call(self.project_service.GetProject, access_pb2.GetProjectRequest(name=name)).project)

    def projects(self) -> list[Project]:
        """The projects the caller holds a role in (every project for an ADMIN), by name."""
        response = self._call(self.project_service.ListProjects, access_pb2.ListProjectsRequest())
        return [_wire.project(p) for p in response.projects]

    def update_project(
        self, name: str, *, description: Optional[str] = None, callback_url: Optional[str] = None
    ) -> Project:
        """Changes what is given (ADMIN); ``callback_url=""`` removes the callback."""
        request = access_pb2.UpdateProjectRequest(name=name)
        if description is not None:
            request.description = description
        if callback_url is not None:
            request.callback_url = callback_url
        return _wire.project(self._call(self.project_service.UpdateProject, request).project)

    def delete_project(self, name: str) -> int:
        """Deletes the project with its FINISHED and DISCARDED jobs (ADMIN); how many jobs went.

        FAILED_PRECONDITION while any of its jobs is PENDING, RUNNING, PAUSED or ERROR.
        """
        return self._call(self.project_service.DeleteProject, access_pb2.DeleteProjectRequest(name=name)).deleted_jobs

    # MARK: - Access

    def whoami(self) -> Identity:
        """The caller: user, roles and token."""
        response = self._call(self.access_service.WhoAmI, access_pb2.WhoAmIRequest())
        return Identity(
            user=_wire.user(response.user),
            token_id=response.token_id or None,
            authentication_enabled=response.authentication_enabled,
        )

    def create_user(self, name: str, *, admin: bool = False) -> User:
        """Creates a user (ADMIN); ALREADY_EXISTS when the name is taken."""
        request = access_pb2.CreateUserRequest(name=name, admin=admin)
        return _wire.user(self._call(self.access_service.CreateUser, request).user)

    def users(self) -> list[User]:
        """Every user with their roles (ADMIN)."""
        return [_wire.user(u) for u in self._call(self.access_service.ListUsers, access_pb2.ListUsersRequest()).users]

    def set_user_disabled(self, name: str, disabled: bool = True) -> User:
        """Disables (or enables) a user (ADMIN): a disabled user's tokens are refused."""
        request = access_pb2.SetUserDisabledRequest(name=name, disabled=disabled)
        return _wire.user(self._call(self.access_service.SetUserDisabled, request).user)

    def grant_role(self, user: str, project: str, role: Role) -> RoleBinding:
        """Gives ``user`` ``role`` in ``project``, replacing any role they held there (ADMIN)."""
        request = access_pb2.GrantRoleRequest(user=user, project=project, role=_wire.role_wire(role))
        return _wire.binding(self._call(self.access_service.GrantRole, request).binding)

    def revoke_role(self, user: str, project: str) -> None:
        """Takes away ``user``'s role in ``project`` (ADMIN); their open watches resume, rescoped."""
        self._call(self.access_service.RevokeRole, access_pb2.RevokeRoleRequest(user=user, project=project))

    def create_token(
        self, user: Optional[str] = None, *, description: str = "", ttl: Optional[timedelta] = None
    ) -> NewToken:
        """Creates a token for ``user`` (default: the caller; others' for an ADMIN only).

        The secret is in the result, shown this once.
        """
        request = access_pb2.CreateTokenRequest(user=user or "", description=description)
        if ttl is not None:
            request.ttl.CopyFrom(_wire.duration(ttl))
        response = self._call(self.access_service.CreateToken, request)
        return NewToken(token=_wire.token(response.token), secret=response.secret)

    def tokens(self, user: Optional[str] = None, *, include_inactive: bool = False) -> list[Token]:
        """The tokens of ``user`` (default: the caller's), revoked and expired ones too if asked."""
        request = access_pb2.ListTokensRequest(user=user or "", include_inactive=include_inactive)
        return [_wire.token(t) for t in self._call(self.access_service.ListTokens, request).tokens]

    def revoke_token(self, token_id: str) -> Token:
        """Revokes a token: refused from the next call on, its open watches end."""
        request = access_pb2.RevokeTokenRequest(id=token_id)
        return _wire.token(self._call(self.access_service.RevokeToken, request).token)

    def audit_events(
        self, filter: Optional[AuditFilter] = None, page_size: int = 0, page_token: Optional[str] = None
    ) -> AuditPage:
        """One page of the audit trail, newest first (ADMIN); ``page_size`` 0: 100."""
        request = access_pb2.ListAuditEventsRequest(
            filter=_wire.audit_filter(filter), page_size=page_size, page_token=page_token or ""
        )
        response = self._call(self.access_service.ListAuditEvents, request)
        return AuditPage(
            events=[_wire.audit_event(e) for e in response.events], next_page_token=response.next_page_token or None
        )

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
        request = subjects_pb2.CreateSubjectRequest(
            project=project, name=name, kind=kind, schema=schema, attributes=dict(attributes or {})
        )
        return _wire.subject(self._call(self.subject_service.CreateSubject, request).subject)

    def subject(self, name: str, project: str) -> Subject:
        """The subject ``name`` of ``project``."""
        request = subjects_pb2.GetSubjectRequest(project=project, name=name)
        return _wire.subject(self._call(self.subject_service.GetSubject, request).subject)

    def subjects(self, project: Optional[str] = None) -> list[Subject]:
        """The subjects of ``project`` (default: every project the caller holds a role in)."""
        request = subjects_pb2.ListSubjectsRequest(project=project or "")
        return [_wire.subject(s) for s in self._call(self.subject_service.ListSubjects, request).subjects]

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
        request = subjects_pb2.UpdateSubjectRequest(
            project=project,
            name=name,
            set_attributes=dict(set_attributes or {}),
            remove_attributes=list(remove_attributes or []),
        )
        if schema is not None:
            request.schema = schema
        if expected_version is not None:
            request.expected_version = expected_version
        response = self._call(self.subject_service.UpdateSubject, request)
        return SubjectChange(subject=_wire.subject(response.subject), discarded_job_ids=list(response.discarded_job_ids))

    def delete_subject(self, name: str, project: str, *, expected_version: Optional[int] = None) -> list[str]:
        """Deletes the subject; the ids of the jobs the deletion discarded."""
        request = subjects_pb2.DeleteSubjectRequest(project=project, name=name)
        if expected_version is not None:
            request.expected_version = expected_version
        return list(self._call(self.subject_service.DeleteSubject, request).discarded_job_ids)


def _wait_expired() -> KilnError:
    return KilnError(Code.DEADLINE_EXCEEDED, "the wait ended before the job did")


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()
