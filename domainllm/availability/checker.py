"""Is a domain registered? RDAP (RFC 9083) first, DNS where RDAP lists no server.

``GET <base>/domain/<name>``: 404 = available, 200 with an RDAP JSON object = registered,
anything else (5xx, a redirect loop, a page that is not JSON, a timeout) = unknown. 429 is
retried after its ``Retry-After`` (else exponential backoff) while the budget allows.
``check_many`` never takes longer than ``budget_s``: what is not known by then is ``None``.
Definite answers are cached in a JSON file for ``cache_ttl_s``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator

from domainllm.availability.bootstrap import Bootstrap, atomic_write, cache_dir
from domainllm.availability.dnsquery import ns_exists, parse_server, system_resolver
from domainllm.params import Strict

log = logging.getLogger("domainllm.availability")

Availability = bool | None  # True free, False registered, None unknown


class AvailabilitySettings(Strict):
    """How availability is checked; the main ones are also CLI options."""

    budget_s: Annotated[float, Field(gt=0, le=60, description="most seconds a check adds")] = 2.0
    timeout_s: Annotated[float, Field(gt=0, le=60, description="per RDAP/DNS attempt")] = 1.5
    concurrency: Annotated[int, Field(ge=1, le=32, description="lookups in flight")] = 4
    retries: Annotated[int, Field(ge=0, le=5, description="retries after a 429")] = 2
    backoff_s: Annotated[
        float, Field(ge=0, le=10, description="first 429 wait without Retry-After")
    ] = 0.25
    cache_ttl_s: Annotated[
        float, Field(ge=0, description="how long an answer is reused (0 = off)")
    ] = 3600.0
    cache_path: str | None = Field(
        None, description="default: ~/.cache/domainllm/availability.json"
    )
    dns_server: str | None = Field(None, description="host[:port]; default: resolv.conf's first")

    @field_validator("dns_server")
    @classmethod
    def _server(cls, v: str | None) -> str | None:
        if v is not None:
            parse_server(v)  # ValueError names the bad value
        return v


class Cache:
    """Definite answers by domain with the time they were checked, in one JSON file."""

    def __init__(self, path: Path, ttl_s: float) -> None:
        self.path, self.ttl_s = path, ttl_s
        self.entries: dict[str, tuple[bool, float]] = {}
        self._read()

    def _read(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            fresh = time.time() - self.ttl_s
            self.entries = {
                d: (bool(v[0]), float(v[1]))
                for d, v in raw.items()
                if isinstance(v, list) and len(v) == 2 and v[1] > fresh
            }
        except (OSError, ValueError, TypeError, AttributeError):
            self.entries = {}  # no file yet, or a broken one: it is only a cache

    def get(self, domain: str) -> bool | None:
        hit = self.entries.get(domain)
        return hit[0] if hit and hit[1] > time.time() - self.ttl_s else None

    def put(self, found: dict[str, Availability]) -> None:
        """Remember the definite answers and rewrite the file (atomically; errors only logged)."""
        now = time.time()
        new = {d: (v, now) for d, v in found.items() if v is not None}
        if not new or self.ttl_s <= 0:
            return
        self.entries.update(new)
        fresh = now - self.ttl_s
        keep = {d: list(v) for d, v in self.entries.items() if v[1] > fresh}
        try:
            atomic_write(self.path, json.dumps(keep, sort_keys=True))
        except OSError as exc:
            log.warning("availability cache not written: %s", exc)


def retry_after_s(value: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), else ``default``."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class AvailabilityChecker:
    """Checks names against RDAP (DNS as fallback) within a time budget, with a cache."""

    def __init__(
        self, settings: AvailabilitySettings | None = None, bootstrap: Bootstrap | None = None
    ) -> None:
        self.settings = s = settings or AvailabilitySettings()
        self.bootstrap = bootstrap or Bootstrap.load()
        path = Path(s.cache_path) if s.cache_path else cache_dir() / "availability.json"
        self.cache = Cache(path, s.cache_ttl_s)
        self.dns = parse_server(s.dns_server) if s.dns_server else system_resolver()
        self.lookups = 0  # RDAP requests and DNS queries sent (tests and logs read it)

    def check(
        self, domains: Iterable[str], budget_s: float | None = None
    ) -> dict[str, Availability]:
        """``check_many`` from synchronous code (the CLI)."""
        return asyncio.run(self.check_many(domains, budget_s))

    async def check_many(
        self, domains: Iterable[str], budget_s: float | None = None
    ) -> dict[str, Availability]:
        """Availability of each domain (lower-cased), within ``budget_s`` (default the setting)."""
        names = list(dict.fromkeys(d.lower().strip(".") for d in domains))
        budget = self.settings.budget_s if budget_s is None else budget_s
        out: dict[str, Availability] = {d: self.cache.get(d) for d in names}
        todo = [d for d in names if out[d] is None]
        if not todo or budget <= 0:
            return out
        import httpx

        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        gate = asyncio.Semaphore(self.settings.concurrency)
        headers = {"Accept": "application/rdap+json, application/json"}
        async with httpx.AsyncClient(headers=headers, follow_redirects=True) as client:
            tasks = {d: asyncio.create_task(self._one(client, gate, d, deadline)) for d in todo}
            _, late = await asyncio.wait(tasks.values(), timeout=budget)
            for t in late:  # over budget: unknown, and stop asking
                t.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        found = {d: self._result(t) for d, t in tasks.items()}
        self.cache.put(found)
        if late:
            log.info("availability_budget_spent", extra={"fields": {"unknown": len(late)}})
        return out | found

    @staticmethod
    def _result(task: asyncio.Task[Availability]) -> Availability:
        if task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def _one(
        self, client: Any, gate: asyncio.Semaphore, domain: str, deadline: float
    ) -> Availability:
        loop = asyncio.get_running_loop()
        async with gate:
            base = self.bootstrap.base_url(domain)
            if base is None:  # no RDAP service for this TLD: does DNS know the name?
                if self.dns is None:
                    return None
                self.lookups += 1
                left = deadline - loop.time()
                exists = await ns_exists(domain, self.dns, min(self.settings.timeout_s, left))
                return None if exists is None else not exists
            return await self._rdap(client, base + "domain/" + domain, domain, deadline)

    async def _rdap(self, client: Any, url: str, domain: str, deadline: float) -> Availability:
        import httpx

        loop = asyncio.get_running_loop()
        s = self.settings
        for attempt in range(s.retries + 1):
            left = deadline - loop.time()
            self.lookups += 1
            try:
                r = await client.get(url, timeout=min(s.timeout_s, max(left, 0.001)))
            except httpx.HTTPError:
                return None  # timeout, refused, TLS: unknown (the budget is too short to retry)
            if r.status_code == 404:
                return True
            if r.status_code == 200:
                return False if _is_rdap_domain(r, domain) else None
            if r.status_code != 429 or attempt == s.retries:
                return None
            wait = retry_after_s(r.headers.get("Retry-After"), s.backoff_s * 2**attempt)
            if loop.time() + wait >= deadline:
                return None  # the server asks for longer than we have: do not hold the answer
            await asyncio.sleep(wait)
        return None


def _is_rdap_domain(r: Any, domain: str) -> bool:
    """A 200 counts as registered only if it is an RDAP object (not a captive portal's page)."""
    try:
        body = r.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    name = str(body.get("ldhName") or body.get("unicodeName") or "").lower().strip(".")
    return body.get("objectClassName") == "domain" or name == domain
