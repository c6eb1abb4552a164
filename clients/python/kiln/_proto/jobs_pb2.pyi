import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_PENDING: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_PAUSED: _ClassVar[JobStatus]
    JOB_STATUS_ERROR: _ClassVar[JobStatus]
    JOB_STATUS_DISCARDED: _ClassVar[JobStatus]
    JOB_STATUS_FINISHED: _ClassVar[JobStatus]

class JobAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_ACTION_UNSPECIFIED: _ClassVar[JobAction]
    JOB_ACTION_PAUSE: _ClassVar[JobAction]
    JOB_ACTION_RESUME: _ClassVar[JobAction]
    JOB_ACTION_RESTART: _ClassVar[JobAction]
    JOB_ACTION_DISCARD: _ClassVar[JobAction]
    JOB_ACTION_DELETE: _ClassVar[JobAction]

class JobOrderField(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_ORDER_FIELD_UNSPECIFIED: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_CREATE_TIME: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_UPDATE_TIME: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_DURATION: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_STATUS: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_JOB_TYPE: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_PROJECT: _ClassVar[JobOrderField]
    JOB_ORDER_FIELD_SUBJECT: _ClassVar[JobOrderField]

class WatchEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WATCH_EVENT_KIND_UNSPECIFIED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_SNAPSHOT: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_SNAPSHOT_END: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_CREATED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_UPDATED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_DELETED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_HEARTBEAT: _ClassVar[WatchEventKind]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_PENDING: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_PAUSED: JobStatus
JOB_STATUS_ERROR: JobStatus
JOB_STATUS_DISCARDED: JobStatus
JOB_STATUS_FINISHED: JobStatus
JOB_ACTION_UNSPECIFIED: JobAction
JOB_ACTION_PAUSE: JobAction
JOB_ACTION_RESUME: JobAction
JOB_ACTION_RESTART: JobAction
JOB_ACTION_DISCARD: JobAction
JOB_ACTION_DELETE: JobAction
JOB_ORDER_FIELD_UNSPECIFIED: JobOrderField
JOB_ORDER_FIELD_CREATE_TIME: JobOrderField
JOB_ORDER_FIELD_UPDATE_TIME: JobOrderField
JOB_ORDER_FIELD_DURATION: JobOrderField
JOB_ORDER_FIELD_STATUS: JobOrderField
JOB_ORDER_FIELD_JOB_TYPE: JobOrderField
JOB_ORDER_FIELD_PROJECT: JobOrderField
JOB_ORDER_FIELD_SUBJECT: JobOrderField
WATCH_EVENT_KIND_UNSPECIFIED: WatchEventKind
WATCH_EVENT_KIND_SNAPSHOT: WatchEventKind
WATCH_EVENT_KIND_SNAPSHOT_END: WatchEventKind
WATCH_EVENT_KIND_CREATED: WatchEventKind
WATCH_EVENT_KIND_UPDATED: WatchEventKind
WATCH_EVENT_KIND_DELETED: WatchEventKind
WATCH_EVENT_KIND_HEARTBEAT: WatchEventKind

class Step(_message.Message):
    __slots__ = ("id", "name", "index", "status", "progress", "start_time", "end_time", "duration", "retries", "error_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    index: int
    status: JobStatus
    progress: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    retries: int
    error_message: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., index: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., progress: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., retries: _Optional[int] = ..., error_message: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "project", "job_type", "subject", "subject_version", "status", "progress", "steps", "submitter", "create_time", "start_time", "end_time", "update_time", "wait_time", "duration", "attempt", "error_message", "revision", "params", "allowed_actions", "status_reason", "callback_deliveries")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    project: str
    job_type: str
    subject: str
    subject_version: int
    status: JobStatus
    progress: int
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    submitter: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    wait_time: _duration_pb2.Duration
    duration: _duration_pb2.Duration
    attempt: int
    error_message: str
    revision: int
    params: _containers.ScalarMap[str, str]
    allowed_actions: _containers.RepeatedScalarFieldContainer[JobAction]
    status_reason: str
    callback_deliveries: _containers.RepeatedCompositeFieldContainer[CallbackDelivery]
    def __init__(self, id: _Optional[str] = ..., project: _Optional[str] = ..., job_type: _Optional[str] = ..., subject: _Optional[str] = ..., subject_version: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., progress: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., submitter: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., wait_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., attempt: _Optional[int] = ..., error_message: _Optional[str] = ..., revision: _Optional[int] = ..., params: _Optional[_Mapping[str, str]] = ..., allowed_actions: _Optional[_Iterable[_Union[JobAction, str]]] = ..., status_reason: _Optional[str] = ..., callback_deliveries: _Optional[_Iterable[_Union[CallbackDelivery, _Mapping]]] = ...) -> None: ...

class CallbackDelivery(_message.Message):
    __slots__ = ("id", "url", "job_status", "revision", "create_time", "attempts", "last_attempt_time", "last_result", "last_status_code", "delivered", "next_attempt_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    JOB_STATUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_RESULT_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    job_status: JobStatus
    revision: int
    create_time: _timestamp_pb2.Timestamp
    attempts: int
    last_attempt_time: _timestamp_pb2.Timestamp
    last_result: str
    last_status_code: int
    delivered: bool
    next_attempt_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ..., job_status: _Optional[_Union[JobStatus, str]] = ..., revision: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_result: _Optional[str] = ..., last_status_code: _Optional[int] = ..., delivered: _Optional[bool] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobFilter(_message.Message):
    __slots__ = ("projects", "statuses", "job_types", "subject", "key", "create_time_from", "create_time_to")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_TO_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedScalarFieldContainer[str]
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    job_types: _containers.RepeatedScalarFieldContainer[str]
    subject: str
    key: str
    create_time_from: _timestamp_pb2.Timestamp
    create_time_to: _timestamp_pb2.Timestamp
    def __init__(self, projects: _Optional[_Iterable[str]] = ..., statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., job_types: _Optional[_Iterable[str]] = ..., subject: _Optional[str] = ..., key: _Optional[str] = ..., create_time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobOrder(_message.Message):
    __slots__ = ("field", "ascending")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    ASCENDING_FIELD_NUMBER: _ClassVar[int]
    field: JobOrderField
    ascending: bool
    def __init__(self, field: _Optional[_Union[JobOrderField, str]] = ..., ascending: _Optional[bool] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("project", "job_type", "subject", "params", "request_id")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    project: str
    job_type: str
    subject: str
    params: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, project: _Optional[str] = ..., job_type: _Optional[str] = ..., subject: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("filter", "order_by", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: JobFilter
    order_by: JobOrder
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[JobFilter, _Mapping]] = ..., order_by: _Optional[_Union[JobOrder, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token", "total_size", "revision")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    total_size: int
    revision: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class PauseJobRequest(_message.Message):
    __slots__ = ("id", "request_id", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class PauseJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ResumeJobRequest(_message.Message):
    __slots__ = ("id", "request_id", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class ResumeJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class RestartJobRequest(_message.Message):
    __slots__ = ("id", "request_id", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class RestartJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class DiscardJobRequest(_message.Message):
    __slots__ = ("id", "request_id", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DiscardJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("id", "request_id", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobIds(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchJobsRequest(_message.Message):
    __slots__ = ("action", "ids", "filter", "request_id")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    action: JobAction
    ids: JobIds
    filter: JobFilter
    request_id: str
    def __init__(self, action: _Optional[_Union[JobAction, str]] = ..., ids: _Optional[_Union[JobIds, _Mapping]] = ..., filter: _Optional[_Union[JobFilter, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchJobResult(_message.Message):
    __slots__ = ("id", "job", "error", "ok")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    id: str
    job: Job
    error: BatchJobError
    ok: bool
    def __init__(self, id: _Optional[str] = ..., job: _Optional[_Union[Job, _Mapping]] = ..., error: _Optional[_Union[BatchJobError, _Mapping]] = ..., ok: _Optional[bool] = ...) -> None: ...

class BatchJobError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class BatchJobsResponse(_message.Message):
    __slots__ = ("results", "succeeded", "failed")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchJobResult]
    succeeded: int
    failed: int
    def __init__(self, results: _Optional[_Iterable[_Union[BatchJobResult, _Mapping]]] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class ListJobTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StepType(_message.Message):
    __slots__ = ("name", "kind", "max_retries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    max_retries: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., max_retries: _Optional[int] = ...) -> None: ...

class JobType(_message.Message):
    __slots__ = ("name", "description", "steps", "params", "callback_url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    steps: _containers.RepeatedCompositeFieldContainer[StepType]
    params: _containers.RepeatedCompositeFieldContainer[JobTypeParam]
    callback_url: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepType, _Mapping]]] = ..., params: _Optional[_Iterable[_Union[JobTypeParam, _Mapping]]] = ..., callback_url: _Optional[str] = ...) -> None: ...

class JobTypeParam(_message.Message):
    __slots__ = ("name", "required", "default_value", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    required: bool
    default_value: str
    description: str
    def __init__(self, name: _Optional[str] = ..., required: _Optional[bool] = ..., default_value: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ListJobTypesResponse(_message.Message):
    __slots__ = ("job_types",)
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    job_types: _containers.RepeatedCompositeFieldContainer[JobType]
    def __init__(self, job_types: _Optional[_Iterable[_Union[JobType, _Mapping]]] = ...) -> None: ...

class GetStepLogRequest(_message.Message):
    __slots__ = ("job_id", "step_id", "offset", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step_id: str
    offset: int
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., step_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class GetStepLogResponse(_message.Message):
    __slots__ = ("data", "next_offset", "complete")
    DATA_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    next_offset: int
    complete: bool
    def __init__(self, data: _Optional[bytes] = ..., next_offset: _Optional[int] = ..., complete: _Optional[bool] = ...) -> None: ...

class WatchJobsRequest(_message.Message):
    __slots__ = ("filter", "since_revision", "include_progress")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SINCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    filter: JobFilter
    since_revision: int
    include_progress: bool
    def __init__(self, filter: _Optional[_Union[JobFilter, _Mapping]] = ..., since_revision: _Optional[int] = ..., include_progress: _Optional[bool] = ...) -> None: ...

class WatchJobsResponse(_message.Message):
    __slots__ = ("kind", "revision", "job", "time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    kind: WatchEventKind
    revision: int
    job: Job
    time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[WatchEventKind, str]] = ..., revision: _Optional[int] = ..., job: _Optional[_Union[Job, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("id", "since_revision", "include_progress")
    ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    id: str
    since_revision: int
    include_progress: bool
    def __init__(self, id: _Optional[str] = ..., since_revision: _Optional[int] = ..., include_progress: _Optional[bool] = ...) -> None: ...

class FollowStepLogRequest(_message.Message):
    __slots__ = ("job_id", "step_id", "offset")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step_id: str
    offset: int
    def __init__(self, job_id: _Optional[str] = ..., step_id: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class FollowStepLogResponse(_message.Message):
    __slots__ = ("data", "next_offset")
    DATA_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    next_offset: int
    def __init__(self, data: _Optional[bytes] = ..., next_offset: _Optional[int] = ...) -> None: ...
