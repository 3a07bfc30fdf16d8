"""ASGI middleware: a request body size limit (413) and one structured log line per request.

It reads the body once (bounded by ``max_body_bytes``), answers 413 before the app parses
anything too large, then replays the body to the app. The log line carries the body's length
and a short sha256, never the body itself, and no headers (they may carry credentials).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from typing import Any

from domainllm.serve.logs import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

Scope = dict[str, Any]
Message = dict[str, Any]


def error_body(error: str, detail: str) -> dict[str, str]:
    """The JSON shape of every error answer: a code and a one-line explanation."""
    return {"error": error, "detail": detail}


class BodyLimitAndLog:
    """Wrap an ASGI app with a body limit and per-request JSON logging."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        rid = uuid.uuid4().hex[:16]
        status = {"code": 0}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        body, too_large = await self._read_body(scope, receive)
        try:
            if too_large:
                await self._send_413(send_logged, too_large)
            else:
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_logged)
        finally:
            fields = {
                "request_id": rid,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status["code"] or 500,
                "latency_ms": round(1000 * (time.monotonic() - started), 1),
                "body_bytes": too_large or len(body),
            }
            if body:
                fields["body_sha256"] = hashlib.sha256(body).hexdigest()[:16]
            log.info("request", extra={"fields": fields})

    async def _read_body(self, scope: Scope, receive: Any) -> tuple[bytes, int]:
        """The whole body, or (b"", size seen) as soon as it passes the limit."""
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return b"", int(value)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", size
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), 0

    async def _send_413(self, send: Any, size: int) -> None:
        detail = (
            f"request body is at least {size} bytes; at most {self.max_body_bytes} allowed "
            "(send shorter descriptions or fewer requests per batch)"
        )
        payload = json.dumps(error_body("body_too_large", detail)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
