#!/usr/bin/env python3
"""Hostile and careless clients: raw HTTP/2 against a real kilnd, each case's exact outcome.

    python3 Reliability/hostile.py [--keep DIR]
    python3 Reliability/hostile.py --bench [--streams 400] [--attackers 8]   # figures, not a test

Each case speaks HTTP/2 itself (the ``h2`` package) to a kilnd started with small limits
(``--max-concurrent-streams 8 --max-connections-per-address 40 --handshake-timeout 1
--idle-timeout 2 --close-grace 1 --write-stall-timeout 2``), checks the exact answer (gRPC status and message, RST_STREAM code,
GOAWAY code and debug text, or the connection closed in time), and then that kilnd is
alive and a second, ordinary client (the Python SDK, its own connection) is served:
health, and a ListJobs. The last line is ``hostile: N passed, M failed``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import struct
import sys
import time
from typing import Callable, Optional

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

from harness import log, make_workdir, setup_server

import kiln
from kiln._proto import jobs_pb2

HEALTH = "/grpc.health.v1.Health/Check"
GET_JOB = "/kiln.v1.JobService/GetJob"
LIST_JOBS = "/kiln.v1.JobService/ListJobs"
WATCH_JOBS = "/kiln.v1.JobService/WatchJobs"
EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"

FLAGS = [
    "--max-concurrent-streams", "8",
    "--max-connections-per-address", "40",
    "--handshake-timeout", "1",
    "--idle-timeout", "2",
    "--close-grace", "1",
    "--write-stall-timeout", "2",
]


class Outcome:
    """What one stream got: response headers, trailers, a reset, or the connection's end."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.trailers: dict[str, str] = {}
        self.reset: Optional[int] = None
        self.goaway: Optional[tuple[int, bytes]] = None
        self.ended = False
        self.closed = False
        self.timed_out = False

    @property
    def status(self) -> Optional[str]:
        return self.trailers.get("grpc-status") or self.headers.get("grpc-status")

    @property
    def message(self) -> str:
        return self.trailers.get("grpc-message") or self.headers.get("grpc-message") or ""

    def __repr__(self) -> str:
        return (
            f"Outcome(status={self.status}, message={self.message!r}, reset={self.reset}, goaway={self.goaway}, "
            f"closed={self.closed}, timed_out={self.timed_out})"
        )


