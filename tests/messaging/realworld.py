"""Real components for delivery tests: a local SMTP sink, a Redis server of the test's own,
and a Celery worker process using the test database."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from email import message_from_bytes
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll an outside process until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SinkHandler:
    """Keeps every message it accepts. Can refuse the next N messages with a temporary
    error, or hold the Nth message at RCPT until released."""

    def __init__(self) -> None:
        self.messages = ReceivedMessages()
        self.refuse_next = 0
        self.refuse_permanently = False
        self.sessions: set[int] = set()  # SMTP sessions that carried at least one recipient
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # From the hold_at-th message on, every recipient waits for release (>=, not ==: two
        # connections at once can each see the count step past hold_at).
        if self.hold_at is not None and len(self.messages) + 1 >= self.hold_at and not self.release.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        self.sessions.add(id(session))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refuse_permanently:
                return "550 5.1.1 Mailbox unavailable"
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Temporary failure, try again later"
            self.messages.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        headers = BytesHeaderParser()
        return [headers.parsebytes(content)["Message-ID"] for content in list(self.messages.raw)]


class ReceivedMessages(Sequence):
    """The messages a sink accepted, kept as they came and parsed when a test reads one: the
    benchmark shares the machine with its sink, which should not spend it parsing."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [message_from_bytes(content) for content in self.raw[index]]
        return message_from_bytes(self.raw[index])

    def __eq__(self, other) -> bool:
        return list(self) == other


class SmtpSink:
    def __init__(self) -> None:
        # aiosmtpd logs every SMTP command at INFO: thousands of lines that would slow the sink
        # (and the benchmark measuring the worker through it) and bury a failing test's output.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.handler.release.set()
        self.controller.stop()


class RedisServer:
    """A redis-server of the test's own, so stopping it does not touch anyone else's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class FrozenServer:
    """A broker that accepts connections and never answers (a hung Redis). Counts who came."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def __enter__(self) -> FrozenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


class CeleryWorker:
    """`celery -A clinic worker` in its own process group, against the test database."""

    def __init__(
        self, *, database_url: str, redis_url: str, smtp_port: int, log_path: Path, concurrency: int = 2
    ) -> None:
        self.concurrency = concurrency
        self.env = {
            **os.environ,
            # Development settings (the development secret key); a caller may switch to production.
            "DEBUG": "true",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "EMAIL_BACKEND": "messaging.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "MESSAGE_RETRY_BACKOFF_SECONDS": "1",
            "DATABASE_CONN_MAX_AGE": "0",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        start = self.log_path.stat().st_size
        self.process = subprocess.Popen(  # noqa: S603
            [celery, "-A", "clinic", "worker", f"--concurrency={self.concurrency}", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(
            lambda: b"ready." in self.log_path.read_bytes()[start:], timeout=60, what="the Celery worker to be ready"
        )

    def log_text(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None
            self.log.close()

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            self.process = None
            self.log.close()
