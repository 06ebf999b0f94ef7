"""A real ``redis-server`` on loopback for tests, and its pytest fixtures.

``RedisServer`` starts ``redis-server`` on a free 127.0.0.1 port with no persistence in a
temporary directory, waits until it answers PING, and can stop, restart (same port, same URL)
or pause it (SIGSTOP: connections are accepted but never answered, as with a hung server).

Fixtures (import them in tests/conftest.py):

- ``redis_process`` (session): the shared ``RedisServer``. Do not stop it; use ``redis_private``.
- ``redis_server`` (session): its URL, ``redis://127.0.0.1:PORT/0``.
- ``redis_url`` (function): the same URL, after FLUSHALL, so every test starts empty.
- ``redis_private`` (function): a server of the test's own, to stop / restart / pause at will.

``make test`` installs redis-server when it is missing (target ``redis-server-installed``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` child process on 127.0.0.1; a context manager."""

    def __init__(self, executable: str = "redis-server") -> None:
        found = shutil.which(executable)
        if found is None:
            raise RuntimeError(
                f"{executable} not found on PATH: run `make redis-server-installed` "
                "(apt-get install redis-server)"
            )
        self.executable = found
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="semroute-redis-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return Path(self._dir.name) / "redis.log"

    def start(self) -> None:
        """Start the server (on the same port as before, if it ran already) and wait for PING.

        Raises:
            RuntimeError: it exited or did not answer within 10 s (the message has its log).
        """
        if self.running:
            return
        args = [
            self.executable,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            *("--dir", self._dir.name, "--logfile", str(self.log_path)),
            *("--daemonize", "no", "--protected-mode", "yes"),
        ]
        self._proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self._paused = False
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        client = self.client(timeout_s=0.5)
        try:
            while time.monotonic() < deadline:
                if not self.running:
                    break
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.01)
        finally:
            client.close()
        log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); its data is gone."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self._paused:
            os.kill(proc.pid, signal.SIGCONT)
            self._paused = False
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Stop, then start again on the same port (so clients keep their URL), empty."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the process: connects still succeed, commands time out."""
        if self._proc is not None and not self._paused:
            os.kill(self._proc.pid, signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        if self._proc is not None and self._paused:
            os.kill(self._proc.pid, signal.SIGCONT)
            self._paused = False

    def client(self, timeout_s: float = 2.0) -> redis.Redis:
        """A synchronous client with no retries (the caller closes it)."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )

    def flushall(self) -> None:
        client = self.client()
        try:
            client.flushall()
            client.script_flush()
        finally:
            client.close()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture(scope="session")
def redis_process() -> Iterator[RedisServer]:
    """The redis-server shared by the whole session (tests must not stop it)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_process: RedisServer) -> str:
    """URL of the shared server, emptied (FLUSHALL, SCRIPT FLUSH) before the test."""
    if not redis_process.running:  # a test stopped it after all: bring it back
        redis_process.start()
    redis_process.resume()
    redis_process.flushall()
    return redis_process.url


@pytest.fixture
def redis_private() -> Iterator[RedisServer]:
    """A running redis-server of this test's own, to stop, restart or pause."""
    with RedisServer() as server:
        yield server