class RawConnection:
    """One HTTP/2 connection driven by hand."""

    def __init__(self, port: int, settings: Optional[dict] = None, reads: bool = True) -> None:
        self.reads = reads  # False: never acknowledge DATA (a client that stops reading)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.sock.sendall(self.conn.data_to_send())
        self.outcomes: dict[int, Outcome] = {}
        self.goaway: Optional[tuple[int, bytes]] = None
        self.closed = False
        self.received = b""  # Frames not yet scanned for GOAWAY (see scan()).

    def open(self, path: str, token: Optional[str] = None, extra: tuple = (), end_stream: bool = False) -> int:
        stream = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"), ("te", "trailers"), *extra,
        ]
        if token:
            headers.append(("authorization", f"Bearer {token}"))
        self.conn.send_headers(stream, headers, end_stream=end_stream)
        self.outcomes[stream] = Outcome()
        self.sock.sendall(self.conn.data_to_send())
        return stream

    def send(self, stream: int, data: bytes, end_stream: bool = True) -> None:
        self.conn.send_data(stream, data, end_stream=end_stream)
        self.sock.sendall(self.conn.data_to_send())

    def call(self, path: str, data: Optional[bytes], token: Optional[str] = None, extra: tuple = (),
             timeout: float = 5) -> Outcome:
        stream = self.open(path, token, extra, end_stream=data is None)
        if data is not None:
            self.send(stream, data)
        self.pump(lambda: self.done(stream), timeout)
        outcome = self.outcomes[stream]
        if not self.done(stream):
            outcome.timed_out = True
        return outcome

    def done(self, stream: int) -> bool:
        outcome = self.outcomes[stream]
        return outcome.ended or outcome.reset is not None or self.goaway is not None or self.closed

    def pump(self, until: Callable[[], bool], timeout: float) -> None:
        """Reads and answers frames until ``until()`` or the timeout."""
        deadline = time.monotonic() + timeout
        while not until() and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                data = b""
            if not data:
                self.closed = True
                for outcome in self.outcomes.values():
                    outcome.closed = True
                return
            self.scan(data)
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                # h2 refuses frames after a GOAWAY (a server's shutdown PING, say) and
                # then reports nothing of the chunk: scan() has read the GOAWAY itself.
                events = []
            for event in events:
                self.handle(event)
            try:
                self.sock.sendall(self.conn.data_to_send())
            except OSError:
                pass

    def scan(self, data: bytes) -> None:
        """Finds GOAWAY frames in the raw bytes (after the server's preface, every frame)."""
        self.received += data
        while len(self.received) >= 9:
            length = int.from_bytes(self.received[:3], "big")
            if len(self.received) < 9 + length:
                return
            kind, payload = self.received[3], self.received[9 : 9 + length]
            self.received = self.received[9 + length :]
            if kind == 0x7 and length >= 8:
                self.goaway = (int.from_bytes(payload[4:8], "big"), payload[8:])

    def handle(self, event: object) -> None:
        stream = getattr(event, "stream_id", None)
        outcome = self.outcomes.get(stream) if stream else None
        if isinstance(event, h2.events.ResponseReceived) and outcome:
            outcome.headers = dict(event.headers)
            if event.stream_ended:
                outcome.ended = True
        elif isinstance(event, h2.events.TrailersReceived) and outcome:
            outcome.trailers = dict(event.headers)
        elif isinstance(event, h2.events.StreamEnded) and outcome:
            outcome.ended = True
        elif isinstance(event, h2.events.StreamReset) and outcome:
            outcome.reset = int(event.error_code)
        elif isinstance(event, h2.events.DataReceived):
            if event.flow_controlled_length and self.reads:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = self.goaway or (int(event.error_code), event.additional_data or b"")

    def wait_closed(self, timeout: float) -> float:
        """Seconds until the server closed the connection (inf if it did not)."""
        start = time.monotonic()
        self.pump(lambda: False, timeout)
        return time.monotonic() - start if self.closed else float("inf")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def prefix(length: int, flag: int = 0) -> bytes:
    return struct.pack(">BI", flag, length)


