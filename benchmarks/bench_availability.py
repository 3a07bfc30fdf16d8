"""Availability on loopback: `python benchmarks/bench_availability.py [--budget 2.0]`.

Starts a fake RDAP server on loopback (registered: beanhaven.com, portlandroast.com; hanging:
brewnest.com and every slow*.com; anything else 404 = free), points ``DOMAINLLM_RDAP_BOOTSTRAP``
at it, serves the API with a stand-in engine (fixed suggestions and candidates, no model), and
prints: the request with ``check_availability`` and its answer, the same with
``prefer_available``, and the wall time of a request whose 5 names all hang (what the budget
bounds). No network is used; nothing is cached across runs (a temporary cache file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request as HttpRequest

from domainllm.availability import AvailabilityChecker, AvailabilitySettings
from domainllm.contract import Request, Response, Suggestion
from domainllm.rerank import Candidate
from domainllm.serve.app import ServeSettings, create_app
from domainllm.serve.runner import ServerThread

REGISTERED = {"beanhaven.com", "portlandroast.com"}
SHOWN = [("beanhaven.com", 0.91), ("brewnest.com", 0.84), ("portlandroast.com", 0.77)]
OTHERS = [("roastlane.com", 0.62), ("cuppacraft.com", 0.58)]


def fake_rdap() -> FastAPI:
    app = FastAPI()

    @app.get("/rdap/domain/{name}")
    async def domain(name: str, request: HttpRequest) -> JSONResponse:
        if name in REGISTERED:
            return JSONResponse({"objectClassName": "domain", "ldhName": name.upper()})
        if name == "brewnest.com" or name.startswith("slow"):
            while not await request.is_disconnected():  # hang until the client gives up
                await asyncio.sleep(0.02)
        return JSONResponse({"errorCode": 404}, 404)

    return app


class StandIn:
    """An engine with fixed answers: SHOWN (or n slow*.com names) and OTHERS as candidates."""

    calibrator = None

    def answer_batch(self, reqs: list[Request]) -> list[Any]:
        out = []
        for r in reqs:
            shown = (
                SHOWN
                if "slow" not in r.description
                else [(f"slow{i}.com", 0.5) for i in range(r.n)]
            )
            resp = Response(
                status="success",
                suggestions=[Suggestion(domain=d, confidence=c) for d, c in shown[: r.n]],
            )
            cands = [Candidate(d, -1.0, score=c) for d, c in SHOWN + OTHERS]
            model = SimpleNamespace(candidates=cands, raw_conf=dict(SHOWN + OTHERS))
            out.append(SimpleNamespace(response=resp, model=model))
        return out

    def suggest_batch(self, reqs: list[Request]) -> list[Response]:
        return [a.response for a in self.answer_batch(reqs)]

    def info(self) -> dict[str, Any]:
        return {"name": "stand-in", "guard": {"rules_hash": "x", "classifier": False}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=2.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with ServerThread(fake_rdap()) as rdap:
        boot = tmp / "dns.json"
        boot.write_text(json.dumps({"version": "1.0", "services": [[["com"], [rdap + "/rdap/"]]]}))
        os.environ["DOMAINLLM_RDAP_BOOTSTRAP"] = str(boot)
        settings = AvailabilitySettings(budget_s=args.budget, cache_path=str(tmp / "cache.json"))
        app = create_app(StandIn(), ServeSettings(port=0), AvailabilityChecker(settings))
        with ServerThread(app) as url:
            bodies = [
                {
                    "description": "organic coffee shop in Portland",
                    "n": 3,
                    "check_availability": True,
                },
                {
                    "description": "organic coffee shop in Portland",
                    "n": 3,
                    "prefer_available": True,
                },
                {"description": "slow lane bakery", "n": 5, "check_availability": True},
            ]
            for body in bodies:
                t0 = time.monotonic()
                r = httpx.post(url + "/v1/suggest", json=body, timeout=30)
                wall = time.monotonic() - t0
                print("request: ", json.dumps(body))
                print("answer:  ", r.text)
                print(f"wall:     {wall:.2f} s (budget {args.budget:g} s)\n")


if __name__ == "__main__":
    main()
