"""An encoder whose forward pass runs in worker processes, away from the event loop's GIL.

USE multilingual v3's forward pass is dozens of small numpy operations a call, each letting go
of the GIL and taking it back. In a worker thread beside a busy event loop every take-back
waits for the loop to hand the GIL over (up to the interpreter's 5 ms switch interval), so a
call that costs a few milliseconds of CPU took about a second under 64 concurrent clients
(bench/http_route.py), and that stage's requests made the whole tail. In a process of its own
a call costs its CPU plus ~1 ms of pickling and pipe (a process pool's manager threads cost
twice that, measured).

Each worker is a ``spawn``-ed process (nothing of this process's threads or locks is copied)
that builds its own encoder with ``factory`` and answers one call at a time over a pipe; a
caller (a micro-batcher lane, in a worker thread) borrows an idle one. What needs no model
(name, dimension, the window cut) is answered by ``local``, the in-process encoder of the same
kind. A worker that dies is replaced and the call tried once more on the new one.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from router.encoders.base import Encoder, Vectors
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")
START_TIMEOUT_S = 120.0  # a worker imports numpy and loads the weights: seconds, not minutes


def _serve(conn: Connection, factory: Callable[[], Encoder]) -> None:
    """A worker's life: build the encoder, then answer ``texts`` with ``("ok", vectors)`` or
    ``("error", message)`` until the pipe closes."""
    try:
        encoder = factory()
    except Exception as exc:  # the parent hears why instead of a dead pipe
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", None))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", encoder.encode(texts)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, factory: Callable[[], Encoder], name: str) -> None:
        """Start the process and wait until its encoder is loaded.

        Raises:
            ArtifactError: it did not start or could not load the encoder.
        """
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process: Any = context.Process(
            target=_serve, args=(child, factory), name=f"semroute {name}", daemon=True
        )
        self.process.start()
        child.close()
        try:
            if not self.conn.poll(START_TIMEOUT_S):
                raise ArtifactError(f"{name}: a worker process did not start")
            self.answer(self.conn.recv(), name)
        except (EOFError, OSError) as exc:
            raise ArtifactError(f"{name}: a worker process died while starting") from exc
        except ArtifactError:
            self.stop()
            raise

    @staticmethod
    def answer(reply: tuple[str, Any], name: str) -> Any:
        kind, payload = reply
        if kind == "error":
            raise ArtifactError(f"{name} worker: {payload}")
        return payload

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(5)


class ProcessPoolEncoder:
    """``processes`` workers, each with its own ``factory()`` encoder; ``encode`` blocks its
    (worker) thread until an idle worker has answered."""

    def __init__(self, local: Encoder, factory: Callable[[], Encoder], processes: int) -> None:
        """Start the workers and wait until each has loaded its encoder.

        Raises:
            ArtifactError: a worker could not start or load the encoder.
        """
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self._local = local
        self._factory = factory
        self.processes = processes
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            for _ in range(processes):
                self._add()
        except ArtifactError:
            self.close()
            raise

    @property
    def name(self) -> str:
        return self._local.name

    @property
    def dim(self) -> int:
        return self._local.dim

    def fit_window(self, text: str) -> tuple[str, bool]:
        return self._local.fit_window(text)

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in a worker process.

        Raises:
            ArtifactError: the encoder failed, or its worker died and a new one does not start.
        """
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        worker = self._borrow()
        try:
            return self._call(worker, list(texts))
        except (EOFError, OSError):
            log.error("%s: a worker process died; starting a new one", self.name)
            self._drop(worker)
            worker = self._borrow()  # none idle and one missing: its replacement
            try:
                return self._call(worker, list(texts))
            except (EOFError, OSError) as exc:
                self._drop(worker)
                raise ArtifactError(f"{self.name}: its worker processes keep dying") from exc
        finally:
            if worker in self._all:
                self._idle.put(worker)

    def close(self) -> None:
        """Stop the workers; later calls raise ArtifactError."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()

    def _call(self, worker: _Worker, texts: list[str]) -> Vectors:
        worker.conn.send(texts)
        vectors: Vectors = worker.answer(worker.conn.recv(), self.name)
        return vectors

    def _add(self) -> None:
        worker = _Worker(self._factory, self.name)
        self._all.append(worker)
        self._idle.put(worker)

    def _borrow(self) -> _Worker:
        """An idle worker; where one has died, a new one started now (seconds)."""
        while True:
            with self._lock:
                if self._closed:
                    raise ArtifactError(f"{self.name}: the encoder's workers were stopped")
                if len(self._all) < self.processes:
                    worker = _Worker(self._factory, self.name)
                    self._all.append(worker)
                    return worker
            try:  # a bounded wait: a worker that dies meanwhile is replaced above
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.stop()
