"""Fixtures that run a real kilnd (built by SwiftPM) on 127.0.0.1 for the client's tests."""

from __future__ import annotations

import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PYTHON_DIR.parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import kiln  # noqa: E402

T = TypeVar("T")
LISTENING = re.compile(r"kilnd listening on 127\.0\.0\.1:(\d+)")


def kilnd_binary() -> Path:
    """kilnd as built by `swift build` at the repository root (or $KILND)."""
    binary = Path(os.environ.get("KILND") or REPO_ROOT / ".build" / "debug" / "kilnd")
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"kilnd not found at {binary}: build it first, from {REPO_ROOT}, with "
            "`swift build --product kilnd` (CI: `swift build --build-tests`), or set KILND",
            pytrace=False,
        )
    return binary


def stable_port() -> int:
    """A port on 127.0.0.1 free now and below the kernel's ephemeral range, so that no
    outgoing connection takes it while a server restarts on it."""
    for _ in range(100):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port between 20000 and 32000")


class Kilnd:
    """A kilnd process on 127.0.0.1 with its own data directory; start, stop and restart it."""

    def __init__(self, data_dir: Path, port: int = 0, args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.requested_port = port
        self.args = args
        self.port = 0
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.log_path = data_dir.parent / f"{data_dir.name}.kilnd.log"

    def start(self, timeout: float = 60) -> "Kilnd":
        command = [
            str(kilnd_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.requested_port),
            "--data-dir", str(self.data_dir),
            "--log-level", "notice",
            "--max-running", "32",
            "--max-running-per-project", "16",
            *self.args,
        ]
        log = open(self.log_path, "ab")
        offset = log.tell()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as file:
                file.seek(offset)
                match = LISTENING.search(file.read().decode(errors="replace"))
            if match:
                self.port = int(match.group(1))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"kilnd did not start; its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stops kilnd gracefully (SIGTERM), killing it if it does not end within 15 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, same_port: bool = True) -> None:
        """Stops and starts kilnd with the same data, on the same port unless told otherwise."""
        self.requested_port = self.port if same_port else 0
        self.stop()
        self.start()

    @property
    def admin_token(self) -> str:
        return kiln.read_token(str(self.data_dir / "admin.token"))

    def config(self, token: Optional[str] = None) -> kiln.Config:
        """The configuration of a client of this server, as the ADMIN unless given another token ("" for none)."""
        return kiln.Config(host="127.0.0.1", port=self.port, token=self.admin_token if token is None else token or None)

    def client(self, token: Optional[str] = None, **overrides: object) -> kiln.Client:
        """A client of this server, as the ADMIN unless given another token ("" for none)."""
        return kiln.Client(self.config(token), **overrides)

    def aio_client(self, token: Optional[str] = None, **overrides: object) -> kiln.aio.Client:
        """An asyncio client of this server (create it in the event loop that uses it)."""
        return kiln.aio.Client(self.config(token), **overrides)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kiln-python-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def kilnd(workdir: Path) -> Iterator[Kilnd]:
    """One kilnd for the session (each test works in its own project)."""
    server = Kilnd(workdir / "shared")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def admin(kilnd: Kilnd) -> Iterator[kiln.Client]:
    with kilnd.client() as client:
        yield client


@pytest.fixture
def project(admin: kiln.Client, request: pytest.FixtureRequest) -> str:
    """A new project for the test, with the subject `s`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:40] + "_" + uuid.uuid4().hex[:6]
    admin.create_project(name, description=f"for {request.node.name}")
    admin.create_subject("s", name, kind="model", schema="id INT")
    return name


METRICS_URL = re.compile(r"serving Prometheus metrics on (http://127\.0\.0\.1:\d+/metrics)")


@pytest.fixture(scope="module")
def metered(workdir: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Kilnd, str]]:
    """A kilnd of the test module with its metrics endpoint on a free port, and that endpoint's URL."""
    server = Kilnd(workdir / f"metered-{request.module.__name__}", args=("--metrics-port", "0"))
    try:
        server.start()
        url = eventually(lambda: METRICS_URL.search(server.log_path.read_text(errors="replace")), 30, "the metrics URL")
        yield server, url.group(1)
    finally:
        server.stop()


def eventually(condition: Callable[[], Optional[T]], timeout: float = 60, what: str = "the condition") -> T:
    """Polls ``condition`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def job_in(client: kiln.Client, job_id: str, *statuses: kiln.JobStatus, timeout: float = 60) -> kiln.Job:
    """Polls the job until its status is one of ``statuses``."""
    def check() -> Optional[kiln.Job]:
        job = client.job(job_id)
        return job if job.status in statuses else None

    return eventually(check, timeout, f"job {job_id} to be {'/'.join(s.value for s in statuses)}")


class Collector:
    """Reads a watch on a thread into a queue, so a test can act while it watches."""

    def __init__(self, events: Iterator[kiln.WatchEvent]) -> None:
        self.events = events
        self.queue: "queue.Queue[object]" = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.events:
                self.queue.put(event)
        except BaseException as error:  # handed to the test
            self.queue.put(error)

    def next(self, timeout: float = 60) -> kiln.WatchEvent:
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no watch event within the deadline")
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, kiln.WatchEvent)
        return item
