"""A fake engine and a server fixture for the serving tests (no model: batching, overload...)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from domainllm.contract import Request, Response, Suggestion, blocked
from domainllm.serve.app import ServeSettings, create_app
from domainllm.serve.runner import ServerThread

UNSAFE_WORD = "casino"  # the fake guard blocks descriptions containing it


def fake_answer(req: Request) -> Response:
    """Deterministic answer derived from the description, so tests can match answer to request."""
    if UNSAFE_WORD in req.description.lower():
        return blocked()
    label = re.sub(r"[^a-z]", "", req.description.lower())[:12] or "name"
    tld = req.tlds[0]
    return Response(
        status="success",
        suggestions=[
            Suggestion(domain=f"{label}{'abcdefghij'[i]}{tld}", confidence=round(0.9 - 0.1 * i, 2))
            for i in range(req.n)
        ],
    )


class FakeEngine:
    """Records batch sizes; optionally blocks each batch on ``gate`` or fails on a word."""

    def __init__(self, gate: threading.Event | None = None, fail_word: str | None = None) -> None:
        self.batches: list[int] = []
        self.started = threading.Event()
        self.gate = gate
        self.fail_word = fail_word

    def suggest_batch(self, reqs: list[Request]) -> list[Response]:
        self.batches.append(len(reqs))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(20)
        if self.fail_word and any(self.fail_word in r.description for r in reqs):
            raise RuntimeError("engine exploded")
        return [fake_answer(r) for r in reqs]

    def info(self) -> dict[str, Any]:
        return {"name": "fake", "guard": "fake"}


@contextmanager
def serving(engine_or_loader: Any, **settings: Any) -> Iterator[tuple[str, Any]]:
    """Serve an app on a free loopback port in a thread; yield (base url, app)."""
    app = create_app(engine_or_loader, ServeSettings(port=0, **settings))
    with ServerThread(app) as url:
        yield url, app


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    """Poll ``cond`` (not a timing assertion: the limit only stops a hung test)."""
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)
