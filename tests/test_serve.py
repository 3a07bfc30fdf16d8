"""The HTTP API over real loopback HTTP (uvicorn in a thread, httpx): contract, errors, batching."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from servefakes import UNSAFE_WORD, FakeEngine, fake_answer, serving, wait_until

from domainllm.contract import BLOCKED_MESSAGE, Request, parse_response
from domainllm.params import UserError
from domainllm.serve.logs import LOGGER_NAME, JsonFormatter
from domainllm.serve.runner import (
    add_arguments,
    check_model_outputs,
    engine_settings,
    pick_model,
    run,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def shared_url() -> Iterator[str]:
    """One server for the stateless tests (each server start costs a fraction of a second)."""
    with serving(FakeEngine()) as (url, _):
        yield url


def post(url: str, path: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=20, **kw)  # type: ignore[arg-type]


def test_success_and_blocked_follow_the_contract() -> None:
    with serving(FakeEngine()) as (url, _):
        r = post(url, "/v1/suggest", {"description": "organic coffee shop", "tlds": "io", "n": 3})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        resp = parse_response(r.text)  # raises if the body breaks the contract
        assert resp.status == "success" and len(resp.suggestions) == 3
        assert all(s.domain.endswith(".io") for s in resp.suggestions)
        assert (
            r.json()
            == fake_answer(Request(description="organic coffee shop", tlds=[".io"], n=3)).to_dict()
        )

        r = post(url, "/v1/suggest", {"description": f"online {UNSAFE_WORD} for kids"})
        assert r.status_code == 200
        assert r.json() == {"status": "blocked", "message": BLOCKED_MESSAGE, "suggestions": []}


def test_batch_endpoint_answers_in_order() -> None:
    with serving(FakeEngine(), max_batch_items=3) as (url, _):
        reqs = [
            {"description": "bakery"},
            {"description": UNSAFE_WORD},
            {"description": "gym", "n": 2},
        ]
        r = post(url, "/v1/suggest/batch", {"requests": reqs})
        assert r.status_code == 200
        got = r.json()["responses"]
        assert [g["status"] for g in got] == ["success", "blocked", "success"]
        assert got[0]["suggestions"][0]["domain"].startswith("bakery")
        assert len(got[2]["suggestions"]) == 2

        r = post(url, "/v1/suggest/batch", {"requests": reqs + reqs})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("requests: 6 items; at most 3")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/suggest", {}, "description: is required"),
        ("/v1/suggest", {"description": "   "}, "description: must not be empty"),
        ("/v1/suggest", {"description": "x" * 2001}, "description: is 2001 characters"),
        ("/v1/suggest", {"description": "cafe", "n": 0}, "n: "),
        ("/v1/suggest", {"description": "cafe", "n": "five"}, "n: "),
        ("/v1/suggest", {"description": "cafe", "tlds": ["not a tld"]}, "tlds: "),
        ("/v1/suggest", {"description": "cafe", "allow_hyphens": "maybe"}, "allow_hyphens: "),
        ("/v1/suggest", [1, 2], "body: "),
        (
            "/v1/suggest/batch",
            {"requests": [{"description": "a"}, {"n": 2}]},
            "requests[1].description: is required",
        ),
        ("/v1/suggest/batch", {"requests": []}, "requests: "),
        ("/v1/suggest/batch", {"reqs": []}, "requests: is required"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(
    shared_url: str, path: str, body: object, field: str
) -> None:
    r = post(shared_url, path, body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field), detail
    assert "\n" not in detail
    assert r.json()["error"] == "invalid_request"


def test_invalid_json_gets_422_naming_the_body() -> None:
    with serving(FakeEngine()) as (url, _):
        r = httpx.post(url + "/v1/suggest", content=b'{"description": "cafe"}', timeout=20)
        assert r.status_code == 422
        assert "Content-Type: application/json" in r.json()["detail"]
        r = httpx.post(
            url + "/v1/suggest",
            content=b'{"description": ',
            timeout=20,
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("body: not valid JSON")


def test_body_too_large_gets_413_with_or_without_content_length() -> None:
    big = json.dumps({"description": "x" * 1900, "pad": "y" * 2000}).encode()
    with serving(FakeEngine(), max_body_bytes=2048) as (url, _):
        r = httpx.post(url + "/v1/suggest", content=big, timeout=20)
        assert r.status_code == 413
        assert r.json()["error"] == "body_too_large"

        def chunks():  # no Content-Length: the limit is enforced while reading
            for i in range(0, len(big), 512):
                yield big[i : i + 512]

        r = httpx.post(url + "/v1/suggest", content=chunks(), timeout=20)
        assert r.status_code == 413
        assert r.json()["error"] == "body_too_large"
        ok = post(url, "/v1/suggest", {"description": "x" * 1900})
        assert ok.status_code == 200  # under the limit, same server still answers


def test_overload_gives_429_with_retry_after_never_500() -> None:
    gate = threading.Event()
    eng = FakeEngine(gate=gate)
    settings = {"max_batch_size": 1, "max_queue": 2, "max_wait_ms": 0, "retry_after_s": 3}
    with serving(eng, **settings) as (url, app), ThreadPoolExecutor(3) as pool:  # type: ignore[arg-type]
        first = pool.submit(post, url, "/v1/suggest", {"description": "first"})
        wait_until(eng.started.is_set, "the engine to start the first request")
        queued = [pool.submit(post, url, "/v1/suggest", {"description": d}) for d in "bc"]
        wait_until(lambda: app.state.holder.batcher.depth == 2, "the queue to fill")
        r = post(url, "/v1/suggest", {"description": "one too many"})
        assert r.status_code == 429
        assert r.headers["retry-after"] == "3"
        assert r.json()["error"] == "overloaded"
        r = post(url, "/v1/suggest/batch", {"requests": [{"description": "x"}]})
        assert r.status_code == 429
        gate.set()
        answers = [f.result() for f in [first, *queued]]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert eng.batches == [1, 1, 1]


def test_timeout_gives_504_and_skips_abandoned_requests() -> None:
    gate = threading.Event()
    eng = FakeEngine(gate=gate)
    with serving(eng, max_batch_size=1, max_wait_ms=0, timeout_s=0.3) as (url, _):
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(post, url, "/v1/suggest", {"description": "slow"})
            wait_until(eng.started.is_set, "the engine to start")
            r = post(url, "/v1/suggest", {"description": "abandoned"})  # times out in the queue
            assert r.status_code == 504
            assert r.json()["error"] == "timeout" and "retry" in r.json()["detail"]
            assert "retry-after" in r.headers
            assert first.result().status_code == 504
        gate.set()
        assert post(url, "/v1/suggest", {"description": "after"}).status_code == 200
    # the abandoned request was cancelled in the queue, never generated
    assert eng.batches == [1, 1]


def test_dynamic_batching_groups_concurrent_requests() -> None:
    gate = threading.Event()
    eng = FakeEngine(gate=gate)
    descs = [f"shop {w}" for w in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]]
    settings = {"max_batch_size": 8, "max_wait_ms": 50, "max_queue": 16}
    with serving(eng, **settings) as (url, app), ThreadPoolExecutor(8) as pool:
        first = pool.submit(post, url, "/v1/suggest", {"description": "warm up"})
        wait_until(eng.started.is_set, "the first batch")
        rest = [pool.submit(post, url, "/v1/suggest", {"description": d}) for d in descs]
        wait_until(lambda: app.state.holder.batcher.depth == len(descs), "requests to queue")
        gate.set()
        answers = [f.result() for f in rest]
        assert first.result().status_code == 200
    assert eng.batches == [1, len(descs)]  # the six waiting requests ran as one batch
    for d, a in zip(descs, answers, strict=True):  # each caller got its own answer
        assert a.status_code == 200
        assert a.json() == fake_answer(Request(description=d)).to_dict()


def test_engine_failure_is_isolated_to_the_bad_request() -> None:
    gate = threading.Event()
    eng = FakeEngine(gate=gate, fail_word="boom")
    with (
        serving(eng, max_batch_size=4, max_wait_ms=50) as (url, app),
        ThreadPoolExecutor(3) as pool,
    ):
        first = pool.submit(post, url, "/v1/suggest", {"description": "warm"})
        wait_until(eng.started.is_set, "the first batch")
        bad = pool.submit(post, url, "/v1/suggest", {"description": "boom"})
        good = pool.submit(post, url, "/v1/suggest", {"description": "fine"})
        wait_until(lambda: app.state.holder.batcher.depth == 2, "both to queue")
        gate.set()
        assert first.result().status_code == 200
        assert good.result().status_code == 200
        assert bad.result().status_code == 500
        assert bad.result().json()["error"] == "engine_error"
    assert eng.batches == [1, 2, 1, 1]  # the failed pair was retried one by one


def test_health_and_readiness_follow_background_loading() -> None:
    loaded = threading.Event()
    eng = FakeEngine()

    def loader() -> FakeEngine:
        loaded.wait(20)
        return eng

    with serving(loader, retry_after_s=2) as (url, _):
        h = httpx.get(url + "/healthz")
        assert h.status_code == 200 and h.json() == {"status": "ok", "model": "loading"}
        r = httpx.get(url + "/readyz")
        assert r.status_code == 503 and r.json()["status"] == "loading"
        assert r.headers["retry-after"] == "2"
        s = post(url, "/v1/suggest", {"description": "cafe"})
        assert s.status_code == 503 and s.headers["retry-after"] == "2"
        loaded.set()
        wait_until(lambda: httpx.get(url + "/readyz").status_code == 200, "readiness")
        assert httpx.get(url + "/readyz").json()["model"]["name"] == "fake"
        assert post(url, "/v1/suggest", {"description": "cafe"}).status_code == 200


def test_missing_model_outputs_say_dvc_pull_or_make_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "models" / "improved"
    with pytest.raises(UserError, match=r"dvc pull.*make run"):
        check_model_outputs(missing, None)

    def loader() -> FakeEngine:
        check_model_outputs(missing, None)
        raise AssertionError("unreachable")

    with serving(loader) as (url, _):
        wait_until(lambda: httpx.get(url + "/readyz").json()["status"] == "failed", "failure")
        r = httpx.get(url + "/readyz")
        assert r.status_code == 503 and "dvc pull" in r.json()["detail"]
        s = post(url, "/v1/suggest", {"description": "cafe"})
        assert s.status_code == 503 and "dvc pull" in s.json()["detail"]
        assert s.json()["error"] == "load_failed" and "retry-after" not in s.headers

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--model", str(missing), "--guard", str(tmp_path), "--port", "0"])
    with pytest.raises(UserError, match="dvc pull"):
        run(args)  # fails before binding a port
    from domainllm.cli import main as cli_main  # `domainllm serve` reaches the same check

    assert cli_main(["serve", "--model", str(missing), "--guard", str(tmp_path)]) == 2
    assert "dvc pull" in capsys.readouterr().err
    args = parser.parse_args(["--model", str(tmp_path), "--max-batch-size", "0"])
    with pytest.raises(UserError, match="--max-batch-size"):
        run(args)


def test_serve_options_pick_model_and_engine_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(UserError, match=r"no trained model.*dvc pull"):
        run(parser.parse_args([]))
    Path("models/baseline").mkdir(parents=True)
    assert pick_model(None) == Path("models/baseline")
    Path("params.yaml").write_text("predict:\n  engine:\n    max_label: 12\n    threads: 2\n")
    Path("data/predict/baseline").mkdir(parents=True)
    Path("data/predict/baseline/calibration.json").write_text("{}")
    args = parser.parse_args(["--threads", "1"])
    eng = engine_settings(args, pick_model(None), 4)
    assert (eng.max_label, eng.threads, eng.batch_size) == (12, 1, 4)
    assert eng.calibration == "data/predict/baseline/calibration.json"
    Path("params.yaml").write_text("predict:\n  engine:\n    max_lable: 12\n")
    with pytest.raises(UserError, match=r"predict\.engine\.max_lable"):
        engine_settings(args, Path("models/baseline"), 4)
    Path("params.yaml").unlink()  # no params file: the engine's defaults
    assert engine_settings(args, Path("models/baseline"), 4).max_label > 0
    with pytest.raises(UserError, match="--calibration"):
        engine_settings(parser.parse_args(["--calibration", "nope.json"]), Path("m"), 4)


def test_logs_are_json_without_bodies_or_secrets() -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger(LOGGER_NAME)
    handler, old_level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    secret_desc = "zebra-ultra-private launch plan"
    try:
        with serving(FakeEngine()) as (url, _):
            body = json.dumps({"description": secret_desc}).encode()
            r = httpx.post(
                url + "/v1/suggest",
                content=body,
                timeout=20,
                headers={
                    "authorization": "Bearer sk-topsecret",
                    "content-type": "application/json",
                },
            )
            assert r.status_code == 200
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    events = [json.loads(x) for x in lines]
    assert not any(secret_desc in x or "zebra" in x or "sk-topsecret" in x for x in lines)
    req = next(e for e in events if e["event"] == "request" and e["path"] == "/v1/suggest")
    assert req["status"] == 200 and req["body_bytes"] == len(body)
    assert len(req["body_sha256"]) == 16 and req["request_id"] == r.headers["x-request-id"]
    assert any(e["event"] == "batch" and e["size"] == 1 for e in events)


def test_openapi_schema_documents_the_api() -> None:
    with serving(FakeEngine()) as (url, _):
        spec = httpx.get(url + "/openapi.json").json()
        page = httpx.get(url + "/")
    assert {"/v1/suggest", "/v1/suggest/batch", "/healthz", "/readyz"} <= set(spec["paths"])
    post_op = spec["paths"]["/v1/suggest"]["post"]
    assert {"200", "413", "422", "429", "503", "504"} <= set(post_op["responses"])
    body = post_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    props = spec["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert {"description", "check_availability", "prefer_available"} <= set(props)
    assert page.status_code == 200 and "<form" in page.text


TINY_POLICY = f"""# test policy
```yaml
category: gambling
block: [{UNSAFE_WORD}]
```
"""


@pytest.mark.slow
def test_real_engine_on_the_tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import domainllm.guard
    from domainllm.engine import EngineSettings
    from domainllm.serve.runner import engine_loader
    from domainllm.tiny import make_tiny_model

    policy = tmp_path / "SAFETY_POLICY.md"  # rules-only guard (guard_dir None) from a tiny policy
    policy.write_text(TINY_POLICY)
    monkeypatch.setattr(domainllm.guard, "DEFAULT_POLICY", policy)
    model = make_tiny_model(tmp_path / "tiny")
    settings = EngineSettings(threads=1, retries=0, max_label=8, dtype="fp32")
    with serving(engine_loader(model, None, settings), max_batch_size=4) as (url, _):
        wait_until(lambda: httpx.get(url + "/readyz").json()["status"] != "loading", "load", 60)
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["model"]["name"] == "tiny"
        assert ready.json()["model"]["guard"]["rules_hash"]
        reqs = [
            {"description": "organic coffee shop", "n": 2},
            {"description": "yoga studio", "tlds": "io", "n": 2},
        ]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda b: post(url, "/v1/suggest", b), reqs))
        for a, body in zip(answers, reqs, strict=True):
            assert a.status_code == 200, a.text
            resp = parse_response(a.text)  # valid contract JSON even from random weights
            assert len(resp.suggestions) <= body["n"]
        r = post(url, "/v1/suggest/batch", {"requests": [*reqs, {"description": UNSAFE_WORD}]})
        assert r.status_code == 200 and len(r.json()["responses"]) == 3
        assert r.json()["responses"][2] == {
            "status": "blocked",
            "message": BLOCKED_MESSAGE,
            "suggestions": [],
        }


def test_engine_without_an_active_guard_is_refused() -> None:
    class Unguarded(FakeEngine):
        def info(self) -> dict[str, object]:
            return {"name": "x", "guard": {"rules_hash": None, "classifier": False}}

    with serving(lambda: Unguarded()) as (url, _):
        wait_until(lambda: httpx.get(url + "/readyz").json()["status"] == "failed", "refusal")
        assert "no active guard" in httpx.get(url + "/readyz").json()["detail"]
