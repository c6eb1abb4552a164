"""TLS and mutual TLS against a real kilnd, with certificates made by `openssl` for this run only."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

import kiln
from conftest import Kilnd


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates", pytrace=False)
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=Kiln test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    for name, extension in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                            ("client", "extendedKeyUsage=clientAuth")]:
        (d / f"{name}.ext").write_text(extension + "\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN=kiln-{name}",
                 "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                 "-CAcreateserial", "-days", "1", "-extfile", str(d / f"{name}.ext"), "-out", str(d / f"{name}.pem"))
    return d


def _config(server: Kilnd, tls: kiln.TLSConfig | None) -> kiln.Config:
    return kiln.Config(
        host="127.0.0.1", port=server.port, token=server.admin_token, tls=tls, timeout=10,
        retry=kiln.RetryPolicy(max_attempts=1))


async def _aio_whoami(config: kiln.Config) -> str:
    async with kiln.aio.Client(config) as client:
        return (await client.whoami()).user.name


def test_tls_and_a_plaintext_client_refused_clearly(certificates: Path, workdir: Path) -> None:
    server = Kilnd(workdir / "tls", args=("--tls-cert", str(certificates / "server.pem"),
                                          "--tls-key", str(certificates / "server.key")))
    server.start()
    try:
        with kiln.Client(_config(server, kiln.TLSConfig(ca_file=str(certificates / "ca.pem")))) as client:
            assert client.whoami().user.name == "admin"
        with kiln.Client(_config(server, None)) as plaintext:
            with pytest.raises(kiln.KilnError) as refused:
                plaintext.whoami()
        assert refused.value.code is kiln.Code.UNAVAILABLE
        assert "TLS" in refused.value.message, refused.value.message
        # The asyncio client: the same TLS settings, the same explained refusal.
        assert asyncio.run(_aio_whoami(_config(server, kiln.TLSConfig(ca_file=str(certificates / "ca.pem"))))) == "admin"
        with pytest.raises(kiln.KilnError) as aio_refused:
            asyncio.run(_aio_whoami(_config(server, None)))
        assert aio_refused.value.code is kiln.Code.UNAVAILABLE and "TLS" in aio_refused.value.message
    finally:
        server.stop()


def test_mutual_tls_needs_a_client_certificate_the_ca_signed(certificates: Path, workdir: Path) -> None:
    server = Kilnd(workdir / "mtls", args=("--tls-cert", str(certificates / "server.pem"),
                                           "--tls-key", str(certificates / "server.key"),
                                           "--tls-client-ca", str(certificates / "ca.pem")))
    server.start()
    try:
        with_certificate = kiln.TLSConfig(ca_file=str(certificates / "ca.pem"),
                                          cert_file=str(certificates / "client.pem"),
                                          key_file=str(certificates / "client.key"))
        with kiln.Client(_config(server, with_certificate)) as client:
            assert client.whoami().user.name == "admin"
        assert asyncio.run(_aio_whoami(_config(server, with_certificate))) == "admin"
        with kiln.Client(_config(server, kiln.TLSConfig(ca_file=str(certificates / "ca.pem")))) as anonymous:
            with pytest.raises(kiln.KilnError) as refused:
                anonymous.whoami()
        assert refused.value.code is kiln.Code.UNAVAILABLE
    finally:
        server.stop()
