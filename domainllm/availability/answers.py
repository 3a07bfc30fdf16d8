"""Availability on an answer: ``"available"`` on each suggestion, taken names replaced.

Only called when a request asks (``--check-availability``, ``check_availability: true``); the
contract answer without it is untouched. With ``prefer_available`` a taken name is replaced by
the best remaining reranked candidate that is known to be free, while the budget lasts; a taken
name with no free replacement in time stays, marked ``"available": false``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from pydantic import PrivateAttr, ValidationError

from domainllm.availability.checker import Availability, AvailabilityChecker, AvailabilitySettings
from domainllm.contract import Request, Response, Suggestion, constraint_problems, domain_problems
from domainllm.params import UserError

NEVER = ("invalid", "constraint")  # reranker drops that may never be shown


class PooledResponse(Response):
    """A contract Response that also carries its replacement candidates (never serialised)."""

    _pool: list[Suggestion] = PrivateAttr(default_factory=list)

    @classmethod
    def of(cls, resp: Response, pool: list[Suggestion]) -> PooledResponse:
        out = cls.model_construct(**dict(resp))
        out._pool = pool
        return out


def pool_of(resp: Response) -> list[Suggestion]:
    """The replacement candidates carried by ``resp`` (none for a plain Response)."""
    return list(resp._pool) if isinstance(resp, PooledResponse) else []


def candidate_pool(
    req: Request, answer: Any, calibrator: Callable[[float], float] | None
) -> list[Suggestion]:
    """The engine's other candidates for ``req``, best first: reranker's kept ones by score,
    then its soft drops; never a name that breaks the request. ``answer`` is an ``Answer``."""
    model = answer.model
    if model is None or answer.response.status != "success":
        return []
    shown = {s.domain for s in answer.response.suggestions}
    # pick() scored and marked every candidate; without a reranker scores are equal and the
    # stable sort keeps generation order
    ranked = sorted(model.candidates, key=lambda c: (c.drop is not None, -c.score))
    cal = calibrator or (lambda p: p)
    return [
        Suggestion(
            domain=c.domain, confidence=min(1.0, max(0.0, cal(model.raw_conf.get(c.domain, 0.0))))
        )
        for c in ranked
        if c.domain not in shown
        and c.drop not in NEVER
        and not domain_problems(c.domain)
        and not constraint_problems(c.domain, req)
    ]


def pooled_runner(engine: Any) -> Callable[[list[Request]], list[Response]]:
    """``engine.suggest_batch`` whose answers also carry their candidate pools (same answers:
    ``Engine.suggest_batch`` is ``answer_batch``'s responses); engines without ``answer_batch``
    give plain answers."""
    if not hasattr(engine, "answer_batch"):
        return engine.suggest_batch
    cal = getattr(engine, "calibrator", None)

    def run(reqs: list[Request]) -> list[Response]:
        answers = engine.answer_batch(reqs)
        return [
            PooledResponse.of(a.response, candidate_pool(r, a, cal))
            for r, a in zip(reqs, answers, strict=True)
        ]

    return run


def with_availability(resp: Response, found: dict[str, Availability]) -> dict[str, Any]:
    """The contract dict with ``"available"`` added to each suggestion."""
    out = resp.to_dict()
    for s in out["suggestions"]:
        s["available"] = found.get(s["domain"])
    return out


async def annotate(
    resp: Response, checker: AvailabilityChecker, prefer_available: bool = False
) -> dict[str, Any]:
    """``resp`` as a dict with availability; taken names replaced when ``prefer_available``.
    Takes at most the checker's budget, all rounds together."""
    if resp.status != "success" or not resp.suggestions:
        return with_availability(resp, {})
    deadline = time.monotonic() + checker.settings.budget_s
    shown = list(resp.suggestions)
    pool = pool_of(resp) if prefer_available else []
    # The first replacements are asked together with the shown names: one hanging lookup
    # would otherwise spend the whole budget before any replacement is asked.
    spare, pool = pool[: len(shown)], pool[len(shown) :]
    found = await checker.check_many(s.domain for s in shown + spare)
    taken = [i for i, s in enumerate(shown) if found.get(s.domain) is False]
    while taken and (spare or pool):
        free = [c for c in spare if found.get(c.domain) is True]
        for c in free[: len(taken)]:
            shown[taken.pop(0)] = c  # the free name takes the taken one's place
        left = deadline - time.monotonic()
        if not taken or not pool or left <= 0.01:
            break
        k = max(len(taken), checker.settings.concurrency)
        spare, pool = pool[:k], pool[k:]
        found |= await checker.check_many((c.domain for c in spare), left)
    return with_availability(resp.model_copy(update={"suggestions": shown}), found)


# -- command-line options (suggest and serve) ---------------------------------------------------
FLAGS = {
    "budget_s": "--availability-budget",
    "timeout_s": "--availability-timeout",
    "cache_path": "--availability-cache",
    "dns_server": "--dns-server",
}


def add_arguments(p: argparse.ArgumentParser, per_request: bool) -> None:
    """Availability options; ``per_request`` adds the suggest-only switches."""
    if per_request:
        p.add_argument(
            "--check-availability",
            action="store_true",
            help='add "available": true|false|null to each suggestion (RDAP/DNS)',
        )
        p.add_argument(
            "--prefer-available",
            action="store_true",
            help="replace taken names by free candidates (implies --check-availability)",
        )
    fields = AvailabilitySettings.model_fields
    for name, flag in FLAGS.items():
        f = fields[name]
        kind = float if f.annotation is float else str
        p.add_argument(
            flag,
            dest="avail_" + name,
            type=kind,
            default=None,
            help=f"{f.description} (default {f.default})",
        )


def settings_from_args(args: argparse.Namespace) -> AvailabilitySettings:
    """The options as settings; a bad value is one line naming the option."""
    values = {k: v for k in FLAGS if (v := getattr(args, "avail_" + k, None)) is not None}
    try:
        return AvailabilitySettings(**values)
    except ValidationError as exc:
        e = exc.errors()[0]
        msg = str(e["msg"]).removeprefix("Value error, ")
        flag = FLAGS[str(e["loc"][0])]
        raise UserError(f"{flag}: {msg[:1].lower()}{msg[1:]} (got {e.get('input')!r})") from None
