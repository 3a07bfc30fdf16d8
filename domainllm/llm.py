"""A chat-completions client for any OpenAI-compatible endpoint, with counted retries.

Shared by the judge's ``openai`` backend and the synth teacher. The key is read from the named
environment variable and never written anywhere. The SDK's own retries are off: this client
retries timeouts, connection errors, 429 (honouring Retry-After) and 5xx with jittered
exponential backoff, and counts every failure by kind so stages can report them.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from domainllm.params import UserError


@dataclass
class Failures:
    """Counts of every failed call or reply (retried or final), thread-safe."""

    timeout: int = 0
    connection: int = 0
    rate_limited: int = 0
    server_error: int = 0
    client_error: int = 0
    unparseable: int = 0
    failed_items: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, kind: str) -> None:
        """Count one failure of ``kind``."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)

    def as_dict(self) -> dict[str, int]:
        """The counts plus their total."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["total_calls_failed"] = sum(v for k, v in d.items() if k != "failed_items")
        return d


class ChatClient:
    """``complete(messages) -> text`` against ``base_url``; RuntimeError (one line) on failure."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        failures: Failures,
        who: str = "judge",
    ) -> None:
        from openai import OpenAI

        key = os.environ.get(api_key_env) if api_key_env else "not-needed"
        if not key:
            raise UserError(f"{who}: environment variable {api_key_env} is not set (export it)")
        # max_retries=0: the SDK would retry silently; we retry ourselves to count failures.
        self.client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)
        self.model_id, self.who = model, who
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self.failures = failures

    def _retry_after(self, exc: Any) -> float | None:
        resp = getattr(exc, "response", None)
        value = resp.headers.get("retry-after") if resp is not None else None
        try:
            return min(float(value), 60.0) if value is not None else None
        except ValueError:
            return None

    def complete(
        self, messages: list[dict[str, str]], max_tokens: int = 120, temperature: float = 0.0
    ) -> str:
        """The reply text; retries what may pass, raises RuntimeError when it gives up."""
        import openai

        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                resp = self.client.chat.completions.create(
                    model=self.model_id,
                    messages=messages,
                    temperature=temperature,
                    max_tokens=max_tokens,
                )
                return resp.choices[0].message.content or ""
            except openai.APITimeoutError:
                kind = "timeout"
            except openai.APIConnectionError:
                kind = "connection"
            except openai.RateLimitError as exc:
                kind, wait = "rate_limited", self._retry_after(exc)
            except openai.APIStatusError as exc:
                if exc.status_code < 500:
                    self.failures.add("client_error")  # 4xx other than 429: retrying won't help
                    raise RuntimeError(f"HTTP {exc.status_code} from {self.who} server") from None
                kind, wait = "server_error", self._retry_after(exc)
            self.failures.add(kind)
            if attempt == self.max_retries:
                raise RuntimeError(f"{kind} after {attempt + 1} attempts")
            backoff = min(30.0, self.backoff_s * 2**attempt) * (0.5 + random.random())
            time.sleep(wait if wait is not None else backoff)
        raise AssertionError("unreachable")
