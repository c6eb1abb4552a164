"""Kiln's Python client: a typed, scriptable client of the Kiln job-operations server.

    import kiln

    with kiln.Client(kiln.Config.from_env()) as client:
        job = client.submit_job("sales", "INDEX_BUILD", "sales_model")
        done = client.wait_for_job(job.id)
        for event in client.watch_jobs(kiln.JobFilter(projects=["sales"])):
            print(event.kind, event.revision, event.job and event.job.status)

Every call raises :class:`KilnError` (code, message, details); values are plain
dataclasses and enums. :class:`kiln.aio.Client` is the same client for asyncio.
"""

from . import aio
from .client import Client, new_request_id
from .config import Config, RetryPolicy, TLSConfig, parse_address, read_token
from .errors import Code, DetailKey, KilnError
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
    OrderField,
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
    WatchEvent,
    WatchEventKind,
)

__version__ = "0.1.0"

__all__ = [
    "AuditEvent", "AuditFilter", "AuditPage", "BatchOutcome", "BatchResult", "CallbackDelivery", "Client", "Code",
    "Config", "DetailKey", "HealthStatus", "Identity", "Job", "JobAction", "JobFilter", "JobOrder", "JobPage",
    "JobStatus", "JobType", "JobTypeParam", "KilnError", "NewToken", "OrderField", "Project", "RetryPolicy", "Role",
    "RoleBinding", "Step", "StepLogChunk", "StepType", "Subject", "SubjectChange", "TLSConfig", "Token", "User",
    "WatchEvent", "WatchEventKind", "aio", "new_request_id", "parse_address", "read_token",
]
