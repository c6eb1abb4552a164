"""Every Kiln operation written once, without I/O, for the synchronous and the asyncio client.

A unary operation is a :class:`Unary` plan: which stub method to call, the request, and
how to turn the response into the client's values. A streaming one is a state machine
(:class:`WatchSession`, :class:`LogFollow`, :class:`JobWait`) that builds each
connection's request, turns messages into values and decides, after a connection ends,
whether to reconnect, how long to wait first, or which error to raise. ``kiln.Client``
runs them with blocking calls, ``kiln.aio.Client`` with ``await``: the two cannot drift
apart in what they send, what they return or when they retry.
"""

from __future__ import annotations

import time as _time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Generic, Mapping, Optional, Protocol, Sequence, TypeVar

from . import _wire
from ._proto import access_pb2, health_pb2, jobs_pb2, subjects_pb2
from .config import RetryPolicy
from .errors import Code, DetailKey, KilnError
from .types import (
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
T_co = TypeVar("T_co", covariant=True)

# The clients' attributes holding the generated stubs.
JOBS = "job_service"
PROJECTS = "project_service"
ACCESS = "access_service"
SUBJECTS = "subject_service"
HEALTH = "health_service"


def new_request_id() -> str:
    """A fresh idempotency key for a mutating call."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Unary(Generic[T]):
    """One unary RPC: ``getattr(getattr(client, service), method)(request)``, then ``convert``."""

    service: str
    method: str
    request: Any
    convert: Callable[[Any], T]


def _nothing(_: Any) -> None:
    return None


# MARK: - Health


def health(service: str) -> Unary[HealthStatus]:
    return Unary(HEALTH, "Check", health_pb2.HealthCheckRequest(service=service), _wire.health_status)


# MARK: - Jobs


def submit_job(
    project: str, job_type: str, subject: str, params: Optional[Mapping[str, str]], request_id: Optional[str]
) -> Unary[Job]:
    if params is not None and not isinstance(params, Mapping):
        raise KilnError(
            Code.INVALID_ARGUMENT,
            f"params: expected a mapping of names to values, got {type(params).__name__}",
            {DetailKey.FIELD: "params"},
        )
    request = jobs_pb2.SubmitJobRequest(
        project=project,
        job_type=job_type,
        subject=subject,
        params={str(k): str(v) for k, v in (params or {}).items()},
        request_id=request_id or new_request_id(),
    )
    return Unary(JOBS, "SubmitJob", request, lambda r: _wire.job(r.job))


def job(job_id: str) -> Unary[Job]:
    return Unary(JOBS, "GetJob", jobs_pb2.GetJobRequest(id=job_id), lambda r: _wire.job(r.job))


def list_jobs(
    filter: Optional[JobFilter], order: Optional[JobOrder], page_size: int, page_token: Optional[str]
) -> Unary[JobPage]:
    request = jobs_pb2.ListJobsRequest(
        filter=_wire.job_filter(filter),
        order_by=_wire.job_order(order),
        page_size=page_size,
        page_token=page_token or "",
    )
    return Unary(JOBS, "ListJobs", request, _wire.job_page)


_ACTIONS: dict[JobAction, tuple[str, Any]] = {
    JobAction.PAUSE: ("PauseJob", jobs_pb2.PauseJobRequest),
    JobAction.RESUME: ("ResumeJob", jobs_pb2.ResumeJobRequest),
    JobAction.RESTART: ("RestartJob", jobs_pb2.RestartJobRequest),
    JobAction.DISCARD: ("DiscardJob", jobs_pb2.DiscardJobRequest),
    JobAction.DELETE: ("DeleteJob", jobs_pb2.DeleteJobRequest),
}


def _action(value: Any) -> JobAction:
    try:
        return JobAction(value)
    except ValueError:
        known = ", ".join(a.value for a in JobAction)
        raise KilnError(
            Code.INVALID_ARGUMENT, f"action: {value!r} is not one of {known}", {DetailKey.FIELD: "action"}
        ) from None


def perform(
    action: JobAction, job_id: str, expected_revision: Optional[int], request_id: Optional[str]
) -> Unary[Optional[Job]]:
    action = _action(action)
    method, request_type = _ACTIONS[action]
    # One request id for the logical call, reused by every retry.
    request = request_type(id=job_id, request_id=request_id or new_request_id())
    if expected_revision is not None:
        request.expected_revision = expected_revision
    if action is JobAction.DELETE:
        return Unary(JOBS, method, request, _nothing)
    return Unary(JOBS, method, request, lambda r: _wire.job(r.job))


def batch(
    action: JobAction, ids: Optional[Sequence[str]], filter: Optional[JobFilter], request_id: Optional[str]
) -> Unary[BatchOutcome]:
    if (ids is None) == (filter is None):
        raise KilnError(Code.INVALID_ARGUMENT, "selector: give either ids or filter", {DetailKey.FIELD: "selector"})
    if isinstance(ids, str):
        raise KilnError(
            Code.INVALID_ARGUMENT, "ids: expected a list of job ids, got one string", {DetailKey.FIELD: "ids"}
        )
    request = jobs_pb2.BatchJobsRequest(
        action=_wire.action_wire(_action(action)), request_id=request_id or new_request_id()
    )
    if ids is not None:
        request.ids.ids.extend(ids)
    else:
        request.filter.CopyFrom(_wire.job_filter(filter))
    return Unary(JOBS, "BatchJobs", request, _wire.batch_outcome)


def job_types() -> Unary[list[JobType]]:
    return Unary(JOBS, "ListJobTypes", jobs_pb2.ListJobTypesRequest(), lambda r: [_wire.job_type(t) for t in r.job_types])


def step_log(job_id: str, step: "str | int", offset: int, limit: int) -> Unary[StepLogChunk]:
    request = jobs_pb2.GetStepLogRequest(job_id=job_id, step_id=str(step), offset=offset, limit=limit)
    return Unary(JOBS, "GetStepLog", request, _wire.step_log_chunk)


# MARK: - Projects


def create_project(name: str, description: str, callback_url: Optional[str]) -> Unary[Project]:
    request = access_pb2.CreateProjectRequest(name=name, description=description, callback_url=callback_url or "")
    return Unary(PROJECTS, "CreateProject", request, lambda r: _wire.project(r.project))


def project(name: str) -> Unary[Project]:
    return Unary(PROJECTS, "GetProject", access_pb2.GetProjectRequest(name=name), lambda r: _wire.project(r.project))


def projects() -> Unary[list[Project]]:
    return Unary(
        PROJECTS, "ListProjects", access_pb2.ListProjectsRequest(), lambda r: [_wire.project(p) for p in r.projects]
    )


def update_project(name: str, description: Optional[str], callback_url: Optional[str]) -> Unary[Project]:
    request = access_pb2.UpdateProjectRequest(name=name)
    if description is not None:
        request.description = description
    if callback_url is not None:
        request.callback_url = callback_url
    return Unary(PROJECTS, "UpdateProject", request, lambda r: _wire.project(r.project))


def delete_project(name: str) -> Unary[int]:
    return Unary(PROJECTS, "DeleteProject", access_pb2.DeleteProjectRequest(name=name), lambda r: r.deleted_jobs)


# MARK: - Access


def whoami() -> Unary[Identity]:
    return Unary(ACCESS, "WhoAmI", access_pb2.WhoAmIRequest(), _wire.identity)


def create_user(name: str, admin: bool) -> Unary[User]:
    request = access_pb2.CreateUserRequest(name=name, admin=admin)
    return Unary(ACCESS, "CreateUser", request, lambda r: _wire.user(r.user))


def users() -> Unary[list[User]]:
    return Unary(ACCESS, "ListUsers", access_pb2.ListUsersRequest(), lambda r: [_wire.user(u) for u in r.users])


def set_user_disabled(name: str, disabled: bool) -> Unary[User]:
    request = access_pb2.SetUserDisabledRequest(name=name, disabled=disabled)
    return Unary(ACCESS, "SetUserDisabled", request, lambda r: _wire.user(r.user))


def grant_role(user: str, project: str, role: Role) -> Unary[RoleBinding]:
    request = access_pb2.GrantRoleRequest(user=user, project=project, role=_wire.role_wire(role))
    return Unary(ACCESS, "GrantRole", request, lambda r: _wire.binding(r.binding))


def revoke_role(user: str, project: str) -> Unary[None]:
    return Unary(ACCESS, "RevokeRole", access_pb2.RevokeRoleRequest(user=user, project=project), _nothing)


def create_token(user: Optional[str], description: str, ttl: Optional[timedelta]) -> Unary[NewToken]:
    request = access_pb2.CreateTokenRequest(user=user or "", description=description)
    if ttl is not None:
        request.ttl.CopyFrom(_wire.duration(ttl))
    return Unary(ACCESS, "CreateToken", request, _wire.new_token)


def tokens(user: Optional[str], include_inactive: bool) -> Unary[list[Token]]:
    request = access_pb2.ListTokensRequest(user=user or "", include_inactive=include_inactive)
    return Unary(ACCESS, "ListTokens", request, lambda r: [_wire.token(t) for t in r.tokens])


def revoke_token(token_id: str) -> Unary[Token]:
    return Unary(ACCESS, "RevokeToken", access_pb2.RevokeTokenRequest(id=token_id), lambda r: _wire.token(r.token))


def audit_events(filter: Optional[AuditFilter], page_size: int, page_token: Optional[str]) -> Unary[AuditPage]:
    request = access_pb2.ListAuditEventsRequest(
        filter=_wire.audit_filter(filter), page_size=page_size, page_token=page_token or ""
    )
    return Unary(ACCESS, "ListAuditEvents", request, _wire.audit_page)


# MARK: - Subjects


def create_subject(
    name: str, project: str, kind: str, schema: str, attributes: Optional[Mapping[str, str]]
) -> Unary[Subject]:
    request = subjects_pb2.CreateSubjectRequest(
        project=project, name=name, kind=kind, schema=schema, attributes=dict(attributes or {})
    )
    return Unary(SUBJECTS, "CreateSubject", request, lambda r: _wire.subject(r.subject))


def subject(name: str, project: str) -> Unary[Subject]:
    request = subjects_pb2.GetSubjectRequest(project=project, name=name)
    return Unary(SUBJECTS, "GetSubject", request, lambda r: _wire.subject(r.subject))


def subjects(project: Optional[str]) -> Unary[list[Subject]]:
    request = subjects_pb2.ListSubjectsRequest(project=project or "")
    return Unary(SUBJECTS, "ListSubjects", request, lambda r: [_wire.subject(s) for s in r.subjects])


def update_subject(
    name: str,
    project: str,
    schema: Optional[str],
    set_attributes: Optional[Mapping[str, str]],
    remove_attributes: Optional[Sequence[str]],
    expected_version: Optional[int],
) -> Unary[SubjectChange]:
    if isinstance(remove_attributes, str):
        raise KilnError(
            Code.INVALID_ARGUMENT,
            "remove_attributes: expected a list of attribute names, got one string",
            {DetailKey.FIELD: "remove_attributes"},
        )
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
    return Unary(SUBJECTS, "UpdateSubject", request, _wire.subject_change)


def delete_subject(name: str, project: str, expected_version: Optional[int]) -> Unary[list[str]]:
    request = subjects_pb2.DeleteSubjectRequest(project=project, name=name)
    if expected_version is not None:
        request.expected_version = expected_version
    return Unary(SUBJECTS, "DeleteSubject", request, lambda r: list(r.discarded_job_ids))


# MARK: - Streams


class Stream(Protocol[T_co]):
    """A streaming call over as many connections as it takes, driven by a client::

        while True:
            request, timeout = stream.connect()
            ...call, and for each message: item = stream.receive(message), yield it unless None
            delay = stream.disconnected(error_or_None)   # raises a final error
            if delay is None: return
            ...sleep delay
    """

    service: str
    method: str

    def connect(self) -> tuple[Any, Optional[float]]: ...

    def receive(self, message: Any) -> Optional[T_co]: ...

    def disconnected(self, error: Optional[KilnError]) -> Optional[float]: ...


# Watch errors after which a watch reconnects and resumes: the connection dropped, the
# server restarted or ended the stream (roles changed), or the watch fell behind.
_RESUMABLE = (Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.DEADLINE_EXCEEDED, Code.CANCELLED)

_KINDS = {
    jobs_pb2.WATCH_EVENT_KIND_CREATED: WatchEventKind.CREATED,
    jobs_pb2.WATCH_EVENT_KIND_UPDATED: WatchEventKind.UPDATED,
    jobs_pb2.WATCH_EVENT_KIND_DELETED: WatchEventKind.DELETED,
}


def wait_expired() -> KilnError:
    return KilnError(Code.DEADLINE_EXCEEDED, "the wait ended before the job did")


class WatchSession:
    """One logical watch over any number of connections: what each asks for, what it delivers.

    For every connection the client calls :meth:`connect` for the request and its
    timeout, hands each message to :meth:`receive` (yielding the event it returns, if
    any), and when the stream ends calls :meth:`disconnected` with the error (``None``
    after an orderly end), which raises a final error, returns ``None`` when the watch
    is over, or the seconds to wait before reconnecting. The next request resumes after
    the last revision delivered, or takes a fresh snapshot after OUT_OF_RANGE.
    """

    def __init__(
        self,
        method: str,
        request: Any,
        since: Optional[int],
        *,
        ends: bool,
        retry: RetryPolicy,
        deadline: Optional[float] = None,
    ) -> None:
        self.service = JOBS
        self.method = method
        self._request = request
        self._resume = since
        self._resynchronizing = False
        self._failures = 0
        self._snapshot: list[Job] = []
        self._ends = ends
        self._retry = retry
        self._deadline = deadline

    def connect(self) -> tuple[Any, Optional[float]]:
        """The request and timeout of the next connection (DEADLINE_EXCEEDED once a wait's deadline passed)."""
        if self._resume is None:
            self._request.ClearField("since_revision")
        else:
            self._request.since_revision = self._resume
        self._snapshot = []
        timeout = None
        if self._deadline is not None:
            timeout = self._deadline - _time.monotonic()
            if timeout <= 0:
                raise wait_expired()
        return self._request, timeout

    def receive(self, message: jobs_pb2.WatchJobsResponse) -> Optional[WatchEvent]:
        """The event a message completes (snapshot messages gather until the snapshot's end)."""
        self._failures = 0
        kind = message.kind
        if kind == jobs_pb2.WATCH_EVENT_KIND_SNAPSHOT:
            self._snapshot.append(_wire.job(message.job))
            return None
        time = _wire.time(message, "time")
        if kind == jobs_pb2.WATCH_EVENT_KIND_SNAPSHOT_END:
            event_kind = WatchEventKind.RESYNCHRONIZED if self._resynchronizing else WatchEventKind.SNAPSHOT
            event = WatchEvent(event_kind, message.revision, jobs=self._snapshot, time=time)
            self._snapshot = []
        elif kind == jobs_pb2.WATCH_EVENT_KIND_HEARTBEAT:
            event = WatchEvent(WatchEventKind.HEARTBEAT, message.revision, time=time)
        elif kind in _KINDS:
            event = WatchEvent(_KINDS[kind], message.revision, job=_wire.job(message.job), time=time)
        else:
            return None  # a kind this client does not know
        self._resume = message.revision
        self._resynchronizing = False
        return event

    def disconnected(self, error: Optional[KilnError]) -> Optional[float]:
        """After a connection ended: ``None`` when the watch is over, else the seconds to
        wait before reconnecting; raises a final error."""
        if error is None:
            # A one-job watch ends by itself at a final status; a filter watch ends only
            # with an error, so an orderly end is treated like a dropped connection.
            if self._ends:
                return None
        else:
            if self._deadline is not None and _time.monotonic() >= self._deadline:
                raise wait_expired()
            if error.code is Code.OUT_OF_RANGE:
                self._resume = None
                self._resynchronizing = True
            elif error.code not in _RESUMABLE:
                raise error from None
        self._failures += 1
        return self._retry.backoff(self._failures)


def watch_jobs(
    filter: Optional[JobFilter], include_progress: bool, since: Optional[int], retry: RetryPolicy
) -> WatchSession:
    request = jobs_pb2.WatchJobsRequest(filter=_wire.job_filter(filter), include_progress=include_progress)
    return WatchSession("WatchJobs", request, since, ends=False, retry=retry)


def watch_job(job_id: str, include_progress: bool, retry: RetryPolicy) -> WatchSession:
    request = jobs_pb2.WatchJobRequest(id=job_id, include_progress=include_progress)
    return WatchSession("WatchJob", request, None, ends=True, retry=retry)


class JobWait:
    """``wait_for_job``: a one-job watch and the test of whether the job is done."""

    def __init__(self, job_id: str, or_error: bool, timeout: Optional[float], retry: RetryPolicy) -> None:
        if timeout is not None and timeout < 0:
            raise KilnError(
                Code.INVALID_ARGUMENT, f"timeout: {timeout} is negative", {DetailKey.FIELD: "timeout"}
            )
        self._job_id = job_id
        self._or_error = or_error
        self._last: Optional[Job] = None
        self._deadline = None if timeout is None else _time.monotonic() + timeout
        self.session = WatchSession(
            "WatchJob", jobs_pb2.WatchJobRequest(id=job_id), None, ends=True, retry=retry, deadline=self._deadline
        )

    def see(self, event: WatchEvent) -> Optional[Job]:
        """The job, once this event shows it done; ``None`` to keep waiting."""
        if event.kind in (WatchEventKind.SNAPSHOT, WatchEventKind.RESYNCHRONIZED):
            self._last = next((j for j in event.jobs if j.id == self._job_id), self._last)
        elif event.job is not None:
            self._last = event.job
        last = self._last
        if last is not None and (last.is_final or (self._or_error and last.status is JobStatus.ERROR)):
            return last
        return None

    def ended(self) -> Job:
        """What the wait gives when the watch ended without :meth:`see` returning the job."""
        if self._deadline is not None and _time.monotonic() >= self._deadline:
            # The server may end the stream in good order when the deadline it was given passes.
            raise wait_expired()
        if self._last is None:
            raise KilnError(Code.NOT_FOUND, f"job {self._job_id} not found")
        return self._last


class LogFollow:
    """``follow_step_log``: resumes from the last byte delivered after a dropped connection."""

    service = JOBS
    method = "FollowStepLog"

    def __init__(self, job_id: str, step: "str | int", offset: int, retry: RetryPolicy) -> None:
        if offset < 0:
            raise KilnError(Code.INVALID_ARGUMENT, f"offset: {offset} is negative", {DetailKey.FIELD: "offset"})
        self._job_id = job_id
        self._step = str(step)
        self._position = offset
        self._failures = 0
        self._retry = retry

    def connect(self) -> tuple[jobs_pb2.FollowStepLogRequest, None]:
        """The request of the next connection, from the last byte delivered, and no timeout."""
        return jobs_pb2.FollowStepLogRequest(job_id=self._job_id, step_id=self._step, offset=self._position), None

    def receive(self, message: jobs_pb2.FollowStepLogResponse) -> bytes:
        """The bytes of a message."""
        self._failures = 0
        self._position = message.next_offset
        return message.data

    def disconnected(self, error: Optional[KilnError]) -> Optional[float]:
        """``None`` when the log is complete, else the seconds before reconnecting; raises a final error."""
        if error is None:
            return None
        if error.code is not Code.UNAVAILABLE:
            raise error from None
        self._failures += 1
        return self._retry.backoff(self._failures)
