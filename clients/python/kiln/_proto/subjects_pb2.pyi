import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Subject(_message.Message):
    __slots__ = ("project", "name", "kind", "schema", "attributes", "version", "create_time", "update_time", "creator")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    kind: str
    schema: str
    attributes: _containers.ScalarMap[str, str]
    version: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    creator: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., schema: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ...) -> None: ...

class CreateSubjectRequest(_message.Message):
    __slots__ = ("project", "name", "kind", "schema", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    kind: str
    schema: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., schema: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateSubjectResponse(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ...) -> None: ...

class GetSubjectRequest(_message.Message):
    __slots__ = ("project", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetSubjectResponse(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ...) -> None: ...

class ListSubjectsRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class ListSubjectsResponse(_message.Message):
    __slots__ = ("subjects",)
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    subjects: _containers.RepeatedCompositeFieldContainer[Subject]
    def __init__(self, subjects: _Optional[_Iterable[_Union[Subject, _Mapping]]] = ...) -> None: ...

class UpdateSubjectRequest(_message.Message):
    __slots__ = ("project", "name", "schema", "set_attributes", "remove_attributes", "expected_version")
    class SetAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SET_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    schema: str
    set_attributes: _containers.ScalarMap[str, str]
    remove_attributes: _containers.RepeatedScalarFieldContainer[str]
    expected_version: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., schema: _Optional[str] = ..., set_attributes: _Optional[_Mapping[str, str]] = ..., remove_attributes: _Optional[_Iterable[str]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class UpdateSubjectResponse(_message.Message):
    __slots__ = ("subject", "discarded_job_ids")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    discarded_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ..., discarded_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteSubjectRequest(_message.Message):
    __slots__ = ("project", "name", "expected_version")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    expected_version: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteSubjectResponse(_message.Message):
    __slots__ = ("discarded_job_ids",)
    DISCARDED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    discarded_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, discarded_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...
