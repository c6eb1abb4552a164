"""The reliability suite's harness: kilnd as a real process, its job types, step markers.

Everything here is black-box: kilnd is started as a process on 127.0.0.1, talked to
through the Python client (clients/python), killed with SIGKILL and started again on
the same port and data directory. Step processes are observed through /proc and through
the markers the suite's own `exec` step writes when it starts.

Nothing here knows the server's internals beyond its documented contract (README).
"""

from __future__ import annotations

import argparse
import json
import os
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT / "clients" / "python"))

import kiln  # noqa: E402

LISTENING = re.compile(r"kilnd listening on 127\.0\.0\.1:(\d+)")

# The status table of DESIGN.md: which operations each status allows.
ALLOWED: dict[kiln.JobStatus, set[kiln.JobAction]] = {
    kiln.JobStatus.PENDING: {kiln.JobAction.PAUSE, kiln.JobAction.DISCARD},
    kiln.JobStatus.RUNNING: {kiln.JobAction.PAUSE, kiln.JobAction.RESTART, kiln.JobAction.DISCARD},
    kiln.JobStatus.PAUSED: {kiln.JobAction.RESUME, kiln.JobAction.RESTART, kiln.JobAction.DISCARD},
    kiln.JobStatus.ERROR: {kiln.JobAction.RESUME, kiln.JobAction.RESTART, kiln.JobAction.DISCARD},
    kiln.JobStatus.FINISHED: {kiln.JobAction.DELETE},
    kiln.JobStatus.DISCARDED: {kiln.JobAction.DELETE},
}
# What a successful operation leaves the job in (delete: no job).
TARGET: dict[kiln.JobAction, Optional[kiln.JobStatus]] = {
    kiln.JobAction.PAUSE: kiln.JobStatus.PAUSED,
    kiln.JobAction.RESUME: kiln.JobStatus.PENDING,
    kiln.JobAction.RESTART: kiln.JobStatus.PENDING,
    kiln.JobAction.DISCARD: kiln.JobStatus.DISCARDED,
    kiln.JobAction.DELETE: None,
}
# Every status change the design allows, operators' and the engine's (the engine also
# makes RUNNING jobs PENDING again when a server starts after a stop or a crash).
LEGAL_TRANSITIONS: set[tuple[kiln.JobStatus, kiln.JobStatus]] = {
    (kiln.JobStatus.PENDING, kiln.JobStatus.RUNNING),
    (kiln.JobStatus.PENDING, kiln.JobStatus.PAUSED),
    (kiln.JobStatus.PENDING, kiln.JobStatus.DISCARDED),
    (kiln.JobStatus.RUNNING, kiln.JobStatus.PENDING),
    (kiln.JobStatus.RUNNING, kiln.JobStatus.PAUSED),
    (kiln.JobStatus.RUNNING, kiln.JobStatus.DISCARDED),
    (kiln.JobStatus.RUNNING, kiln.JobStatus.FINISHED),
    (kiln.JobStatus.RUNNING, kiln.JobStatus.ERROR),
    (kiln.JobStatus.PAUSED, kiln.JobStatus.PENDING),
    (kiln.JobStatus.PAUSED, kiln.JobStatus.DISCARDED),
    (kiln.JobStatus.ERROR, kiln.JobStatus.PENDING),
    (kiln.JobStatus.ERROR, kiln.JobStatus.DISCARDED),
}


def log(message: str) -> None:
    print(message, flush=True)


# MARK: - The binary


def kilnd_binary(prefer_release: bool = False) -> Path:
    """$KILND, else .build/release/kilnd when asked for and present, else .build/debug/kilnd."""
    if os.environ.get("KILND"):
        candidates = [Path(os.environ["KILND"])]
    else:
        candidates = ([REPO_ROOT / ".build" / "release" / "kilnd"] if prefer_release else []) + [
            REPO_ROOT / ".build" / "debug" / "kilnd"
        ]
    for binary in candidates:
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    raise SystemExit(
        f"kilnd not found ({', '.join(map(str, candidates))}): build it with `swift build --product kilnd` or set KILND"
    )


