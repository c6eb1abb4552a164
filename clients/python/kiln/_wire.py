"""The one mapping between the client's value types and the generated protobuf messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from google.protobuf import duration_pb2, timestamp_pb2

from ._proto import access_pb2, health_pb2, jobs_pb2, subjects_pb2
from .errors import Code, KilnError
from .types import (
    AuditEvent,
    AuditFilter,
    AuditPage,
    BatchOutcome,
    BatchResult,
    CallbackDelivery,
    HealthStatus,
    Identity,
    Job,
    JobAction,
    JobFilter,
    JobOrder,
    JobPage,
    JobStatus,
    JobType,
    JobTypeParam,
    NewToken,
    Project,
    Role,
    RoleBinding,
    Step,
    StepLogChunk,
    StepType,
    Subject,
    SubjectChange,
    Token,
    User,
)


def time(message: Any, name: str) -> Optional[datetime]:
    """The timestamp field ``name`` of ``message`` as an aware UTC datetime; ``None`` when unset."""
    if not message.HasField(name):
        return None
    return getattr(message, name).ToDatetime(tzinfo=timezone.utc)


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A protobuf timestamp; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def duration(value: timedelta) -> duration_pb2.Duration:
    result = duration_pb2.Duration()
    result.FromTimedelta(value)
    return result


def status(value: int) -> JobStatus:
    name = jobs_pb2.JobStatus.Name(value)
    try:
        return JobStatus(name.removeprefix("JOB_STATUS_"))
    except ValueError:
        raise KilnError(Code.INTERNAL, f"the server sent an unknown job status {name}") from None


def status_wire(value: JobStatus) -> int:
    return jobs_pb2.JobStatus.Value("JOB_STATUS_" + JobStatus(value).value)


def action_wire(value: JobAction) -> int:
    return jobs_pb2.JobAction.Value("JOB_ACTION_" + JobAction(value).value)


def actions(values: Any) -> list[JobAction]:
    result = []
    for value in values:
        name = jobs_pb2.JobAction.Name(value).removeprefix("JOB_ACTION_")
        if name in JobAction.__members__:
            result.append(JobAction(name))
    return result


def role(value: int) -> Role:
    name = access_pb2.Role.Name(value).removeprefix("ROLE_")
    try:
        return Role(name)
    except ValueError:
        raise KilnError(Code.INTERNAL, f"the server sent an unknown role {name}") from None


def role_wire(value: Role) -> int:
    return access_pb2.Role.Value("ROLE_" + Role(value).value)


def step(message: jobs_pb2.Step) -> Step:
    return Step(
        id=message.id,
        name=message.name,
        index=message.index,
        status=status(message.status),
        progress=message.progress,
        start_time=time(message, "start_time"),
        end_time=time(message, "end_time"),
        duration=message.duration.ToTimedelta(),
        retries=message.retries,
        error_message=message.error_message,
    )


def delivery(message: jobs_pb2.CallbackDelivery) -> CallbackDelivery:
    return CallbackDelivery(
        id=message.id,
        url=message.url,
        job_status=status(message.job_status),
        revision=message.revision,
        create_time=time(message, "create_time"),
        attempts=message.attempts,
        last_attempt_time=time(message, "last_attempt_time"),
        last_result=message.last_result,
        last_status_code=message.last_status_code,
        delivered=message.delivered,
        next_attempt_time=time(message, "next_attempt_time"),
    )


def job(message: jobs_pb2.Job) -> Job:
    return Job(
        id=message.id,
        project=message.project,
        job_type=message.job_type,
        subject=message.subject,
        subject_version=message.subject_version,
        status=status(message.status),
        progress=message.progress,
        steps=[step(s) for s in message.steps],
        submitter=message.submitter,
        create_time=time(message, "create_time"),
        start_time=time(message, "start_time"),
        end_time=time(message, "end_time"),
        update_time=time(message, "update_time"),
        wait_time=message.wait_time.ToTimedelta(),
        duration=message.duration.ToTimedelta(),
        attempt=message.attempt,
        error_message=message.error_message,
        revision=message.revision,
        params=dict(message.params),
        allowed_actions=actions(message.allowed_actions),
        status_reason=message.status_reason,
        callback_deliveries=[delivery(d) for d in message.callback_deliveries],
    )


def job_filter(value: Optional[JobFilter]) -> jobs_pb2.JobFilter:
    result = jobs_pb2.JobFilter()
    if value is None:
        return result
    result.projects.extend(value.projects)
    result.statuses.extend(status_wire(s) for s in value.statuses)
    result.job_types.extend(value.job_types)
    result.subject = value.subject
    result.key = value.key
    if value.created_from is not None:
        result.create_time_from.CopyFrom(timestamp(value.created_from))
    if value.created_to is not None:
        result.create_time_to.CopyFrom(timestamp(value.created_to))
    return result


def job_order(value: Optional[JobOrder]) -> jobs_pb2.JobOrder:
    value = value or JobOrder()
    return jobs_pb2.JobOrder(
        field=jobs_pb2.JobOrderField.Value("JOB_ORDER_FIELD_" + value.field.value), ascending=value.ascending
    )


def job_type(message: jobs_pb2.JobType) -> JobType:
    return JobType(
        name=message.name,
        description=message.description,
        steps=[StepType(name=s.name, kind=s.kind, max_retries=s.max_retries) for s in message.steps],
        params=[
            JobTypeParam(
                name=p.name, required=p.required, default_value=p.default_value or None, description=p.description
            )
            for p in message.params
        ],
        callback_url=message.callback_url or None,
    )


def project(message: access_pb2.Project) -> Project:
    return Project(
        name=message.name,
        description=message.description,
        create_time=time(message, "create_time"),
        creator=message.creator,
        callback_url=message.callback_url or None,
    )


def binding(message: access_pb2.RoleBinding) -> RoleBinding:
    return RoleBinding(user=message.user, project=message.project, role=role(message.role))


def user(message: access_pb2.User) -> User:
    return User(
        name=message.name,
        admin=message.admin,
        disabled=message.disabled,
        create_time=time(message, "create_time"),
        roles=[binding(b) for b in message.roles],
    )


def token(message: access_pb2.Token) -> Token:
    return Token(
        id=message.id,
        user=message.user,
        description=message.description,
        create_time=time(message, "create_time"),
        expire_time=time(message, "expire_time"),
        revoke_time=time(message, "revoke_time"),
    )


def audit_event(message: access_pb2.AuditEvent) -> AuditEvent:
    return AuditEvent(
        id=message.id,
        time=time(message, "time"),
        actor=message.actor,
        token_id=message.token_id,
        method=message.method,
        target_kind=message.target_kind,
        target=message.target,
        project=message.project,
        code=Code.from_number(message.code),
        message=message.message,
        peer=message.peer,
    )


def audit_filter(value: Optional[AuditFilter]) -> access_pb2.AuditFilter:
    result = access_pb2.AuditFilter()
    if value is None:
        return result
    result.actor = value.actor
    result.method = value.method
    result.target = value.target
    result.project = value.project
    result.failures_only = value.failures_only
    if value.time_from is not None:
        result.time_from.CopyFrom(timestamp(value.time_from))
    if value.time_to is not None:
        result.time_to.CopyFrom(timestamp(value.time_to))
    return result


def subject(message: subjects_pb2.Subject) -> Subject:
    return Subject(
        project=message.project,
        name=message.name,
        kind=message.kind,
        schema=message.schema,
        attributes=dict(message.attributes),
        version=message.version,
        create_time=time(message, "create_time"),
        update_time=time(message, "update_time"),
        creator=message.creator,
    )


# MARK: - Responses


def health_status(message: health_pb2.HealthCheckResponse) -> HealthStatus:
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(message.status)
    return HealthStatus(name) if name in HealthStatus.__members__ else HealthStatus.UNKNOWN


def job_page(message: jobs_pb2.ListJobsResponse) -> JobPage:
    return JobPage(
        jobs=[job(j) for j in message.jobs],
        next_page_token=message.next_page_token or None,
        total_size=message.total_size,
        revision=message.revision,
    )


def batch_outcome(message: jobs_pb2.BatchJobsResponse) -> BatchOutcome:
    results = []
    for result in message.results:
        if result.ok:
            results.append(BatchResult(id=result.id, ok=True, job=job(result.job) if result.HasField("job") else None))
        else:
            error = KilnError(Code.from_number(result.error.code), result.error.message)
            results.append(BatchResult(id=result.id, ok=False, error=error))
    return BatchOutcome(results=results, succeeded=message.succeeded, failed=message.failed)


def step_log_chunk(message: jobs_pb2.GetStepLogResponse) -> StepLogChunk:
    return StepLogChunk(data=message.data, next_offset=message.next_offset, complete=message.complete)


def identity(message: access_pb2.WhoAmIResponse) -> Identity:
    return Identity(
        user=user(message.user),
        token_id=message.token_id or None,
        authentication_enabled=message.authentication_enabled,
    )


def new_token(message: access_pb2.CreateTokenResponse) -> NewToken:
    return NewToken(token=token(message.token), secret=message.secret)


def audit_page(message: access_pb2.ListAuditEventsResponse) -> AuditPage:
    return AuditPage(events=[audit_event(e) for e in message.events], next_page_token=message.next_page_token or None)


def subject_change(message: subjects_pb2.UpdateSubjectResponse) -> SubjectChange:
    return SubjectChange(subject=subject(message.subject), discarded_job_ids=list(message.discarded_job_ids))
