"""Availability on request (issue 18): RDAP against a fake server on loopback, DNS against a fake
UDP resolver on loopback, the time budget, the cache, and the CLI/API switches."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.responses import Response as HttpResponse
from servefakes import FakeEngine, fake_answer, serving
from starlette.requests import Request as StarletteRequest

from domainllm.availability import (
    ENV_VAR,
    AvailabilityChecker,
    AvailabilitySettings,
    Bootstrap,
    annotate,
    candidate_pool,
    pooled_runner,
)
from domainllm.availability.answers import PooledResponse
from domainllm.availability.bootstrap import SHIPPED
from domainllm.availability.checker import retry_after_s
from domainllm.cli import main
from domainllm.contract import Request, Response, Suggestion
from domainllm.params import UserError
from domainllm.rerank import Candidate
from domainllm.serve.runner import ServerThread

pytestmark = pytest.mark.timeout(60)


PUBLISHED = "2026-12-01T00:00:00Z"


# -- fakes ---------------------------------------------------------------------------------------
def fake_rdap() -> FastAPI:
    """RDAP by the name's first label: free* 404, taken* 200, busy* 429 once (Retry-After 1),
    patient* always 429 (Retry-After 30), broken* 500, slow* hangs, garbled* 200 not-JSON."""
    app = FastAPI()
    app.state.hits = Counter()

    @app.get("/rdap/domain/{name}")
    async def domain(name: str, request: StarletteRequest) -> HttpResponse:
        app.state.hits[name] += 1
        label = name.split(".")[0]
        if label.startswith("taken"):
            body = {"objectClassName": "domain", "ldhName": name.upper(), "status": ["active"]}
            return JSONResponse(body, media_type="application/rdap+json")
        if label.startswith("busy") and app.state.hits[name] == 1:
            return JSONResponse({"errorCode": 429}, 429, headers={"Retry-After": "1"})
        if label.startswith("patient"):
            return JSONResponse({"errorCode": 429}, 429, headers={"Retry-After": "30"})
        if label.startswith("broken"):
            return JSONResponse({"errorCode": 500}, 500)
        if label.startswith("garbled"):
            return PlainTextResponse('{"objectClassName": "dom', media_type="application/rdap+json")
        if label.startswith("slow"):  # hang until the client gives up (then the server stops)
            for _ in range(400):
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.025)
            return JSONResponse({}, 404)
        return JSONResponse({"errorCode": 404, "title": "Not Found"}, 404)

    @app.get("/iana/dns.json")
    async def bootstrap_file() -> JSONResponse:
        services = [[["com", "net"], ["https://rdap.example/v1/"]]]
        return JSONResponse({"version": "1.0", "publication": PUBLISHED, "services": services})

    return app


@pytest.fixture(scope="module")
def rdap() -> Iterator[tuple[str, FastAPI]]:
    app = fake_rdap()
    with ServerThread(app) as url:
        yield url, app


class FakeDNS:
    """A UDP resolver on loopback: names starting with 'taken' have NS records, others NXDOMAIN."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.queries: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            qid = struct.unpack(">H", query[:2])[0]
            labels, i = [], 12
            while query[i]:
                labels.append(query[i + 1 : i + 1 + query[i]].decode())
                i += 1 + query[i]
            question = query[12 : i + 5]
            name = ".".join(labels)
            self.queries.append(name)
            if name.startswith("taken"):  # one NS record: ns1.example.
                rdata = b"\x03ns1\x07example\x00"
                answer = b"\xc0\x0c" + struct.pack(">HHIH", 2, 1, 300, len(rdata)) + rdata
                reply = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer
            else:  # NXDOMAIN
                reply = struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
            self.sock.sendto(reply, peer)

    def __enter__(self) -> FakeDNS:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def boot(rdap, tmp_path, monkeypatch) -> Path:
    """A bootstrap naming the fake for .com and .test (and co.uk apart from .uk), via the env."""
    url = rdap[0]
    path = tmp_path / "dns.json"
    services = [
        [["com", "test"], [url + "/rdap/"]],
        [["uk"], ["https://rdap.uk.example/"]],
        [["co.uk"], ["http://couk.example/a", "https://couk.example/b/"]],
    ]
    path.write_text(json.dumps({"version": "1.0", "publication": "x", "services": services}))
    monkeypatch.setenv(ENV_VAR, str(path))
    return path


