"""Configuration, errors and retries, without a server."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

import kiln
from kiln import Code, KilnError
from kiln._proto import jobs_pb2


def test_config_from_env(tmp_path: Path) -> None:
    token_file = tmp_path / "admin.token"
    token_file.write_text("kiln_secret\n")
    config = kiln.Config.from_env(
        {"KILN_ADDR": "[::1]:7100", "KILN_TOKEN_FILE": str(token_file), "KILN_CA_FILE": "/ca.pem",
         "KILN_TLS_CERT": "/c.pem", "KILN_TLS_KEY": "/k.pem"}
    )
    assert (config.host, config.port, config.token, config.target) == ("::1", 7100, "kiln_secret", "[::1]:7100")
    assert config.tls == kiln.TLSConfig(ca_file="/ca.pem", cert_file="/c.pem", key_file="/k.pem")
    # KILN_TOKEN wins over KILN_TOKEN_FILE; nothing set gives the defaults.
    assert kiln.Config.from_env({"KILN_TOKEN": "t", "KILN_TOKEN_FILE": "/nonexistent"}).token == "t"
    assert kiln.Config.from_env({}) == kiln.Config()


@pytest.mark.parametrize("address", ["localhost", "host:0", "host:x", ":7077", "host:70000"])
def test_bad_addresses(address: str) -> None:
    with pytest.raises(KilnError) as error:
        kiln.parse_address(address)
    assert error.value.code is Code.INVALID_ARGUMENT and error.value.field == "address"


def test_unreadable_token_file(tmp_path: Path) -> None:
    with pytest.raises(KilnError) as missing:
        kiln.Config.from_env({"KILN_TOKEN_FILE": str(tmp_path / "nope")})
    assert missing.value.code is Code.INVALID_ARGUMENT
    (tmp_path / "empty").write_text("  \n")
    with pytest.raises(KilnError):
        kiln.read_token(str(tmp_path / "empty"))


def test_error_details() -> None:
    error = KilnError(
        Code.FAILED_PRECONDITION, "cannot pause job j: its status is FINISHED, which allows: delete",
        {"kiln-job-status": "FINISHED", "kiln-allowed-actions": "DELETE", "kiln-last-revision": "42"},
    )
    assert error.job_status is kiln.JobStatus.FINISHED
    assert error.allowed_actions == [kiln.JobAction.DELETE]
    assert error.last_revision == 42 and error.field is None and error.oldest_revision is None
    assert str(error).startswith("FAILED_PRECONDITION: cannot pause")


def test_retry_backoff_doubles_up_to_the_limit() -> None:
    policy = kiln.RetryPolicy(initial_backoff=0.1, max_backoff=0.5)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.5]


class Unavailable(grpc.RpcError, grpc.Call):
    """What grpcio raises when the server cannot be reached."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection refused"

    def trailing_metadata(self) -> tuple:
        return (("kiln-last-revision", "7"), ("other", "x"))

    def initial_metadata(self) -> tuple:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: object) -> bool:
        return False


def test_a_retry_reuses_the_request_id() -> None:
    requests = []

    def pause(request: object, metadata: object, timeout: float) -> object:
        requests.append(request)
        if len(requests) < 3:
            raise Unavailable()
        return jobs_pb2.PauseJobResponse(job=jobs_pb2.Job(id="j", status=jobs_pb2.JOB_STATUS_PAUSED))

    retry = kiln.RetryPolicy(max_attempts=3, initial_backoff=0.001)
    with kiln.Client(token="t", retry=retry) as client:
        client.job_service.PauseJob = pause
        client.pause("j", expected_revision=4)
    assert len(requests) == 3 and len({r.request_id for r in requests}) == 1 and requests[0].request_id
    assert all(r.id == "j" and r.expected_revision == 4 for r in requests)

    requests.clear()
    with kiln.Client(retry=kiln.RetryPolicy(max_attempts=2, initial_backoff=0.001)) as client:
        client.job_service.PauseJob = pause
        with pytest.raises(KilnError) as error:
            client.pause("j")
    assert len(requests) == 2
    assert error.value.code is Code.UNAVAILABLE and error.value.message == "connection refused"
    assert error.value.details == {"kiln-last-revision": "7"} and error.value.last_revision == 7