def stable_copy(binary: Path, workdir: Path) -> Path:
    """A private copy of the binary, so that a rebuild during a run changes nothing
    (and the run never holds the build's output file open)."""
    copy = workdir / "kilnd"
    for _ in range(120):  # bounded: a build being linked settles within seconds
        before = binary.stat()
        if time.time() - before.st_mtime < 3:
            time.sleep(1)
            continue
        shutil.copy2(binary, copy)
        after = binary.stat()
        if (before.st_size, before.st_mtime) != (after.st_size, after.st_mtime):
            continue  # rewritten while we copied
        check = subprocess.run([str(copy), "--help"], capture_output=True, timeout=30)
        if check.returncode == 0:
            return copy
        time.sleep(1)
    raise SystemExit(f"{binary} does not settle into a working binary (is a build writing it?)")


def free_port() -> int:
    """A port on 127.0.0.1 that is free now, picked at random below the kernel's
    ephemeral range (20000-32000), so that no outgoing connection takes it while kilnd
    restarts on it."""
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port between 20000 and 32000")


# MARK: - The store

#: The environment variable that gives --store its default (empty or unset: SQLite).
STORE_VARIABLE = "KILN_RELIABILITY_STORE"


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """The scripts' --store: `sqlite` (kilnd's default store in its data directory) or
    the URL of a PostgreSQL server, on which each run makes a database of its own."""
    parser.add_argument(
        "--store",
        default=os.environ.get(STORE_VARIABLE) or "sqlite",
        help="sqlite (default), or postgres://USER@HOST:PORT/DB?sslmode=disable: the run creates a fresh database "
        "on that server (connecting to DB only to create and drop it), gives kilnd --store pointing at it and drops "
        f"it at the end unless --keep (default: ${STORE_VARIABLE}, else sqlite)",
    )


def psql_binary() -> str:
    """psql from $PATH, else from Debian's server packages (what dev/postgres.sh installs)."""
    found = shutil.which("psql")
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return str(versions[-1])
    raise SystemExit("psql not found: install Debian's postgresql-client (or run dev/postgres.sh start)")