def checker(tmp_path: Path, **kw: object) -> AvailabilityChecker:
    kw = {"cache_path": str(tmp_path / "cache.json"), "timeout_s": 1.0, **kw}
    return AvailabilityChecker(AvailabilitySettings(**kw))  # type: ignore[arg-type]


# -- RDAP ----------------------------------------------------------------------------------------
def test_rdap_answers_available_registered_and_unknown(boot, tmp_path) -> None:
    c = checker(tmp_path)
    names = ["free1.com", "taken1.com", "broken1.com", "garbled1.com"]
    assert c.check(names) == {
        "free1.com": True,  # 404
        "taken1.com": False,  # 200 with an RDAP domain object
        "broken1.com": None,  # 500
        "garbled1.com": None,  # 200 but not JSON: not trusted as "registered"
    }


def test_429_waits_for_retry_after_then_asks_again(boot, rdap, tmp_path) -> None:
    c = checker(tmp_path, budget_s=3.0)
    t0 = time.monotonic()
    assert c.check(["busy1.com"]) == {"busy1.com": True}
    assert time.monotonic() - t0 >= 1.0  # Retry-After: 1 was honoured
    assert rdap[1].state.hits["busy1.com"] == 2
    # a Retry-After beyond the budget is not waited for: unknown at once
    t0 = time.monotonic()
    assert c.check(["patient1.com"]) == {"patient1.com": None}
    assert time.monotonic() - t0 < 1.0 and rdap[1].state.hits["patient1.com"] == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_s("3", 0.5) == 3.0
    assert retry_after_s(None, 0.5) == 0.5
    assert retry_after_s("soon", 0.5) == 0.5
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 < retry_after_s(later, 0.5) <= 60


def test_a_slow_server_times_out_as_unknown(boot, tmp_path) -> None:
    c = checker(tmp_path, timeout_s=0.3, budget_s=5.0)
    t0 = time.monotonic()
    assert c.check(["slow1.com"]) == {"slow1.com": None}
    assert time.monotonic() - t0 < 1.5


def test_five_names_add_at_most_the_default_budget(boot, tmp_path) -> None:
    """Budget 2 s (the default): 5 names on a server that hangs cost at most ~2 s, whether the
    per-lookup timeout (default 1.5 s) or the budget (timeout 10 s) is what stops them."""
    slow = [f"slow{i}b.com" for i in range(5)]
    cases = [  # with the 1.5 s timeout a slot frees in time for the fifth, fast name
        (1.5, [*slow[:4], "free2.com"], {**dict.fromkeys(slow[:4]), "free2.com": True}),
        (10.0, slow, dict.fromkeys(slow)),
    ]
    for timeout_s, names, expected in cases:
        cache = str(tmp_path / f"{timeout_s}.json")
        c = AvailabilityChecker(AvailabilitySettings(cache_path=cache, timeout_s=timeout_s))
        assert c.settings.budget_s == 2.0
        t0 = time.monotonic()
        found = c.check(names)
        wall = time.monotonic() - t0
        assert wall <= 2.0 + 0.3, wall
        assert found == expected


def test_cache_serves_a_second_call_without_a_request(boot, rdap, tmp_path) -> None:
    c = checker(tmp_path)
    assert c.check(["free3.com", "taken3.com", "broken3.com"])["taken3.com"] is False
    sent, hits = c.lookups, dict(rdap[1].state.hits)
    assert c.check(["free3.com", "taken3.com"]) == {"free3.com": True, "taken3.com": False}
    assert c.lookups == sent and dict(rdap[1].state.hits) == hits
    # the file outlives the process; unknown answers are not cached
    again = checker(tmp_path)
    assert again.check(["taken3.com"]) == {"taken3.com": False} and again.lookups == 0
    assert again.check(["broken3.com"]) == {"broken3.com": None} and again.lookups == 1
    # after the TTL the name is asked again
    short = checker(tmp_path, cache_ttl_s=0.2)
    time.sleep(0.3)
    assert short.check(["free3.com"]) == {"free3.com": True} and short.lookups == 1


