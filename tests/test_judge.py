"""The judge: stats against scipy/sklearn, prompts, checks, cache, the local backend on the tiny
model, and the openai backend with the real openai client against a loopback server that
injects 429, 500 and timeouts, including a killed stage that resumes without judging twice."""

from __future__ import annotations

import asyncio
import json
import os
import random
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.responses import JSONResponse

from domainllm.contract import Request
from domainllm.io import read_json, read_jsonl, write_jsonl
from domainllm.judge import stats
from domainllm.judge.backends import Failures, LocalBackend, OpenAIBackend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.checks import check_item, default_embedder, pronounceability, similarities
from domainllm.judge.params import JudgeParams
from domainllm.judge.prompt import JudgeItem, load_judge_prompt
from domainllm.params import ParamsError, validate_section

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "prompts" / "judge"


def item(i: int, desc: str = "organic coffee shop", domains: tuple[str, ...] = ("beanhaven.com",)):
    return JudgeItem(f"t{i}", "test", Request(description=f"{desc} {i}"), domains)


# ---------------------------------------------------------------- stats against reference code


def test_spearman_kappa_accuracy_match_scipy_and_sklearn() -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(1)
    a = [rng.randint(0, 2) for _ in range(60)]  # many ties
    b = [x if rng.random() < 0.6 else rng.randint(0, 2) for x in a]
    c = [x + rng.random() for x in a]
    assert stats.spearman(a, c) == pytest.approx(spearmanr(a, c).statistic, abs=1e-12)
    assert stats.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    for w in (None, "linear", "quadratic"):
        assert stats.cohen_kappa(a, b, w) == pytest.approx(cohen_kappa_score(a, b, weights=w))
    assert stats.accuracy(a, b) == pytest.approx(
        sum(x == y for x, y in zip(a, b, strict=True)) / 60
    )


def test_mcnemar_matches_scipy() -> None:
    from scipy.stats import binomtest, chi2

    for b01, b10 in [(3, 9), (0, 6), (7, 7), (12, 5)]:
        got = stats.mcnemar(b01, b10)
        assert got["exact"]
        assert got["p_value"] == pytest.approx(binomtest(b01, b01 + b10, 0.5).pvalue)
    big = stats.mcnemar(40, 18)
    assert not big["exact"]
    assert big["p_value"] == pytest.approx(chi2.sf((abs(40 - 18) - 1) ** 2 / 58, 1))
    assert stats.mcnemar(0, 0)["p_value"] == 1.0


def test_bootstrap_interval_matches_normal_theory() -> None:
    rng = random.Random(3)
    xs = [rng.gauss(2.0, 1.0) for _ in range(400)]
    ci = stats.bootstrap_ci(xs, n=2000, seed=0)
    m = sum(xs) / len(xs)
    sd = (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5
    half = 1.96 * sd / len(xs) ** 0.5
    assert ci["mean"] == pytest.approx(m, abs=1e-4)
    assert ci["ci_high"] - ci["ci_low"] == pytest.approx(2 * half, rel=0.15)
    assert ci["ci_low"] < m < ci["ci_high"]
    assert stats.bootstrap_ci([])["mean"] is None


def test_paired_bootstrap_detects_shift_and_not_noise() -> None:
    rng = random.Random(5)
    a = [rng.uniform(0, 5) for _ in range(80)]
    shifted = stats.paired_bootstrap(a, [x + 0.5 + rng.gauss(0, 0.3) for x in a], n=1000)
    assert shifted["p_value"] <= 0.002 and shifted["ci_low"] > 0.3
    same = stats.paired_bootstrap(a, [x + rng.gauss(0, 0.3) for x in a], n=1000, seed=1)
    assert same["p_value"] > 0.05 and same["ci_low"] < 0 < same["ci_high"]
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1.0], [1.0, 2.0])


# ---------------------------------------------------------------- prompt, params, checks, cache


def test_prompt_hash_criteria_and_parse(tmp_path: Path) -> None:
    p = load_judge_prompt(PROMPTS)
    assert p.criteria_for(item(0)) == ["relevance", "brandability", "memorability", "adherence"]
    assert "diversity" in p.criteria_for(item(0, domains=("a.com", "b.com")))
    assert p.parse('x {"relevance":4,"adherence":5} y', ["relevance", "adherence"]) == {
        "relevance": 4.0,
        "adherence": 5.0,
    }
    for bad in ['{"relevance":7}', '{"relevance":"high"}', "no json", '{"other":1}']:
        with pytest.raises(ValueError):
            p.parse(bad, ["relevance"])
    copy = tmp_path / "judge"
    shutil.copytree(PROMPTS, copy)
    assert load_judge_prompt(copy).hash == p.hash
    (copy / "rubric.yaml").write_text(
        (copy / "rubric.yaml").read_text().replace("strong, original", "very strong")
    )
    assert load_judge_prompt(copy).hash != p.hash


