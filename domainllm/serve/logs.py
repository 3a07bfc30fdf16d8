"""Structured JSON logs for the server: one object per line, no secrets, no request bodies.

Callers pass their fields as ``extra={"fields": {...}}``; requests are logged by body length and
a short sha256 so a request can be matched across logs without storing what the user typed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "domainllm.serve"


class JsonFormatter(logging.Formatter):
    """Format a record as one compact JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info and record.exc_info[0] is not None:
            # Only the type: exception text and tracebacks can quote the user's request.
            out["exc_type"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "info") -> logging.Logger:
    """Send the server's logs to stderr as JSON lines (called once by the ``serve`` command)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    if not any(getattr(h, "_domainllm_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._domainllm_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
    return logger