# -- DNS fallback and the bootstrap --------------------------------------------------------------
def test_unknown_tld_falls_back_to_dns(boot, tmp_path) -> None:
    with FakeDNS() as dns:
        c = checker(tmp_path, dns_server=dns.address)
        assert c.check(["taken4.zz", "free4.zz"]) == {"taken4.zz": False, "free4.zz": True}
        assert sorted(dns.queries) == ["free4.zz", "taken4.zz"]
    # no resolver answering: unknown, within the timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        c = checker(tmp_path, dns_server=f"127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)
        t0 = time.monotonic()
        assert c.check(["free5.zz"]) == {"free5.zz": None}
        assert time.monotonic() - t0 < 1.0


def test_bootstrap_env_override_longest_suffix_and_errors(boot, tmp_path, monkeypatch) -> None:
    b = Bootstrap.load()
    assert b.source == str(boot)
    assert b.base_url("x.co.uk") == "https://couk.example/b/"  # longest suffix, HTTPS first
    assert b.base_url("x.uk") == "https://rdap.uk.example/"
    assert b.base_url("x.zz") is None
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.json"))
    with pytest.raises(UserError, match=f"{ENV_VAR} .*missing.json: file not found"):
        Bootstrap.load()
    (tmp_path / "bad.json").write_text('{"services": [["com"]]}')
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "bad.json"))
    with pytest.raises(UserError, match=r"services\[0\] is not"):
        Bootstrap.load()
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "nocache"))
    shipped = Bootstrap.load()
    assert shipped.source == str(SHIPPED)
    assert shipped.base_url("beanhaven.com") == "https://rdap.verisign.com/com/v1/"