class PostgresDatabase:
    """One run's own database on a PostgreSQL server: created empty before kilnd first
    starts, dropped (with whatever connections a killed kilnd left) at the end."""

    def __init__(self, server_url: str, prefix: str) -> None:
        parts = urlsplit(server_url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise SystemExit(f"--store: {server_url!r} is neither sqlite nor a postgres://USER@HOST:PORT/DB URL")
        self.server_url = server_url
        # Lower case, letters, digits and underscores: a name psql and kilnd's URL parser
        # take as it is.
        self.name = f"{re.sub(r'[^a-z0-9]+', '_', prefix.lower()).strip('_')}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = urlunsplit((parts.scheme, parts.netloc, "/" + self.name, parts.query, ""))
        self.created = False

    def _psql(self, sql: str) -> None:
        result = subprocess.run(
            [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.server_url, "-c", sql],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} on {self.server_url}: {result.stderr.strip() or result.returncode}")

    def create(self) -> None:
        self._psql(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def drop(self) -> None:
        """Drops the database; WITH (FORCE) ends the sessions a SIGKILLed kilnd's
        connections may still hold until the server notices them closed."""
        if self.created:
            self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False

    def describe(self) -> str:
        return f"PostgreSQL database {self.name} on {urlunsplit(urlsplit(self.server_url)._replace(path='', query=''))}"


# MARK: - Job types and step markers

# The `exec` step: records who it is (pid, start time from /proc, job, attempt, step)
# in the marker directory, then sleeps a random time between $1 and $2 ms; with
# probability $3 % it fails (exit 3) after the sleep. `exec sleep` keeps the recorded
# pid (and start time) for the sleep itself, so the marker names the live process.
STEP_SCRIPT = r"""
st=$(cut -d' ' -f22 /proc/$$/stat)
m="$RELY_MARKERS/$$.$st"
printf '%s %s %s %s %s %s\n' "$$" "$st" "$KILN_JOB_ID" "$KILN_ATTEMPT" "$KILN_STEP" "$PPID" > "$m.tmp" && mv "$m.tmp" "$m"
n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
ms=$(( $1 + n % ($2 - $1 + 1) ))
s="$((ms / 1000)).$(printf %03d $((ms % 1000)))"
if [ $((n % 100)) -lt "$3" ]; then sleep "$s"; exit 3; fi
exec sleep "$s"
"""


def job_types(markers: Path) -> dict:
    """The suite's job types.

    - RELY_EXEC: a short sleep, two `exec` steps (the script above), a short sleep;
    - RELY_QUICK: two sleep steps of 1 ms (events fast, for the soak);
    - RELY_RACE: three sleep steps of `sleep_ms` (default 150) each (for the races).
    """
    sleep_params = [
        {"name": "sleep_ms", "description": "duration of each sleep step"},
        {"name": "fail_step", "description": "a step that fails"},
        {"name": "fail_times", "description": "how many executions of it fail"},
    ]

    def exec_step(name: str) -> dict:
        return {
            "name": name,
            "exec": {
                "program": "/bin/sh",
                "arguments": ["-c", STEP_SCRIPT, "rely-step", "${min_ms}", "${max_ms}", "${fail_pct}"],
                "environment": {"RELY_MARKERS": str(markers)},
            },
            "max_retries": 0,
        }

    return {
        "job_types": [
            {
                "name": "RELY_EXEC",
                "description": "reliability suite: exec steps that record their pid, then sleep",
                "params": [
                    {"name": "min_ms", "default": "300", "description": "shortest sleep of an exec step"},
                    {"name": "max_ms", "default": "3000", "description": "longest sleep of an exec step"},
                    {"name": "fail_pct", "default": "10", "description": "percent of exec steps that fail"},
                ],
                "steps": [
                    {"name": "PREPARE", "sleep": {"duration_ms": 100}},
                    exec_step("WORK"),
                    exec_step("MORE_WORK"),
                    {"name": "PUBLISH", "sleep": {"duration_ms": 100}},
                ],
            },
            {
                "name": "RELY_QUICK",
                "description": "reliability suite: two sleep steps of 1 ms",
                "params": sleep_params,
                "steps": [
                    {"name": "ONE", "sleep": {"duration_ms": 1}},
                    {"name": "TWO", "sleep": {"duration_ms": 1}},
                ],
            },
            {
                "name": "RELY_RACE",
                "description": "reliability suite: three sleep steps",
                "params": sleep_params,
                "steps": [
                    {"name": "FIRST", "sleep": {"duration_ms": 150}},
                    {"name": "SECOND", "sleep": {"duration_ms": 150}},
                    {"name": "THIRD", "sleep": {"duration_ms": 150}},
                ],
            },
        ]
    }


# MARK: - Processes, through /proc


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    state: str
    start: int  # clock ticks after boot (field 22 of /proc/PID/stat)


def read_proc(pid: int) -> Optional[Proc]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read().decode(errors="replace")
    except OSError:
        return None
    # The command may hold spaces and parentheses: the fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return Proc(pid=pid, state=fields[0], ppid=int(fields[1]), pgid=int(fields[2]), start=int(fields[19]))


def all_procs() -> dict[int, Proc]:
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            proc = read_proc(int(name))
            if proc is not None:
                procs[proc.pid] = proc
    return procs


@dataclass(frozen=True)
class Marker:
    """A step process, as its marker recorded it when it started."""

    pid: int
    start: int
    job: str
    attempt: int
    step: str
    parent: int  # the pid of kilnd that spawned it
    seen: float  # when the suite first read the marker (time.monotonic())

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start)


class Markers:
    """The marker directory of the RELY_EXEC steps: which step processes ever started."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.known: dict[tuple[int, int], Marker] = {}
        self.lock = threading.Lock()

    def scan(self) -> dict[tuple[int, int], Marker]:
        now = time.monotonic()
        with self.lock:
            for name in os.listdir(self.directory):
                if name.endswith(".tmp"):
                    continue
                try:
                    pid_text, start_text = name.split(".")
                    key = (int(pid_text), int(start_text))
                except ValueError:
                    continue
                if key in self.known:
                    continue
                try:
                    parts = (self.directory / name).read_text().split()
                except OSError:
                    continue
                if len(parts) != 6:
                    continue
                self.known[key] = Marker(
                    pid=int(parts[0]), start=int(parts[1]), job=parts[2], attempt=int(parts[3]),
                    step=parts[4], parent=int(parts[5]), seen=now,
                )
            return dict(self.known)

    def live(self, procs: Optional[dict[int, Proc]] = None) -> list[Marker]:
        """The step processes still running (their group has a process that is not a zombie)."""
        procs = all_procs() if procs is None else procs
        return [m for m in self.scan().values() if group_alive(m, procs)]


def group_alive(marker: Marker, procs: dict[int, Proc]) -> bool:
    """Whether the step's process group still has a live member: the leader itself (same
    pid and start time, so a reused pid never counts) or a process in its group."""
    leader = procs.get(marker.pid)
    if leader is not None and leader.start != marker.start:
        # The pid was reused (pid_max is often 32768): Linux never reuses a number that
        # is still some process's group id, so the step's group is gone. Without this the
        # new owner of the pid, if it leads its own group (a kilnd started with
        # start_new_session), counted as the step's group and was SIGKILLed by the suite.
        return False
    if leader is not None and leader.state != "Z":
        return True
    return any(p.pgid == marker.pid and p.start >= marker.start and p.state != "Z" for p in procs.values())


def kill_group(marker: Marker) -> None:
    """SIGKILLs a step's process group, only if it is still the group the marker names."""
    procs = all_procs()
    if group_alive(marker, procs):
        try:
            os.killpg(marker.pid, signal.SIGKILL)
        except OSError:
            pass


