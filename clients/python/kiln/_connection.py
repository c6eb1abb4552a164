"""How both clients connect, authenticate, and read a failed attempt."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import grpc

from ._proto import access_pb2_grpc, health_pb2_grpc, jobs_pb2_grpc, subjects_pb2_grpc
from .config import Config
from .errors import Code, KilnError


class Connection:
    """What both clients hold: the configuration, the channel and its generated stubs, the call metadata."""

    #: The gRPC API the channel comes from: ``grpc`` (blocking) or ``grpc.aio``.
    _grpc: Any = grpc

    def __init__(self, config: Optional[Config] = None, **overrides: Any) -> None:
        """Connects (lazily) to the server of ``config`` (default: ``Config()``, 127.0.0.1:7077).

        Keyword arguments override fields of the configuration, e.g.
        ``Client(host="kiln.internal", port=7077, token=secret)``; an unknown one is a
        ``TypeError``.
        """
        config = resolve(config, overrides)
        tls = credentials(config)
        if tls is not None:
            channel = self._grpc.secure_channel(config.target, tls, options=options(config))
        else:
            channel = self._grpc.insecure_channel(config.target, options=options(config))
        self.config: Config = config
        self.channel = channel
        #: The generated stubs, for what the typed API does not cover.
        self.job_service = jobs_pb2_grpc.JobServiceStub(channel)
        self.project_service = access_pb2_grpc.ProjectServiceStub(channel)
        self.access_service = access_pb2_grpc.AccessServiceStub(channel)
        self.subject_service = subjects_pb2_grpc.SubjectServiceStub(channel)
        self.health_service = health_pb2_grpc.HealthStub(channel)
        self._metadata: tuple[tuple[str, str], ...] = metadata(config)

    def _method(self, plan: Any) -> Any:
        """The stub method of a plan of :mod:`kiln._operations`."""
        return getattr(getattr(self, plan.service), plan.method)


def resolve(config: Optional[Config], overrides: dict[str, Any]) -> Config:
    """``config`` (default ``Config()``) with the fields named in ``overrides`` replaced."""
    config = config or Config()
    if not isinstance(config, Config):
        raise TypeError(f"config: expected a kiln.Config, got {type(config).__name__}")
    if overrides:
        known = {f.name for f in dataclasses.fields(Config)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"unknown client option {', '.join(unknown)}; the options are the fields of kiln.Config: "
                + ", ".join(sorted(known))
            )
        config = dataclasses.replace(config, **overrides)
    return config


def options(config: Config) -> list[tuple[str, int]]:
    """The channel options: reconnect quickly after the server comes back (gRPC's default waits up to 2 minutes)."""
    return [
        ("grpc.initial_reconnect_backoff_ms", int(config.retry.initial_backoff * 1000) or 100),
        ("grpc.min_reconnect_backoff_ms", int(config.retry.initial_backoff * 1000) or 100),
        ("grpc.max_reconnect_backoff_ms", int(config.retry.max_backoff * 1000) or 1000),
    ]


def credentials(config: Config) -> Optional[grpc.ChannelCredentials]:
    """The TLS credentials of ``config``; ``None`` for plaintext."""
    if config.tls is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(config.tls.ca_file),
        private_key=_read(config.tls.key_file),
        certificate_chain=_read(config.tls.cert_file),
    )


def metadata(config: Config) -> tuple[tuple[str, str], ...]:
    """The metadata every call carries: the bearer token, if any."""
    return (("authorization", f"Bearer {config.token}"),) if config.token else ()


def closed() -> KilnError:
    """The error of a call on a closed client."""
    return KilnError(Code.CANCELLED, "the client is closed")


def failed_attempt(config: Config, rpc_error: grpc.RpcError, attempt: int) -> float:
    """After attempt number ``attempt`` of a unary call failed: the seconds to wait before
    the next one, or raises the error when it is not UNAVAILABLE or no attempt is left."""
    error = _explained(config, KilnError.from_rpc_error(rpc_error))
    if error.code is not Code.UNAVAILABLE or attempt >= config.retry.max_attempts:
        raise error from None
    return config.retry.backoff(attempt)


def _explained(config: Config, error: KilnError) -> KilnError:
    # A TLS server closes a plaintext client's connection during the HTTP/2 preface;
    # gRPC's C core reports that as "Socket closed", the Swift transport by "preface".
    message = error.message.lower()
    if error.code is Code.UNAVAILABLE and config.tls is None and ("preface" in message or "socket closed" in message):
        error.message += " If the server serves TLS (kilnd --tls-cert), connect over TLS: give its CA file (KILN_CA_FILE)."
    return error


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()
