"""The client's value types: plain dataclasses and enums, never protobuf messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from .errors import Code, KilnError


class _TextEnum(str, enum.Enum):
    """An enum whose members are their text, as the ``kiln`` command line prints them."""

    def __str__(self) -> str:
        return str(self.value)


class JobStatus(_TextEnum):
    """The status of a job or of a step (Kylin's six statuses)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    ERROR = "ERROR"
    DISCARDED = "DISCARDED"
    FINISHED = "FINISHED"

    @property
    def is_final(self) -> bool:
        """FINISHED and DISCARDED: the job will not change status again."""
        return self in (JobStatus.FINISHED, JobStatus.DISCARDED)


class JobAction(_TextEnum):
    """An operation on a job; :attr:`Job.allowed_actions` says which ones apply."""

    PAUSE = "PAUSE"
    RESUME = "RESUME"
    RESTART = "RESTART"
    DISCARD = "DISCARD"
    DELETE = "DELETE"


class Role(_TextEnum):
    """A user's role in one project."""

    VIEWER = "VIEWER"
    OPERATOR = "OPERATOR"


class OrderField(_TextEnum):
    """What a job list is sorted by (ties are broken by job id)."""

    CREATE_TIME = "CREATE_TIME"
    UPDATE_TIME = "UPDATE_TIME"
    DURATION = "DURATION"
    STATUS = "STATUS"
    JOB_TYPE = "JOB_TYPE"
    PROJECT = "PROJECT"
    SUBJECT = "SUBJECT"


class WatchEventKind(_TextEnum):
    """What a :class:`WatchEvent` says."""

    #: The jobs that matched when the watch started (``jobs``), as of ``revision``.
    SNAPSHOT = "snapshot"
    #: A job entered the watched set: it was submitted, or now matches the filter.
    CREATED = "created"
    #: A job of the watched set changed.
    UPDATED = "updated"
    #: A job left the watched set: it was deleted, or no longer matches the filter.
    DELETED = "deleted"
    #: The watch was away longer than the server's event log reaches back and took a
    #: fresh snapshot (``jobs``): replace everything you knew. Changes in between were
    #: not seen one by one.
    RESYNCHRONIZED = "resynchronized"
    #: Nothing matching happened up to ``revision`` (a resume point).
    HEARTBEAT = "heartbeat"


class HealthStatus(_TextEnum):
    """The answer of the standard gRPC health check."""

    UNKNOWN = "UNKNOWN"
    SERVING = "SERVING"
    NOT_SERVING = "NOT_SERVING"
    SERVICE_UNKNOWN = "SERVICE_UNKNOWN"


@dataclass
class Step:
    """One stage of a job."""

    id: str
    name: str
    index: int
    status: JobStatus
    progress: int
    start_time: Optional[datetime]
    end_time: Optional[datetime]
    duration: timedelta
    retries: int
    error_message: str


@dataclass
class CallbackDelivery:
    """A completion callback of a job and what became of it (filled in by :meth:`Client.job` only)."""

    id: int
    url: str
    job_status: JobStatus
    revision: int
    create_time: Optional[datetime]
    attempts: int
    last_attempt_time: Optional[datetime]
    last_result: str
    last_status_code: int
    delivered: bool
    next_attempt_time: Optional[datetime]


@dataclass
class Job:
    """One run of a job type against a subject."""

    id: str
    project: str
    job_type: str
    subject: str
    subject_version: int
    status: JobStatus
    progress: int
    steps: list[Step]
    submitter: str
    create_time: Optional[datetime]
    start_time: Optional[datetime]
    end_time: Optional[datetime]
    update_time: Optional[datetime]
    wait_time: timedelta
    duration: timedelta
    attempt: int
    error_message: str
    revision: int
    params: dict[str, str]
    allowed_actions: list[JobAction]
    status_reason: str = ""
    callback_deliveries: list[CallbackDelivery] = field(default_factory=list)

    @property
    def is_final(self) -> bool:
        """The job is FINISHED or DISCARDED."""
        return self.status.is_final

    def step(self, name_or_index: "str | int") -> Step:
        """The step with this name or index (``KeyError`` if there is none)."""
        for step in self.steps:
            if step.name == name_or_index or step.index == name_or_index or step.id == name_or_index:
                return step
        raise KeyError(name_or_index)


@dataclass
class JobFilter:
    """Which jobs a list, batch or watch covers. Every field narrows the set; an empty one does not filter."""

    #: Empty: every project the caller may see.
    projects: list[str] = field(default_factory=list)
    statuses: list[JobStatus] = field(default_factory=list)
    job_types: list[str] = field(default_factory=list)
    #: Exact subject name.
    subject: str = ""
    #: A case-insensitive substring of the job id or subject.
    key: str = ""
    #: Jobs created at or after this time.
    created_from: Optional[datetime] = None
    #: Jobs created before this time.
    created_to: Optional[datetime] = None


@dataclass
class JobOrder:
    """How a job list is sorted: newest (largest) first unless ``ascending``."""

    field: OrderField = OrderField.CREATE_TIME
    ascending: bool = False


@dataclass
class JobPage:
    """One page of :meth:`Client.list_jobs`."""

    jobs: list[Job]
    #: Pass to the next call for the next page; ``None`` on the last page.
    next_page_token: Optional[str]
    #: Jobs matching the filter over all pages.
    total_size: int
    #: The revision the page is consistent at: ``watch_jobs(since=...)``
    #: from it misses no later change (list, then watch).
    revision: int = 0


@dataclass
class BatchResult:
    """The outcome of a batch for one job."""

    id: str
    #: The action was applied (a delete too).
    ok: bool
    #: The job after the action (``None`` for a delete or a refusal).
    job: Optional[Job] = None
    #: Why the action was refused for this job.
    error: Optional[KilnError] = None


@dataclass
class BatchOutcome:
    """What :meth:`Client.batch` did: a result per job and the counts."""

    results: list[BatchResult]
    succeeded: int
    failed: int


@dataclass
class StepType:
    """A step of a job type."""

    name: str
    kind: str
    max_retries: int


@dataclass
class JobTypeParam:
    """A parameter a job type reads."""

    name: str
    required: bool
    default_value: Optional[str]
    description: str


@dataclass
class JobType:
    """A job type the server offers."""

    name: str
    description: str
    steps: list[StepType]
    params: list[JobTypeParam]
    callback_url: Optional[str] = None


@dataclass
class StepLogChunk:
    """Bytes of a step's log (:meth:`Client.step_log`)."""

    data: bytes
    #: The offset to read on from.
    next_offset: int
    #: The step no longer writes and ``next_offset`` is the end of its log.
    complete: bool


@dataclass
class Project:
    """A project: the unit of ownership of jobs."""

    name: str
    description: str
    create_time: Optional[datetime]
    creator: str
    callback_url: Optional[str] = None


@dataclass
class RoleBinding:
    """A user's role in one project."""

    user: str
    project: str
    role: Role


@dataclass
class User:
    """A user: a system ADMIN, or roles by project."""

    name: str
    admin: bool
    disabled: bool
    create_time: Optional[datetime]
    roles: list[RoleBinding] = field(default_factory=list)


@dataclass
class Token:
    """A bearer token's record (never its secret)."""

    id: str
    user: str
    description: str
    create_time: Optional[datetime]
    expire_time: Optional[datetime] = None
    revoke_time: Optional[datetime] = None


@dataclass
class NewToken:
    """A token just created, with its secret: shown this once."""

    token: Token
    secret: str


@dataclass
class Identity:
    """Who the caller is (:meth:`Client.whoami`)."""

    user: User
    #: The token of the call; ``None`` on a server without authentication.
    token_id: Optional[str]
    authentication_enabled: bool


@dataclass
class AuditEvent:
    """One mutating call: who, what, which target, when, and the result."""

    id: int
    time: Optional[datetime]
    actor: str
    token_id: str
    method: str
    target_kind: str
    target: str
    project: str
    code: Code
    message: str
    peer: str


@dataclass
class AuditFilter:
    """Which audit events :meth:`Client.audit_events` returns."""

    actor: str = ""
    #: A method name or its last part, e.g. ``PauseJob``.
    method: str = ""
    target: str = ""
    project: str = ""
    failures_only: bool = False
    time_from: Optional[datetime] = None
    time_to: Optional[datetime] = None


@dataclass
class AuditPage:
    """One page of audit events, newest first."""

    events: list[AuditEvent]
    next_page_token: Optional[str]


@dataclass
class Subject:
    """What jobs work on (Kylin's models, tables and segments)."""

    project: str
    name: str
    kind: str
    schema: str
    attributes: dict[str, str]
    version: int
    create_time: Optional[datetime]
    update_time: Optional[datetime]
    creator: str


@dataclass
class SubjectChange:
    """The result of :meth:`Client.update_subject`: the subject and the jobs the change discarded."""

    subject: Subject
    discarded_job_ids: list[str]


@dataclass
class WatchEvent:
    """A change seen by a watch, in revision order.

    ``job`` is set for CREATED, UPDATED and DELETED; ``jobs`` for SNAPSHOT and
    RESYNCHRONIZED; ``revision`` is the revision the watch is consistent at after
    the event (a valid resume point for ``since``).
    """

    kind: WatchEventKind
    revision: int
    job: Optional[Job] = None
    jobs: list[Job] = field(default_factory=list)
    #: When the change was committed (for a heartbeat: when it was sent).
    time: Optional[datetime] = None