class Suite:
    def __init__(self, server) -> None:
        self.server = server
        self.token = server.admin_token
        self.passed = 0
        self.failed = 0
        self.bystander = server.client(timeout=10)

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        served = self.second_client_served()
        if ok and served is True:
            self.passed += 1
            log(f"ok   {name}")
        else:
            self.failed += 1
            log(f"FAIL {name}: {detail}" + ("" if served is True else f"; second client: {served}"))

    def second_client_served(self) -> object:
        if not self.server.alive():
            return f"kilnd died (status {self.server.process.returncode}); log: {self.server.log_tail(5)}"
        try:
            self.bystander.health()
            self.bystander.list_jobs(page_size=5)
            return True
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            return f"{type(error).__name__}: {error}"

    def expect_status(self, name: str, outcome: Outcome, status: int, mentioning: str) -> None:
        ok = outcome.status == str(status) and mentioning in outcome.message and not outcome.timed_out
        self.check(name, ok, outcome)

    # MARK: - Cases

    def unary_without_message(self) -> None:
        # A call that ends with its HEADERS was never answered (grpc-swift-nio-transport).
        for path, token in [(GET_JOB, self.token), (LIST_JOBS, self.token), (HEALTH, None), (WATCH_JOBS, self.token)]:
            raw = RawConnection(self.server.port)
            outcome = raw.call(path, None, token, extra=(("grpc-timeout", "2S"),), timeout=3)
            self.expect_status(f"HEADERS with END_STREAM and no message ({path}) is INTERNAL at once", outcome, 13, "")
            raw.close()

    def framing(self) -> None:
        cases = [
            ("a 0xFFFFFFFF length prefix", prefix(0xFFFFFFFF), 8, "more than the server accepts"),
            ("a 5 MiB message", prefix(5 << 20), 8, "more than the server accepts"),
            ("the compressed flag without grpc-encoding", prefix(0, 1), 13, "no grpc-encoding"),
            ("a compressed flag of 7", prefix(0, 7), 13, "not 0 or 1"),
            ("a request ending inside a message prefix", b"\x00\x00\x00", 13, "ended inside a message"),
            ("a request ending inside a message", prefix(10) + b"abc", 13, "ended inside a message"),
        ]
        for name, data, status, mentioning in cases:
            raw = RawConnection(self.server.port)
            self.expect_status(name, raw.call(HEALTH, data), status, mentioning)
            raw.close()
        raw = RawConnection(self.server.port)
        self.expect_status("a malformed grpc-timeout is INTERNAL", raw.call(HEALTH, EMPTY_MESSAGE, extra=(("grpc-timeout", "-1S"),)), 13, "malformed grpc-timeout")
        outcome = raw.call(HEALTH, EMPTY_MESSAGE)
        self.check("after refusals, the same connection still serves", outcome.status == "0", outcome)
        raw.close()

    def streams_past_the_limit(self) -> None:
        raw = RawConnection(self.server.port)
        watches = []
        for _ in range(8):
            stream = raw.open(WATCH_JOBS, self.token)
            raw.send(stream, EMPTY_MESSAGE)
            watches.append(stream)
        raw.pump(lambda: all(raw.outcomes[s].headers for s in watches), 5)
        extra = raw.call(HEALTH, EMPTY_MESSAGE, timeout=3)
        self.check(
            "a stream past --max-concurrent-streams is refused alone (REFUSED_STREAM), not the connection",
            extra.reset == int(h2.errors.ErrorCodes.REFUSED_STREAM) and raw.goaway is None
            and all(raw.outcomes[s].headers and raw.outcomes[s].reset is None for s in watches),
            extra,
        )
        for stream in watches[:2]:
            raw.conn.reset_stream(stream)
        raw.sock.sendall(raw.conn.data_to_send())
        time.sleep(0.2)
        after = raw.call(HEALTH, EMPTY_MESSAGE, timeout=3)
        self.check("once streams end, the connection takes new calls", after.status == "0", after)
        raw.close()

    def silent_connections(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.server.port))
        sock.settimeout(5)
        start = time.monotonic()
        closed = float("inf")
        try:
            while sock.recv(4096):
                pass
            closed = time.monotonic() - start
        except OSError:
            pass
        sock.close()
        self.check("a connection that never sends the preface is closed after --handshake-timeout (1 s)", 0.5 < closed < 4, f"closed after {closed:.2f} s")

        raw = RawConnection(self.server.port)
        closed = raw.wait_closed(8)
        self.check(
            "a connection with no call gets GOAWAY after --idle-timeout (2 s), and is closed --close-grace (1 s) later even if it never answers",
            2.5 < closed < 6 and raw.goaway is not None, f"closed after {closed:.2f} s, goaway {raw.goaway}",
        )
        raw.close()

    def connection_cap(self) -> None:
        # The bystander holds one connection; 40 is the per-address cap.
        held = [RawConnection(self.server.port) for _ in range(45)]
        for raw in held:
            raw.pump(lambda: False, 0.05)
        # (The first ones may see their idle GOAWAY, NO_ERROR, meanwhile.)
        refused = [raw for raw in held if raw.goaway and raw.goaway[0] == int(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)]
        messages = {raw.goaway[1].decode(errors="replace") for raw in refused}
        self.check(
            "connections past --max-connections-per-address are refused with GOAWAY ENHANCE_YOUR_CALM naming the limit",
            len(refused) >= 5 and all("--max-connections-per-address 40" in message for message in messages),
            f"{len(refused)} refused, {messages}",
        )
        for raw in held:
            raw.close()
        time.sleep(0.3)
        raw = RawConnection(self.server.port)
        outcome = raw.call(HEALTH, EMPTY_MESSAGE)
        self.check("once they close, new connections are admitted", outcome.status == "0", outcome)
        raw.close()

    def watch_deadline(self) -> None:
        raw = RawConnection(self.server.port)
        start = time.monotonic()
        outcome = raw.call(WATCH_JOBS, EMPTY_MESSAGE, self.token, extra=(("grpc-timeout", "1S"),), timeout=5)
        took = time.monotonic() - start
        self.check(
            "a watch whose deadline passes ends DEADLINE_EXCEEDED with kiln-last-revision",
            outcome.status == "4" and "kiln-last-revision" in outcome.trailers and took < 3,
            f"{outcome} trailers {outcome.trailers} after {took:.2f} s",
        )
        raw.close()

    def rapid_reset(self) -> None:
        raw = RawConnection(self.server.port)
        for _ in range(300):
            if raw.goaway or raw.closed:
                break
            try:
                stream = raw.open(LIST_JOBS, self.token)
                raw.send(stream, EMPTY_MESSAGE, end_stream=False)
                raw.conn.reset_stream(stream)
                raw.sock.sendall(raw.conn.data_to_send())
            except (OSError, h2.exceptions.ProtocolError):
                break
            raw.pump(lambda: False, 0.001)
        raw.pump(lambda: raw.goaway is not None, 3)
        self.check(
            "opening and resetting streams in a loop ends the connection (GOAWAY ENHANCE_YOUR_CALM)",
            raw.goaway is not None and raw.goaway[0] == int(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM),
            f"goaway {raw.goaway}, closed {raw.closed}",
        )
        raw.close()

    def slow_readers(self) -> None:
        client = self.bystander
        client.create_project("hostile", "reliability suite: hostile clients")
        client.create_subject("big", "hostile", kind="model", schema="id INT")
        params = {"sleep_ms": "1", **{f"p{i}": "x" * 15_000 for i in range(4)}}
        for _ in range(40):
            client.submit_job("hostile", "RELY_QUICK", "big", params)
        raw = RawConnection(self.server.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1}, reads=False)
        list_request = jobs_pb2.ListJobsRequest(page_size=1000).SerializeToString()
        streams = []
        for _ in range(3):
            stream = raw.open(LIST_JOBS, self.token)
            raw.send(stream, prefix(len(list_request)) + list_request)
            streams.append(stream)
        watch = raw.open(WATCH_JOBS, self.token)
        raw.send(watch, EMPTY_MESSAGE)
        streams.append(watch)
        start = time.monotonic()
        raw.pump(lambda: all(raw.outcomes[s].reset is not None for s in streams), 10)
        took = time.monotonic() - start
        resets = [raw.outcomes[s].reset for s in streams]
        self.check(
            "streams whose client stops reading (window 1, no WINDOW_UPDATE) are reset ENHANCE_YOUR_CALM after --write-stall-timeout (2 s)",
            all(r == int(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM) for r in resets) and 1.5 < took < 8 and raw.goaway is None,
            f"resets {resets} after {took:.2f} s, goaway {raw.goaway}",
        )
        raw.close()

    def run(self) -> None:
        self.unary_without_message()
        self.framing()
        self.streams_past_the_limit()
        self.watch_deadline()
        self.rapid_reset()
        self.slow_readers()
        self.connection_cap()
        self.silent_connections()


