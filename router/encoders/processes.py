"""An encoder whose forward pass runs in worker processes, away from the event loop's GIL.

USE multilingual v3's forward pass is dozens of small numpy operations a call, each letting go
of the GIL and taking it back. In a worker thread beside a busy event loop every take-back
waits for the loop to hand the GIL over (up to the interpreter's 5 ms switch interval), so a
call that costs a few milliseconds of CPU took about a second under 64 concurrent clients
(bench/http_route.py), and that stage's requests made the whole tail. In a process of its own
a call costs its CPU plus pickling the texts, and 512 floats a row back.

The workers are started with ``spawn`` (nothing of this process's threads or locks is copied)
and each builds its own encoder with ``factory``; what needs no model (name, dimension, the
window cut) is answered by ``local``, the in-process encoder of the same kind. A worker that
dies breaks the pool: the next call starts new workers and tries once more.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from router.encoders.base import Encoder, Vectors
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")
START_TIMEOUT_S = 120.0  # a worker imports numpy and loads the weights: seconds, not minutes

_worker: Encoder | None = None  # the encoder of this worker process


def _start_worker(factory: Callable[[], Encoder]) -> None:
    global _worker
    _worker = factory()


def _encode_in_worker(texts: list[str]) -> Vectors:
    if _worker is None:  # pragma: no cover - the initializer runs before any call
        raise RuntimeError("encoder worker not started")
    return _worker.encode(texts)


class ProcessPoolEncoder:
    """``processes`` workers, each with its own ``factory()`` encoder; ``encode`` blocks its
    (worker) thread until one of them answers."""

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
        self._lock = threading.Lock()
        self._pool = self._started()

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
            ArtifactError: the workers died and new ones do not start.
        """
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        pool = self._pool
        try:
            return pool.submit(_encode_in_worker, list(texts)).result()
        except BrokenProcessPool:
            log.error("%s: a worker process died; starting new ones", self.name)
            return self._restarted(pool).submit(_encode_in_worker, list(texts)).result()

    def close(self) -> None:
        """Stop the workers (calls still queued are cancelled)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _restarted(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:  # calls that found it broken together start one new pool
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._started()
            return self._pool

    def _started(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._factory,),
        )
        # A call a worker, at once: each loads its encoder now, not on a request's time.
        warm = [pool.submit(_encode_in_worker, ["warm up"]) for _ in range(self.processes)]
        try:
            for future in warm:
                future.result(timeout=START_TIMEOUT_S)
        except Exception as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            raise ArtifactError(f"{self.name}: worker processes did not start: {exc}") from exc
        return pool
