"""How a :class:`kiln.Client` connects and behaves."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

from .errors import Code, KilnError


@dataclass
class RetryPolicy:
    """How calls that failed because the server could not be reached (UNAVAILABLE) are retried.

    Every Kiln call is safe to repeat: reads change nothing, and mutations carry a
    request id, reused by every retry, that the server deduplicates.
    """

    #: Attempts in all, the first included; 1 disables retries.
    max_attempts: int = 5
    #: Seconds before the first retry; doubled for each further one.
    initial_backoff: float = 0.1
    #: The longest wait between two attempts, in seconds.
    max_backoff: float = 2.0

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (from 1)."""
        return min(self.initial_backoff * (2 ** max(retry - 1, 0)), self.max_backoff)


@dataclass
class TLSConfig:
    """TLS settings, as PEM files."""

    #: The CA that signed the server's certificate; the system's roots when ``None``.
    ca_file: Optional[str] = None
    #: A client certificate, for servers that require one (``kilnd --tls-client-ca``).
    cert_file: Optional[str] = None
    #: The private key of ``cert_file``.
    key_file: Optional[str] = None


@dataclass
class Config:
    """Where the server is, the token, TLS, deadlines and retries.

    ``Config.from_env()`` reads the same variables as the ``kiln`` command line and
    the Swift SDK.
    """

    host: str = "127.0.0.1"
    port: int = 7077
    #: Bearer token sent with every call.
    token: Optional[str] = None
    #: Deadline of each attempt of a unary call, in seconds.
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Connect over TLS; plaintext when ``None``.
    tls: Optional[TLSConfig] = None

    @property
    def target(self) -> str:
        """The gRPC target, ``host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Config":
        """A configuration from ``KILN_ADDR`` (``host:port``), ``KILN_TOKEN`` or
        ``KILN_TOKEN_FILE`` (a file holding the token, such as kilnd's ``admin.token``),
        ``KILN_CA_FILE``, and ``KILN_TLS_CERT`` with ``KILN_TLS_KEY``; defaults for the rest.

        Raises :class:`KilnError` (INVALID_ARGUMENT) when ``KILN_ADDR`` is not
        ``host:port`` or the token file cannot be read.
        """
        env = os.environ if environ is None else environ
        config = cls()
        address = env.get("KILN_ADDR", "")
        if address:
            config.host, config.port = parse_address(address)
        if env.get("KILN_TOKEN"):
            config.token = env["KILN_TOKEN"].strip()
        elif env.get("KILN_TOKEN_FILE"):
            config.token = read_token(env["KILN_TOKEN_FILE"])
        if env.get("KILN_CA_FILE"):
            config.tls = TLSConfig(ca_file=env["KILN_CA_FILE"])
        if env.get("KILN_TLS_CERT") and env.get("KILN_TLS_KEY"):
            config.tls = config.tls or TLSConfig()
            config.tls.cert_file = env["KILN_TLS_CERT"]
            config.tls.key_file = env["KILN_TLS_KEY"]
        return config


def read_token(path: str) -> str:
    """The token in the file ``path``, surrounding white space removed."""
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except OSError as error:
        raise KilnError(Code.INVALID_ARGUMENT, f"token file: cannot read {path}: {error.strerror}",
                        {"kiln-field": "token file"}) from None
    if not token:
        raise KilnError(Code.INVALID_ARGUMENT, f"token file: {path} is empty", {"kiln-field": "token file"})
    return token


def parse_address(address: str) -> tuple[str, int]:
    """Splits ``host:port`` (IPv6 hosts in brackets: ``[::1]:7077``)."""
    host, sep, port_text = address.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not sep or not 1 <= port <= 65535:
        raise KilnError(Code.INVALID_ARGUMENT, f"address: {address} is not host:port", {"kiln-field": "address"})
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise KilnError(Code.INVALID_ARGUMENT, f"address: {address} has no host", {"kiln-field": "address"})
    return host, port