def test_refresh_downloads_a_bootstrap_from_a_url(rdap, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "cache" / "domainllm" / "rdap-dns.json"  # the default --out
    assert main(["availability-refresh", "--url", rdap[0] + "/iana/dns.json"]) == 0
    summary = {"out": str(out), "tlds": 2, "publication": PUBLISHED}
    assert json.loads(capsys.readouterr().out) == summary
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert Bootstrap.load().base_url("a.net") == "https://rdap.example/v1/"  # refreshed copy wins
    assert main(["availability-refresh", "--url", rdap[0] + "/nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: --url {rdap[0]}/nope: HTTP 404; the old file stays in use"
    assert Bootstrap.read(out, "x").publication == PUBLISHED  # untouched


# -- answers: annotate, prefer_available, candidates ---------------------------------------------
def answer_with_pool(req: Request) -> SimpleNamespace:
    """An engine ``Answer`` whose response shows taken names, with free ones among candidates."""
    shown = [Suggestion(domain=f"taken{i}x.com", confidence=0.9) for i in range(req.n)]
    cands = [Candidate(s.domain, -1.0, score=1.0) for s in shown] + [
        Candidate("free-dash.com", -1.0, score=0.9),  # breaks no-hyphens: never offered
        Candidate("freedrop.com", -1.0, score=0.8, drop="invalid"),
        Candidate("freelow.com", -1.0, score=0.1),
        Candidate("freesoft.com", -1.0, score=0.7, drop="taken"),  # soft drop: after kept ones
        Candidate("freebest.com", -1.0, score=0.5),
    ]
    raw = {c.domain: 0.5 for c in cands}
    model = SimpleNamespace(candidates=cands, raw_conf=raw)
    resp = fake_answer(req).model_copy(update={"suggestions": shown})
    return SimpleNamespace(model=model, response=resp)


def test_candidate_pool_orders_by_rerank_and_keeps_the_request() -> None:
    req = Request(description="x", n=2)
    pool = candidate_pool(req, answer_with_pool(req), lambda p: p / 2)
    assert [s.domain for s in pool] == ["freebest.com", "freelow.com", "freesoft.com"]
    assert pool[0].confidence == 0.25  # calibrated like the shown names


def test_prefer_available_replaces_taken_names(boot, tmp_path) -> None:
    req = Request(description="x", n=2)

    class PoolEngine(FakeEngine):
        def answer_batch(self, reqs: list[Request]) -> list[SimpleNamespace]:
            return [answer_with_pool(r) for r in reqs]

    resp = pooled_runner(PoolEngine())([req])[0]
    c = checker(tmp_path)
    plain = asyncio.run(annotate(resp, c))
    assert [(s["domain"], s["available"]) for s in plain["suggestions"]] == [
        ("taken0x.com", False),
        ("taken1x.com", False),
    ]
    out = asyncio.run(annotate(resp, c, prefer_available=True))
    assert out["suggestions"] == [
        {"domain": "freebest.com", "confidence": 0.5, "available": True},
        {"domain": "freelow.com", "confidence": 0.5, "available": True},
    ]


def test_a_hanging_name_does_not_stop_replacements(boot, tmp_path) -> None:
    shown = [Suggestion(domain=d, confidence=0.9) for d in ("taken8x.com", "slow8x.com")]
    resp = PooledResponse.of(
        Response(status="success", suggestions=shown),
        [Suggestion(domain=d, confidence=0.4) for d in ("taken8y.com", "free8y.com")],
    )
    t0 = time.monotonic()
    out = asyncio.run(annotate(resp, checker(tmp_path, budget_s=0.5), prefer_available=True))
    assert time.monotonic() - t0 < 0.5 + 0.3
    assert [(s["domain"], s["available"]) for s in out["suggestions"]] == [
        ("free8y.com", True),
        ("slow8x.com", None),  # not known in time: kept, marked unknown
    ]


# -- API and CLI ---------------------------------------------------------------------------------
def test_api_adds_available_only_when_asked(boot, tmp_path) -> None:
    body = {"description": "free coffee", "n": 3}
    plain = fake_answer(Request(**body)).to_dict()
    with serving(FakeEngine()) as (url, app):
        app.state.availability = checker(tmp_path)
        r = httpx.post(url + "/v1/suggest", json=body, timeout=20)
        assert r.json() == plain and '"available"' not in r.text  # the contract, unchanged
        r = httpx.post(url + "/v1/suggest", json={**body, "check_availability": True}, timeout=20)
        assert r.status_code == 200
        assert r.json()["suggestions"] == [{**s, "available": True} for s in plain["suggestions"]]
        batch = {"requests": [body, {**body, "check_availability": True}]}
        r = httpx.post(url + "/v1/suggest/batch", json=batch, timeout=20)
        first, second = r.json()["responses"]
        assert first == plain and all(s["available"] is True for s in second["suggestions"])
        r = httpx.post(url + "/v1/suggest", json={**body, "check_availability": "maybe"})
        assert r.status_code == 422 and r.json()["detail"].startswith("check_availability: ")
        # a lookup that hangs: the answer still comes within the budget, marked unknown
        app.state.availability = checker(tmp_path, budget_s=0.5)
        slow = {"description": "slow lane", "n": 5, "check_availability": True}
        t0 = time.monotonic()
        r = httpx.post(url + "/v1/suggest", json=slow, timeout=20)
        assert time.monotonic() - t0 < 0.5 + 0.5
        assert [s["available"] for s in r.json()["suggestions"]] == [None] * 5


def test_api_prefer_available_replaces_taken_names(boot, tmp_path) -> None:
    class PoolEngine(FakeEngine):
        def answer_batch(self, reqs: list[Request]) -> list[SimpleNamespace]:
            return [answer_with_pool(r) for r in reqs]

    with serving(PoolEngine()) as (url, app):
        app.state.availability = checker(tmp_path, budget_s=0.5)
        body = {"description": "x", "n": 2, "prefer_available": True}  # implies the check
        r = httpx.post(url + "/v1/suggest", json=body, timeout=20)
        assert [s["domain"] for s in r.json()["suggestions"]] == ["freebest.com", "freelow.com"]


def test_cli_suggest_checks_availability(boot, tmp_path, capsys, monkeypatch) -> None:
    from domainllm.tiny import make_tiny_model

    monkeypatch.chdir(tmp_path)  # no trained guard here: the policy rules alone
    model = str(make_tiny_model(tmp_path / "tiny"))
    cache = str(tmp_path / "cache.json")
    argv = ["suggest", "organic coffee shop", "-n", "2", "--model", model, "--threads", "1"]
    assert main([*argv, "--check-availability", "--availability-cache", cache]) == 0
    out = json.loads(capsys.readouterr().out)
    # the random model may refuse; a success names .com domains the fake says are free
    assert out["status"] == "blocked" or all(s["available"] is True for s in out["suggestions"])
    # prefer_available goes through the real engine's candidates (all free here: same shape)
    assert main([*argv, "--prefer-available", "--availability-cache", cache]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "blocked" or all(s["available"] is True for s in out["suggestions"])
    assert main([*argv, "--check-availability", "--availability-budget", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --availability-budget: input should be greater than 0 (got 0.0)"
    assert main([*argv, "--check-availability", "--dns-server", "127.0.0.1:x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --dns-server: '127.0.0.1:x' is not host[:port]")