def test_params_errors_are_one_line() -> None:
    with pytest.raises(ParamsError, match=r"judge\.backend"):
        validate_section({"backend": "gpt"}, "judge", JudgeParams)
    with pytest.raises(ParamsError, match=r"unknown key 'judge\.api_key'"):
        validate_section({"api_key": "sk-x"}, "judge", JudgeParams)


def test_deterministic_checks() -> None:
    assert pronounceability("beanhaven") > pronounceability("xqzvbrt")
    req = Request(description="coffee", tlds=[".com"])
    c = check_item(JudgeItem("a", "test", req, ("bean-haven.com", "beans.io", "beans.io")))
    assert c["valid"] == 1.0 and c["constraints"] == 0.0 and c["duplicates"] == 1
    emb = default_embedder()
    sims = similarities(
        [
            item(0, "organic coffee shop roasting beans", ("coffeebeans.com",)),
            item(0, "organic coffee shop roasting beans", ("tirerepair.com",)),
        ],
        emb,
    )
    assert sims[0] > sims[1] + 0.1


def test_cache_scoped_by_backend_model_and_prompt(tmp_path: Path) -> None:
    c1 = JudgeCache(tmp_path, "local", "m@1", "p1")
    c1.put_many({"k": {"scores": {"relevance": 3.0}, "error": None}})
    c1.close()
    assert JudgeCache(tmp_path, "local", "m@1", "p1").get_many(["k", "x"]) == {
        "k": {"scores": {"relevance": 3.0}, "error": None}
    }
    assert JudgeCache(tmp_path, "local", "m@1", "p2").get_many(["k"]) == {}
    assert JudgeCache(tmp_path, "openai", "m@1", "p1").get_many(["k"]) == {}


# ---------------------------------------------------------------- local backend (tiny model)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safetensors.torch import load_file, save_file

    from domainllm.tiny import make_tiny_model

    d = make_tiny_model(tmp_path_factory.mktemp("tiny"))
    # Larger weights make the random model sensitive to context, so padding or position
    # mistakes in the batched, prefix-cached path would change the scores.
    w = {k: v * 4 if v.dim() == 2 else v for k, v in load_file(d / "model.safetensors").items()}
    save_file(w, d / "model.safetensors", metadata={"format": "pt"})
    return d


def test_local_batched_prefix_cache_matches_one_by_one(tiny_dir: Path) -> None:
    p = load_judge_prompt(PROMPTS)
    items = [item(i, "coffee shop " * (i + 1), ("beanhaven.com", "roastly.com")) for i in range(4)]
    crit = p.criteria_for(items[0])
    batched = LocalBackend(p, tiny_dir, batch_size=4, threads=1, dtype="float32")
    single = LocalBackend(p, tiny_dir, batch_size=1, threads=1, share_prefix=False, dtype="float32")
    got, mass = batched.score_raw(items, crit)
    ref = [single.score_raw([it], crit)[0][0] for it in items]
    spread = max(abs(got[0][c] - g[c]) for g in got[1:] for c in crit)
    assert spread > 1e-4  # items differ, so the comparison below can fail
    for g, r in zip(got, ref, strict=True):
        assert g == pytest.approx(r, abs=1e-5)
    assert all(0 < m <= 1 for m in mass)
    verdicts = batched.judge_batch([item(9), *items])
    assert "diversity" not in verdicts[0].scores and "diversity" in verdicts[1].scores
    assert all(0 <= s <= 5 for v in verdicts for s in v.scores.values())


# ---------------------------------------------------------------- openai backend (loopback)