# MARK: - Figures (not a test: --bench)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("nan")


def latencies(client: kiln.Client, seconds: float) -> list[float]:
    """Seconds per ListJobs(page 5) of an ordinary client, one call at a time, for ``seconds``."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            client.list_jobs(page_size=5)
            out.append(time.monotonic() - start)
        except kiln.KilnError:
            out.append(float("inf"))
    return out


def bench(server, token: str, streams: int, connections: int, attackers: int, attack_seconds: float) -> None:
    """Prints kilnd's RSS before, during and after a slow-reader attack, and another
    client's latency before and during a rapid-reset attack."""
    import threading

    from harness import rss_mb

    client = server.client(timeout=30)
    client.create_project("hostile", "reliability suite: hostile clients")
    client.create_subject("big", "hostile", kind="model", schema="id INT")
    params = {"sleep_ms": "1", **{f"p{i}": "x" * 15_000 for i in range(4)}}
    for _ in range(40):
        client.submit_job("hostile", "RELY_QUICK", "big", params)
    time.sleep(2)
    before = rss_mb(server.pid)
    request = jobs_pb2.ListJobsRequest(page_size=1000).SerializeToString()
    raws = []
    for index in range(streams):
        if index % (streams // connections) == 0:
            raws.append(RawConnection(server.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1}, reads=False))
        raw = raws[-1]
        stream = raw.open(LIST_JOBS, token)
        raw.send(stream, prefix(len(request)) + request)
    peak = before
    start = time.monotonic()
    while time.monotonic() - start < 90 and not all(
        all(o.reset is not None for o in raw.outcomes.values()) for raw in raws
    ):
        for raw in raws:
            raw.pump(lambda: False, 0.05)
        peak = max(peak, rss_mb(server.pid) or 0)
    ended = time.monotonic() - start
    for raw in raws:
        raw.close()
    time.sleep(35)  # kilnd hands free memory back every 30 s.
    after = rss_mb(server.pid)
    print(
        f"slow readers: {streams} ListJobs streams ({len(raws)} connections, window 1, 40 jobs of 60 KB): "
        f"RSS before {before:.0f} MB, peak {peak:.0f} MB (+{(peak - before) / streams * 1024:.0f} KB a stream), "
        f"all reset after {ended:.1f} s, 35 s later {after:.0f} MB"
    )

    idle = latencies(client, 10)
    stop = threading.Event()
    resets = [0]

    def attack() -> None:
        while not stop.is_set():
            try:
                raw = RawConnection(server.port)
            except OSError:
                continue
            while not stop.is_set() and raw.goaway is None and not raw.closed:
                try:
                    stream = raw.open(LIST_JOBS, token)
                    raw.send(stream, prefix(len(request)) + request, end_stream=False)
                    raw.conn.reset_stream(stream)
                    raw.sock.sendall(raw.conn.data_to_send())
                    resets[0] += 1
                    raw.pump(lambda: False, 0.0005)
                except (OSError, h2.exceptions.ProtocolError):
                    break
            raw.close()

    threads = [threading.Thread(target=attack, daemon=True) for _ in range(attackers)]
    for thread in threads:
        thread.start()
    cpu_before = sum(int(x) for x in open(f"/proc/{server.pid}/stat").read().split()[13:15])
    during = latencies(client, attack_seconds)
    cpu = (sum(int(x) for x in open(f"/proc/{server.pid}/stat").read().split()[13:15]) - cpu_before) / os.sysconf("SC_CLK_TCK")
    stop.set()
    for thread in threads:
        thread.join()
    print(
        f"rapid reset: {attackers} attacking threads reset {resets[0]} streams in {attack_seconds:.0f} s "
        f"(kilnd {cpu:.1f} CPU-s, {cpu / max(1, resets[0]) * 1e6:.0f} us a reset); another client's ListJobs "
        f"p50/p99 {percentile(idle, 0.5) * 1e3:.1f}/{percentile(idle, 0.99) * 1e3:.1f} ms idle, "
        f"{percentile(during, 0.5) * 1e3:.1f}/{percentile(during, 0.99) * 1e3:.1f} ms under attack "
        f"({percentile(during, 0.99) / percentile(idle, 0.99):.2f}x), {sum(1 for v in during if v == float('inf'))} failed"
    )
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="keep the work directory here")
    parser.add_argument(
        "--bench", action="store_true",
        help="instead of the cases, print memory and latency figures under attack (default limits, release build if present)",
    )
    parser.add_argument("--streams", type=int, default=400, help="--bench: slow-reader streams")
    parser.add_argument("--connections", type=int, default=4, help="--bench: their connections")
    parser.add_argument("--attackers", type=int, default=8, help="--bench: rapid-reset threads")
    parser.add_argument("--attack-seconds", type=float, default=10, help="--bench: how long the rapid-reset attack lasts")
    parser.add_argument(
        "--server-flags", default="--write-stall-timeout 10",
        help="--bench: kilnd's extra flags (give '' to measure a kilnd older than them)",
    )
    args = parser.parse_args()
    workdir = make_workdir("kiln-hostile-", args.keep)
    if args.bench:
        server, _ = setup_server(workdir, args.server_flags.split(), prefer_release=True)
        server.start()
        try:
            bench(server, server.admin_token, args.streams, args.connections, args.attackers, args.attack_seconds)
        finally:
            server.stop()
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        return 0
    server, _ = setup_server(workdir, FLAGS)
    server.start()
    suite = Suite(server)
    try:
        suite.run()
    finally:
        suite.bystander.close()
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"hostile: {suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
