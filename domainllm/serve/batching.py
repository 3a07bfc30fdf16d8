"""Dynamic batching: concurrent requests are grouped into one engine call by one worker thread.

The engine is not thread-safe and a batched ``generate`` costs far less than the same requests
one by one, so every request goes through a bounded queue. One worker takes the first waiting
request, then keeps collecting until ``max_batch_size`` requests are in hand or ``max_wait_ms``
has passed, and runs them as one ``engine.suggest_batch`` call. Under light load a request waits
at most ``max_wait_ms``; under heavy load the queue fills while the engine is busy and the next
batch is full at once, so throughput grows with load. A full queue raises ``QueueFull`` (the API
answers 429 with Retry-After) instead of letting latency grow without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from domainllm.contract import Request, Response

log = logging.getLogger("domainllm.serve")

RunBatch = Callable[[list[Request]], list[Response]]


class QueueFull(Exception):
    """The queue has no room for the submitted requests."""


class BatcherStopped(Exception):
    """The batcher is shutting down and takes no more requests."""


@dataclass
class _Item:
    request: Request
    future: Future[Response] = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)


class Batcher:
    """A bounded request queue drained by one worker thread in dynamic batches."""

    def __init__(
        self, run_batch: RunBatch, max_batch_size: int, max_wait_ms: float, max_queue: int
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch_size and max_queue must be >= 1, max_wait_ms >= 0")
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.batches_run = 0
        self.requests_run = 0
        self.failures = 0

    @property
    def depth(self) -> int:
        """Requests waiting in the queue (not counting the batch being run)."""
        with self._cond:
            return len(self._queue)

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="batcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Refuse new work, fail what is still queued, and wait for the running batch."""
        with self._cond:
            self._stopping = True
            left = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for it in left:
            if it.future.set_running_or_notify_cancel():
                it.future.set_exception(BatcherStopped("server is shutting down"))
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, requests: Sequence[Request]) -> list[Future[Response]]:
        """Queue all ``requests`` or none of them; raise QueueFull when there is no room."""
        items = [_Item(r) for r in requests]
        with self._cond:
            if self._stopping:
                raise BatcherStopped("server is shutting down")
            if len(self._queue) + len(items) > self.max_queue:
                raise QueueFull(f"queue holds {len(self._queue)} of {self.max_queue} requests")
            self._queue.extend(items)
            self._cond.notify()
        return [it.future for it in items]

    def _collect(self) -> list[_Item] | None:
        """Block for the first item, then gather more until the batch is full or time is up."""
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            batch = [self._queue.popleft()]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch_size:
                if self._queue:
                    batch.append(self._queue.popleft())
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    break
                self._cond.wait(remaining)
        return batch

    def _loop(self) -> None:
        while (batch := self._collect()) is not None:
            # A request whose caller gave up (timeout) was cancelled: skip it, don't generate.
            live = [it for it in batch if it.future.set_running_or_notify_cancel()]
            if live:
                self._run(live)

    def _run(self, items: list[_Item]) -> None:
        started = time.monotonic()
        try:
            answers = self._run_batch([it.request for it in items])
            if len(answers) != len(items):
                raise RuntimeError(f"engine returned {len(answers)} answers for {len(items)}")
        except Exception as exc:
            if len(items) > 1:
                # One bad request must not fail its batch-mates: retry each on its own.
                log.warning("batch_failed", extra={"fields": _exc_fields(exc, len(items))})
                for it in items:
                    self._run([it])
                return
            self.failures += 1
            log.error("engine_error", extra={"fields": _exc_fields(exc, 1)})
            items[0].future.set_exception(exc)
            return
        self.batches_run += 1
        self.requests_run += len(items)
        log.info(
            "batch",
            extra={
                "fields": {
                    "size": len(items),
                    "queue_wait_ms": round(1000 * (started - items[0].enqueued), 1),
                    "run_ms": round(1000 * (time.monotonic() - started), 1),
                    "queue_depth": self.depth,
                }
            },
        )
        for it, ans in zip(items, answers, strict=True):
            it.future.set_result(ans)


def _exc_fields(exc: BaseException, size: int) -> dict[str, object]:
    # The exception text may quote the request, so only its type is logged.
    return {"size": size, "error_type": type(exc).__name__}