class FakeJudgeServer:
    """An OpenAI-compatible chat completions server; injects failures from a queue."""

    def __init__(self) -> None:

        self.inject: list[str] = []  # "429", "500", "400", "slow", "garbage", "stall"
        self.calls: list[tuple[str, str]] = []  # (description, outcome)
        self.auth: set[str] = set()
        self.stall_release = threading.Event()
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(req: HTTPRequest) -> Any:
            body = await req.json()
            self.auth.add(req.headers.get("authorization", ""))
            user = body["messages"][-1]["content"]
            desc = user.splitlines()[0].removeprefix("Business description: ")
            mode = self.inject.pop(0) if self.inject else "ok"
            self.calls.append((desc, mode))
            if mode == "429":
                return JSONResponse({"error": {"message": "slow down"}}, 429, {"retry-after": "0"})
            if mode in ("500", "400"):
                return JSONResponse({"error": {"message": "boom"}}, int(mode))
            if mode == "slow":
                await asyncio.sleep(1.5)
            if mode == "stall":
                while not self.stall_release.is_set():
                    await asyncio.sleep(0.05)
            n = len(desc) % 6
            keys = ["relevance", "brandability", "memorability", "adherence", "diversity"]
            content = "sure" if mode == "garbage" else json.dumps({k: n for k in keys})
            return {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cfg = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answered(self) -> list[str]:
        return [d for d, mode in self.calls if mode == "ok"]

    def stop(self) -> None:
        self.stall_release.set()
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-test-secret-123")
    srv = FakeJudgeServer()
    yield srv
    srv.stop()


def openai_backend(server: FakeJudgeServer, failures: Failures, **kw: Any) -> OpenAIBackend:
    args = {
        "model": "judge-1",
        "base_url": server.base_url,
        "api_key_env": "JUDGE_TEST_KEY",
        "timeout_s": 0.5,
        "max_retries": 3,
        "backoff_s": 0.01,
        "concurrency": 1,
    } | kw
    return OpenAIBackend(load_judge_prompt(PROMPTS), failures=failures, **args)


def test_openai_retries_429_500_and_timeout_then_succeeds(server: FakeJudgeServer) -> None:
    failures = Failures()
    backend = openai_backend(server, failures)
    server.inject = ["429", "500", "slow"]
    [v] = backend.judge_batch([item(1)])
    assert v.error is None and set(v.scores) == set(backend.prompt.criteria_for(item(1)))
    assert [m for _, m in server.calls] == ["429", "500", "slow", "ok"]
    f = failures.as_dict()
    assert (f["rate_limited"], f["server_error"], f["timeout"], f["total_calls_failed"]) == (
        1,
        1,
        1,
        3,
    )
    assert server.auth == {"Bearer sk-test-secret-123"}


def test_openai_gives_up_counts_and_does_not_retry_400(server: FakeJudgeServer) -> None:
    failures = Failures()
    backend = openai_backend(server, failures, max_retries=1)
    server.inject = ["500", "500", "400", "garbage"]
    v1, v2, v3 = backend.judge_batch([item(1), item(2), item(3)])
    assert "server_error after 2 attempts" in v1.error
    assert "HTTP 400" in v2.error and v3.error.startswith("unparseable")
    assert len(server.calls) == 4  # 2 for the 500s, 1 for the 400, 1 for the garbage reply
    f = failures.as_dict()
    assert (f["server_error"], f["client_error"], f["unparseable"]) == (2, 1, 1)


def test_openai_key_must_be_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from domainllm.params import UserError

    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(UserError, match="NO_SUCH_KEY_VAR"):
        OpenAIBackend(
            load_judge_prompt(PROMPTS), "m", "http://127.0.0.1:9/v1", "NO_SUCH_KEY_VAR",
            1.0, 0, 0.0, 1, Failures(),
        )  # fmt: skip


def _stage_dir(tmp: Path, base_url: str, n: int) -> Path:
    """A working dir for stages/judge.py: params.yaml and predict rows (half test, half edge)."""
    params = JudgeParams(
        backend="openai", model="judge-1", base_url=base_url, api_key_env="JUDGE_TEST_KEY",
        batch_size=1, max_items=0, timeout_s=20, max_retries=2, backoff_s=0.01, bootstrap=200,
    ).model_dump()  # fmt: skip
    (tmp / "params.yaml").write_text(yaml.safe_dump({"judge": params}))
    rows = []
    for i in range(n):
        doms = [f"bean{i}{c}.com" for c in "abc"]
        rows.append(
            {
                "id": f"r{i}",
                "suite": "test" if i % 2 else "edge",
                "request": {"description": f"coffee shop number {i}", "n": 3},
                "meta": {},
                "expected": "success",
                "response": {
                    "status": "success",
                    "suggestions": [{"domain": d, "confidence": 0.9} for d in doms],
                },
            }
        )
    blocked = dict(rows[0], id="rb", response={"status": "blocked", "suggestions": []})
    write_jsonl(tmp / "pred" / "test.jsonl", [r for r in rows if r["suite"] == "test"])
    write_jsonl(tmp / "pred" / "edge.jsonl", [r for r in rows if r["suite"] == "edge"] + [blocked])
    return tmp


STAGE_ARGS = [
    "--iteration", "baseline", "--predict", "pred", "--model-dir", "no-model",
    "--prompts", str(PROMPTS), "--cache", "cache/judge", "--out", "out/judge.jsonl",
    "--metrics", "out/metrics.json",
]  # fmt: skip


def _run_in_process(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run stages/judge.py in this process (torch and MiniLM are already loaded here)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["judge.py", *STAGE_ARGS])
    runpy.run_path(str(ROOT / "stages" / "judge.py"), run_name="__main__")


def _run_stage(cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "stages" / "judge.py"), *STAGE_ARGS]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(cmd, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_killed_stage_resumes_without_judging_twice(
    server: FakeJudgeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 6
    cwd = _stage_dir(tmp_path, server.base_url, n)
    server.inject = ["ok", "ok", "ok", "stall"]  # the 4th request hangs until we kill the stage
    proc = _run_stage(cwd)
    deadline = time.time() + 60
    while len(server.calls) < 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert len(server.calls) == 4, proc.stderr.read() if proc.poll() is not None else "timeout"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.stall_release.set()
    first = server.answered()
    assert len(first) == 3 and not (cwd / "out" / "metrics.json").exists()

    _run_in_process(cwd, monkeypatch)  # the resumed run
    second = server.answered()[3:]
    assert len(second) == n - 3  # only what was not judged before
    assert sorted(first + second) == sorted(f"coffee shop number {i}" for i in range(n))

    rows = read_jsonl(cwd / "out" / "judge.jsonl")
    assert {r["id"] for r in rows} == {f"r{i}" for i in range(n)}
    assert all(r["error"] is None and len(r["scores"]) == 5 for r in rows)
    m = read_json(cwd / "out" / "metrics.json")
    assert (m["run"]["cached"], m["run"]["judged_now"], m["n"]) == (3, 3, n)
    assert m["skipped"] == {"blocked": 1, "empty": 0}
    assert m["judge"]["backend"] == "openai" and len(m["judge"]["prompt_hash"]) == 12
    assert m["composite"]["ci_low"] <= m["composite"]["mean"] <= m["composite"]["ci_high"]
    for f in (cwd / "out").iterdir():  # the key never reaches an output
        assert "sk-test-secret-123" not in f.read_text()

    calls = len(server.calls)  # a rerun with nothing new makes no request at all
    _run_in_process(cwd, monkeypatch)
    assert len(server.calls) == calls


def test_judge_validate_stage_on_tiny_model(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jp = JudgeParams(batch_size=4, threads=1).model_dump()
    vp = {"backends": ["checks", "local"], "max_items": 12}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"judge": jp, "judge_validate": vp}))
    monkeypatch.chdir(tmp_path)
    args = [
        "--gold", str(ROOT / "data" / "gold" / "judge_gold.jsonl"), "--model-dir", str(tiny_dir),
        "--prompts", str(PROMPTS), "--cache", "cache", "--metrics", "m.json",
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["judge_validate.py", *args])
    runpy.run_path(str(ROOT / "stages" / "judge_validate.py"), run_name="__main__")
    m = read_json(tmp_path / "m.json")
    assert m["n_gold"] == 12 and m["local"]["n"] == 12 and m["checks"]["n"] == 12
    for name in ("checks", "local"):
        assert -1 <= m[name]["cohen_kappa"] <= 1 and 0 <= m[name]["accuracy"] <= 1
        assert sum(sum(r.values()) for r in m[name]["confusion_gold_to_pred"].values()) == 12
    assert m["local"]["run"]["judged_now"] == 12 and m["local"]["failures"]["failed_items"] == 0


def test_gold_set_is_large_labelled_and_covers_failure_kinds() -> None:
    rows = read_jsonl(ROOT / "data" / "gold" / "judge_gold.jsonl")
    assert len(rows) >= 150 and len({r["id"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"good", "ok", "bad"}
    kinds = {"irrelevant", "gibberish", "too_long", "constraint_broken", "awkward_blend", "generic"}
    assert kinds <= {r["kind"] for r in rows}
    from domainllm.contract import constraint_problems, domain_problems

    for r in rows:  # the constraint labels agree with the contract's own rules
        req = Request(**r["request"])
        broken = domain_problems(r["domain"]) + constraint_problems(r["domain"], req)
        assert bool(broken) == (r["kind"] == "constraint_broken"), r["id"]