def port_holders(port: int) -> list[tuple[int, str]]:
    """The processes holding a TCP socket bound to 127.0.0.1:port (pid, command line)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local = fields[1]
            if int(local.split(":")[1], 16) == port:
                inodes.add(fields[9])
    holders = []
    if not inodes:
        return holders
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{name}/fd"):
                try:
                    target = os.readlink(f"/proc/{name}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    holders.append((int(name), cmd.strip()[:80]))
                    break
        except OSError:
            continue
    return holders


def rss_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# MARK: - kilnd


class StartFailed(Exception):
    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


class Kilnd:
    """A kilnd process on 127.0.0.1 with its own data directory: start, SIGKILL, start again."""

    def __init__(
        self, binary: Path, data_dir: Path, types_file: Path, port: int, extra: Iterable[str] = ()
    ) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.types_file = types_file
        self.port = port
        self.extra = list(extra)
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.log_path = data_dir.parent / f"{data_dir.name}.kilnd.log"
        self.starts = 0
        #: the run's own PostgreSQL database, when kilnd keeps its state there (--store)
        self.database: Optional[PostgresDatabase] = None

    @property
    def store(self) -> str:
        """Where kilnd keeps its state, for the scripts' first line."""
        return self.database.describe() if self.database else f"SQLite in {self.data_dir}"

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            "--job-types", str(self.types_file),
            "--stop-grace", "1",
            "--log-level", "notice",
            *(["--store", self.database.url] if self.database else []),
            *self.extra,
        ]

    def start(self, timeout: float = 60) -> None:
        """Starts kilnd and returns once it logs that it listens and answers the health check.

        Raises StartFailed (with the log's new lines) if it exits or does not serve in time.
        """
        log_file = open(self.log_path, "ab")
        offset = log_file.tell()
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True
        )
        log_file.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_since(offset)
            if LISTENING.search(text):
                break
            if self.process.poll() is not None:
                raise StartFailed(f"kilnd exited with status {self.process.returncode} before serving", text)
            time.sleep(0.05)
        else:
            self.kill()
            raise StartFailed(f"kilnd did not listen within {timeout:.0f} s", self.log_since(offset))
        with self.client(timeout=5, retry=kiln.RetryPolicy(max_attempts=20, initial_backoff=0.1, max_backoff=0.5)) as c:
            c.health()

    def log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as file:
                file.seek(offset)
                return file.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash; waits for the process to be gone."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (graceful), SIGKILL after ``timeout`` s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def admin_token(self) -> str:
        return kiln.read_token(str(self.data_dir / "admin.token"))

    def client(self, **overrides: object) -> kiln.Client:
        """A client of this server as the ADMIN (``retry=``, ``timeout=`` override the defaults)."""
        config = kiln.Config(host="127.0.0.1", port=self.port, token=self.admin_token)
        return kiln.Client(config, **overrides)

    def current_revision(self) -> int:
        """The revision the server is at: the SNAPSHOT_END of a new watch on nothing in particular."""
        with self.client(timeout=10) as c:
            events = c.watch_jobs(kiln.JobFilter(projects=["__rely_no_such_project__"]))
            try:
                for event in events:
                    return event.revision
            except kiln.KilnError:
                pass
            finally:
                events.close()
            # A filter naming an unknown project may be refused: fall back to an unfiltered snapshot.
            events = c.watch_jobs(kiln.JobFilter(statuses=[kiln.JobStatus.RUNNING]))
            try:
                for event in events:
                    return event.revision
            finally:
                events.close()
        raise RuntimeError("no snapshot")


