"""The one exception of the Kiln client, :class:`KilnError`, and its status codes."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Mapping, Optional

import grpc
import grpc.aio

if TYPE_CHECKING:  # pragma: no cover
    from .types import JobAction, JobStatus


class Code(enum.Enum):
    """A gRPC status code; the value is the code's number."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def from_number(cls, number: int) -> "Code":
        """The code with this number; UNKNOWN for a number gRPC does not define."""
        try:
            return cls(number)
        except ValueError:
            return cls.UNKNOWN


class DetailKey:
    """The names of :attr:`KilnError.details` entries (the server's ``kiln-*`` trailers)."""

    FIELD = "kiln-field"
    JOB_STATUS = "kiln-job-status"
    ALLOWED_ACTIONS = "kiln-allowed-actions"
    JOB_REVISION = "kiln-job-revision"
    SUBJECT_VERSION = "kiln-subject-version"
    LAST_REVISION = "kiln-last-revision"
    OLDEST_REVISION = "kiln-oldest-revision"


class KilnError(Exception):
    """Every failure of a Kiln call: the server's status code, its message, and details.

    ``details`` holds the server's ``kiln-*`` trailing metadata; the properties below
    read the common ones (``None`` when the server did not send them)::

        try:
            kiln.resume(job_id)
        except kiln.KilnError as error:
            if error.code is kiln.Code.FAILED_PRECONDITION:
                print(error.job_status, error.allowed_actions)

    A server that cannot be reached is ``UNAVAILABLE``; a local deadline is
    ``DEADLINE_EXCEEDED``.
    """

    def __init__(self, code: Code, message: str, details: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code: Code = code
        self.message: str = message
        self.details: dict[str, str] = dict(details or {})

    def __repr__(self) -> str:
        return f"KilnError(code={self.code.name}, message={self.message!r}, details={self.details!r})"

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "KilnError":
        """The Kiln error for a failed gRPC call (its code, message and ``kiln-*`` trailers)."""
        code = Code.UNKNOWN
        message = str(error)
        details: dict[str, str] = {}
        # The blocking API's errors are grpc.Call objects, asyncio's are AioRpcErrors.
        if isinstance(error, (grpc.Call, grpc.aio.AioRpcError)):
            status = error.code()
            if status is not None:
                code = Code.from_number(status.value[0])
            message = error.details() or ""
            for key, value in error.trailing_metadata() or ():
                if key.startswith("kiln-"):
                    details[key] = value.decode() if isinstance(value, bytes) else value
        return cls(code, message, details)

    def _int(self, key: str) -> Optional[int]:
        value = self.details.get(key)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def field(self) -> Optional[str]:
        """For INVALID_ARGUMENT: the request field at fault, e.g. ``params.table``."""
        return self.details.get(DetailKey.FIELD)

    @property
    def job_status(self) -> Optional["JobStatus"]:
        """For FAILED_PRECONDITION: the job's status when the operation was refused."""
        from .types import JobStatus

        value = self.details.get(DetailKey.JOB_STATUS)
        try:
            return JobStatus(value) if value is not None else None
        except ValueError:
            return None

    @property
    def allowed_actions(self) -> Optional[list["JobAction"]]:
        """For FAILED_PRECONDITION: what the job's status allows instead."""
        from .types import JobAction

        value = self.details.get(DetailKey.ALLOWED_ACTIONS)
        if value is None:
            return None
        return [JobAction(part) for part in value.split(",") if part in JobAction.__members__]

    @property
    def job_revision(self) -> Optional[int]:
        """For ABORTED (``expected_revision``): the job's current revision."""
        return self._int(DetailKey.JOB_REVISION)

    @property
    def subject_version(self) -> Optional[int]:
        """For ABORTED (``expected_version``): the subject's current version."""
        return self._int(DetailKey.SUBJECT_VERSION)

    @property
    def last_revision(self) -> Optional[int]:
        """For RESOURCE_EXHAUSTED and UNAVAILABLE on a watch: the revision to resume after."""
        return self._int(DetailKey.LAST_REVISION)

    @property
    def oldest_revision(self) -> Optional[int]:
        """For OUT_OF_RANGE: the oldest revision the server's event log still keeps."""
        return self._int(DetailKey.OLDEST_REVISION)