def make_workdir(prefix: str, keep: Optional[str]) -> Path:
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix=prefix))


def setup_server(
    workdir: Path, extra: Iterable[str] = (), prefer_release: bool = False, store: str = "sqlite"
) -> tuple[Kilnd, Markers]:
    """A workdir with a private kilnd binary, a job-types file and a marker directory;
    with a PostgreSQL ``store`` (a server's URL), a fresh database of the run's own on it.
    ``teardown`` undoes it all."""
    database = None
    if store != "sqlite":
        # First, so that a wrong URL costs no copy of the binary.
        database = PostgresDatabase(store, f"kiln_rely_{Path(sys.argv[0]).stem}")
        try:
            database.create()
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            raise SystemExit(f"--store: cannot create the run's database: {error}") from None
    try:
        binary = stable_copy(kilnd_binary(prefer_release), workdir)
    except BaseException:
        if database:
            database.drop()
        raise
    markers = Markers(workdir / "markers")
    types_file = workdir / "job-types.json"
    types_file.write_text(json.dumps(job_types(markers.directory), indent=2))
    server = Kilnd(binary, workdir / "data", types_file, free_port(), extra)
    server.database = database
    return server, markers


def teardown(server: Kilnd, workdir: Path, keep: Optional[str]) -> None:
    """Stops kilnd, then removes the work directory and drops the run's database, unless
    --keep (then says what was kept)."""
    server.stop()
    if keep:
        log(f"kept: {workdir}" + (f" and {server.database.describe()} ({server.database.url})" if server.database else ""))
        return
    shutil.rmtree(workdir, ignore_errors=True)
    if server.database:
        try:
            server.database.drop()
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            log(f"could not drop {server.database.describe()}: {error}")


def bounded(seconds: float, step: float = 0.1) -> Callable[[], bool]:
    """A loop guard: true until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds

    def more() -> bool:
        time.sleep(step)
        return time.monotonic() < deadline

    return more
