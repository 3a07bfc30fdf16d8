"""The name judge: stats against scipy/sklearn, checklist, features, calibration, agreement, cache,
the local checklist backend on the tiny model, and the openai backend with the real openai
client against a loopback server that injects 429, 500 and timeouts, including a killed stage
that resumes without judging twice, and the out-of-fold agreement on the team's gold set."""

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

from domainllm import stats
from domainllm.contract import Request
from domainllm.io import read_json, read_jsonl, write_jsonl
from domainllm.judge.backends import Failures, LocalBackend, OpenAIBackend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.calibrate import Calibration, fit, folds, out_of_fold
from domainllm.judge.checklist import JudgeItem, load_checklist
from domainllm.judge.embed import default_embedder
from domainllm.judge.features import (
    GROUPS,
    add_filler,
    add_relevance,
    load_lexicon,
    name_features,
    pronounceability,
    word_spread,
)
from domainllm.judge.params import JudgeParams, JudgeValidateParams
from domainllm.judge.validate import agreement, load_gold, pairwise_accuracy
from domainllm.params import ParamsError, load_section, validate_section

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "prompts" / "judge"


LEX = load_lexicon(PROMPTS / "lexicon.yaml")
DET = [f for g in GROUPS.values() for f in g]


def item(i: int, desc: str = "organic coffee shop", domain: str = "beanhaven.com") -> JudgeItem:
    return JudgeItem(f"t{i}", "test", Request(description=f"{desc} {i}"), domain)


# ---------------------------------------------------------------- stats against reference code


def test_mcnemar_matches_the_textbook_formulas() -> None:
    """Exact: twice the binomial(m, 1/2) tail of the smaller discordant count; else the
    continuity-corrected chi-square, whose survival at 1 dof is erfc(sqrt(x / 2))."""
    import math

    for b01, b10 in [(3, 9), (0, 6), (7, 7), (12, 5)]:
        got = stats.mcnemar(b01, b10)
        m, k = b01 + b10, min(b01, b10)
        assert got["exact"]
        tail = sum(math.comb(m, i) for i in range(k + 1)) / 2**m
        assert got["p_value"] == pytest.approx(min(1.0, 2 * tail))
    big = stats.mcnemar(40, 18)
    assert not big["exact"]
    assert big["p_value"] == pytest.approx(math.erfc(math.sqrt((abs(40 - 18) - 1) ** 2 / 58 / 2)))
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


def test_checklist_hash_and_parse(tmp_path: Path) -> None:
    p = load_checklist(PROMPTS)
    assert p.keys == ["relevant", "real_words", "easy"]
    assert "beanhaven.com (reads as: bean haven)" in p.user(item(0))
    reply = json.dumps({k: k == "relevant" for k in p.keys})
    assert p.parse("x " + reply + " y") == {k: float(k == "relevant") for k in p.keys}
    for bad in ['{"relevant": 1}', '{"relevant": "yes"}', "no json", '{"other": true}']:
        with pytest.raises(ValueError):
            p.parse(bad)
    copy = tmp_path / "judge"
    shutil.copytree(PROMPTS, copy)
    assert load_checklist(copy).hash == p.hash
    f = copy / "checklist.yaml"
    f.write_text(f.read_text().replace("clearly relates", "relates"))
    assert load_checklist(copy).hash != p.hash


def test_params_errors_are_one_line() -> None:
    with pytest.raises(ParamsError, match=r"judge\.backend"):
        validate_section({"backend": "gpt"}, "judge", JudgeParams)
    with pytest.raises(ParamsError, match=r"unknown key 'judge\.api_key'"):
        validate_section({"api_key": "sk-x"}, "judge", JudgeParams)


def _flags(domain: str, desc: str = "artisan bakery selling sourdough bread", **req: Any) -> dict:
    f = name_features(domain, Request(description=desc, **req), LEX)
    return {k for k, v in f.items() if k in ("invalid", "constraint_broken", "bare", "brand",
            "unsafe_word", "repeated", "misspelling", "dictionary_word", "too_long")
            and v}  # fmt: skip


def test_name_features_flag_what_experts_reject() -> None:
    assert pronounceability("beanhaven") > pronounceability("xqzvbrt")
    assert _flags("crumbandcrust.com") == set()
    assert _flags("ai.ai", tlds=[".ai"]) == {"bare", "dictionary_word"}
    assert _flags("hiltonbakes.com") == {"brand"} and _flags("starbuks.com") >= {"brand"}
    assert _flags("apple.com") == {"brand", "dictionary_word"}
    assert _flags("appleorchardbakes.com") == set()  # an everyday brand word only as a whole
    assert _flags("killcrumbs.com") == {"unsafe_word"}
    assert _flags("killcrumbs.com", "pest control that kills crumbs") == set()  # echoes request
    assert _flags("breadbread.com") == {"repeated"}
    assert _flags("veeganloaf.com") == {"misspelling"} and _flags("chldcare.com") >= {"misspelling"}
    assert _flags("bread.com") == {"dictionary_word"}
    assert _flags("bread-co.com") == {"constraint_broken"}
    assert _flags("bread-co.com", allow_hyphens=True) == set()
    assert _flags("breadloaf.co.uk") == {"constraint_broken"}
    assert _flags("bestsourdoughbreadbakeryintown.com") == {"too_long"}
    rows = [{"description": "organic coffee shop roasting beans", "domain": d,
             "features": name_features(d, Request(description="coffee"), LEX)}
            for d in ("roastedbean.com", "tirerepair.com", "pizzapalace.com")]  # fmt: skip
    add_relevance(rows, default_embedder())
    coffee, tire, pizza = (r["features"] for r in rows)
    assert coffee["rel_phrase"] > tire["rel_phrase"] + 0.1
    assert coffee["rel_contrast"] > pizza["rel_contrast"]


def test_name_features_read_a_multi_label_suffix_as_the_suffix() -> None:
    uk = {"tlds": [".co.uk"]}
    assert _flags("bakery.co.uk", **uk) == {"dictionary_word"}  # the label is 'bakery'
    assert _flags("crumbandcrust.co.uk", **uk) == set()
    assert _flags("crumbandcrust.co.uk", tlds=[".uk"]) == {"constraint_broken"}
    assert _flags("crumbandcrust.uk", tlds=[".co.uk"]) == {"constraint_broken"}
    f = name_features("bakery.co.uk", Request(description="bakery", **uk), LEX)
    assert f["length"] == 6.0 and f["invalid"] == 0.0
    # the echoed word of '.co.uk' is 'uk', not the 'co' that cocoa and coffee contain
    echo = [name_features(d, Request(description="cocoa bakery", **uk), LEX)["tld_echo"]
            for d in ("cocoabakes.co.uk", "ukcocoa.co.uk")]  # fmt: skip
    assert echo == [0.0, 1.0]


def test_lexicon_errors_are_one_line(tmp_path: Path) -> None:
    from domainllm.params import UserError

    (tmp_path / "lex.yaml").write_text("brands: nike\nbrand_words: []\nunsafe_words: []\n")
    with pytest.raises(UserError, match="'brands' must be a list"):
        load_lexicon(tmp_path / "lex.yaml")


def test_pairwise_accuracy_and_agreement_by_hand() -> None:
    # request a: good > ok > bad ordered right (3 pairs); request b: one pair wrong, one tie
    groups, gold = ["a", "a", "a", "b", "b", "b"], [2, 1, 0, 2, 0, 1]
    scores = [0.9, 0.5, 0.1, 0.2, 0.4, 0.2]
    assert pairwise_accuracy(groups, gold, scores) == round((3 + 0 + 0.5 + 0) / 6, 4)
    req = {"description": "x"}
    pairs = [("good", "good"), ("ok", "generic"), ("bad", "gibberish"), ("bad", "brand")]
    rows = [{"request": req, "label": lab, "kind": k} for lab, k in pairs]
    vs = [{"label": lab, "score": s} for lab, s in
          [("good", 0.9), ("ok", 0.6), ("bad", 0.1), ("ok", 0.7)]]  # fmt: skip
    a = agreement(rows, vs)
    assert a["accuracy"] == 0.75 and a["pairwise_accuracy"] == 0.8 and a["bad_below_good"]  # 4 of 5
    assert a["confusion_gold_to_pred"]["bad"] == {"bad": 1, "ok": 1, "good": 0}
    assert a["by_kind"]["brand"] == {"label": "bad", "n": 1, "mean_score": 0.7}


def test_calibration_gates_folds_and_roundtrip() -> None:
    rows = [{"x": float(i % 3), "bare": 0.0} for i in range(30)]
    labels = ["bad", "ok", "good"] * 10
    cal = fit(rows, labels, ["x", "bare"])
    assert [v["label"] for v in cal.judge(rows[:3])] == ["bad", "ok", "good"]
    gated = cal.judge([{"x": 2.0, "bare": 1.0}])[0]
    assert gated["label"] == "bad" and gated["gates"] == ["bare"] and gated["score"] <= 0.02
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again.judge(rows) == cal.judge(rows)
    groups = [f"req{i // 3}" for i in range(30)]
    f = folds(groups, 5, 0)
    assert all(len({f[i] for i in range(30) if groups[i] == g}) == 1 for g in set(groups))
    oof = out_of_fold(rows, labels, groups, ["x", "bare"], k=5)
    assert len(oof) == 30 and all(v["label"] in ("bad", "ok", "good") for v in oof)


def test_binned_calibration_learns_a_middle_band_and_roundtrips() -> None:
    """With bins the regression can call the middle of a feature good and both ends bad (a
    name too short or too long), which a straight line cannot; edges survive the JSON."""
    rows = [{"length": float(n), "bare": 0.0} for n in range(4, 22) for _ in range(4)]
    labels = ["good" if 8 <= r["length"] <= 12 else "bad" for r in rows]
    plain = fit(rows, labels, ["length", "bare"])
    binned = fit(rows, labels, ["length", "bare"], C=1.0, bins=6)
    assert set(binned.edges) == {"length"} and len(binned.edges["length"]) == 5  # flags: none
    probe = [{"length": v, "bare": 0.0} for v in (4.0, 10.0, 21.0)]
    assert [v["label"] for v in binned.judge(probe)] == ["bad", "good", "bad"]
    assert [v["label"] for v in plain.judge(probe)] != ["bad", "good", "bad"]
    again = Calibration.from_dict(json.loads(json.dumps(binned.to_dict())))
    assert again.judge(rows) == binned.judge(rows)
    # a calibration written before bins existed (no "edges") still loads and applies
    old = {k: v for k, v in plain.to_dict().items() if k != "edges"}
    assert Calibration.from_dict(old).judge(rows) == plain.judge(rows)
    oof = out_of_fold(rows, labels, [f"r{i % 9}" for i in range(len(rows))], ["length"], bins=4)
    assert sum(v["label"] == lab for v, lab in zip(oof, labels, strict=True)) > 0.8 * len(rows)


def test_load_gold_turns_bad_rows_into_errors(tmp_path: Path) -> None:
    good = {"id": "a", "request": {"description": "tea room"}, "domain": "leafy.com",
            "label": "good", "kind": "good"}  # fmt: skip
    lines = [json.dumps(good), "{oops", json.dumps(good | {"label": "great"}),
             json.dumps(good | {"request": {"description": " "}}),
             json.dumps(good | {"id": "b", "domain": "Brew.COM"})]  # fmt: skip
    (tmp_path / "g.jsonl").write_text("\n".join(lines) + "\n")
    rows, items, errors = load_gold(tmp_path / "g.jsonl")
    assert [r["id"] for r in rows] == ["a", "b"] and items[1].domain == "brew.com"
    assert [e.split(": ")[0] for e in errors] == [f"{tmp_path}/g.jsonl:{n}" for n in (2, 3, 4)]
    assert "request.description" in errors[2]
    # multi-label suffixes are valid requests; odd values are errors naming the field, no crash
    uk = good | {"id": "uk", "request": {"description": "tea room", "tlds": [".co.uk"]},
                 "domain": "leafy.co.uk"}  # fmt: skip
    odd = [good | {"label": ["good"]}, good | {"kind": {"x": 1}},
           {"label": "ok", "domain": "a.com"},
           good | {"request": {"description": "tea", "tlds": [".c"]}}, "[1, 2]"]  # fmt: skip
    lines = [json.dumps(uk)] + [x if isinstance(x, str) else json.dumps(x) for x in odd]
    (tmp_path / "h.jsonl").write_text("\n".join(lines) + "\n")
    rows, items, errors = load_gold(tmp_path / "h.jsonl")
    assert [r["id"] for r in rows] == ["uk"] and items[0].request.tlds == [".co.uk"]
    assert [e.split(": ", 1)[1].split(" ")[0] for e in errors] == [
        "label", "kind", "request", "request.tlds:", "a"]  # fmt: skip
    assert [e.split(": ")[0] for e in errors] == [f"{tmp_path}/h.jsonl:{n}" for n in range(2, 7)]


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
    p = load_checklist(PROMPTS)
    # two requests, two names each (different lengths): batches share a request's prefix
    items = [JudgeItem(f"t{i}", "test", Request(description="coffee shop " * (1 + i // 2)),
                       ("bean" * (1 + i)) + "haven.com") for i in range(4)]  # fmt: skip
    batched = LocalBackend(p, tiny_dir, batch_size=4, threads=1, dtype="float32")
    single = LocalBackend(p, tiny_dir, batch_size=1, threads=1, share_prefix=False, dtype="float32")
    got = [a for pair in (items[:2], items[2:]) for a in batched.answer_raw(pair)[0]]
    mass = batched.answer_raw(items[:2])[1]
    ref = [single.answer_raw([it])[0][0] for it in items]
    spread = max(abs(got[0][k] - g[k]) for g in got[1:] for k in p.keys)
    assert spread > 1e-4  # items differ, so the comparison below can fail
    for g, r in zip(got, ref, strict=True):
        assert g == pytest.approx(r, abs=1e-5)
    assert all(0 < m <= 1 for m in mass)
    verdicts = batched.judge_batch([item(9), *items])
    assert all(set(v.scores) == set(p.keys) for v in verdicts)
    assert all(0 <= s <= 1 for v in verdicts for s in v.scores.values())


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
            desc = user.splitlines()[0].removeprefix("Business: ")
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
            keys = load_checklist(PROMPTS).keys
            answer = {k: (len(desc) % 2 == 0) == (k == "relevant") for k in keys}
            content = "sure" if mode == "garbage" else json.dumps(answer)
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
    return OpenAIBackend(load_checklist(PROMPTS), failures=failures, **args)


def test_openai_retries_429_500_and_timeout_then_succeeds(server: FakeJudgeServer) -> None:
    failures = Failures()
    backend = openai_backend(server, failures)
    server.inject = ["429", "500", "slow"]
    [v] = backend.judge_batch([item(1)])
    assert v.error is None and set(v.scores) == set(backend.prompt.keys)
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
            load_checklist(PROMPTS), "m", "http://127.0.0.1:9/v1", "NO_SUCH_KEY_VAR",
            1.0, 0, 0.0, 1, Failures(),
        )  # fmt: skip


def _stage_dir(tmp: Path, base_url: str, n: int) -> Path:
    """A working dir for stages/judge.py: params.yaml and predict rows (half test, half edge)."""
    params = JudgeParams(
        checklist=True, backend="openai", model="judge-1", base_url=base_url,
        api_key_env="JUDGE_TEST_KEY",
        batch_size=1, max_items=0, timeout_s=20, max_retries=2, backoff_s=0.01, bootstrap=200,
    ).model_dump()  # fmt: skip
    (tmp / "params.yaml").write_text(yaml.safe_dump({"judge": params}))
    rows = []
    for i in range(n):
        doms = ["emberroast.com", "copperbean.com", "hearthcup.com"]
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
    feats = DET + [f"ask_{k}" for k in load_checklist(PROMPTS).keys]
    coef = [[0.0] * len(feats) for _ in range(3)]
    coef[2][feats.index("ask_relevant")] = 2.0  # good when the checklist says relevant
    cal = Calibration(feats, [0.5] * len(feats), [1.0] * len(feats), coef, [0.0, 0.0, 0.0], 1.0)
    (tmp / "cal.json").write_text(json.dumps(cal.to_dict()))
    return tmp


STAGE_ARGS = [
    "--iteration", "baseline", "--predict", "pred", "--model-dir", "no-model",
    "--prompts", str(PROMPTS), "--bank", str(ROOT / "data" / "naming"),
    "--calibration", "cal.json", "--cache", "cache/judge",
    "--out", "out/judge.jsonl",
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
    assert len(second) == 3 * n - 3  # only the names not judged before
    descs = sorted(f"coffee shop number {i}" for i in range(n) for _ in range(3))
    assert sorted(first + second) == descs

    rows = read_jsonl(cwd / "out" / "judge.jsonl")
    assert {r["id"] for r in rows} == {f"r{i}" for i in range(n)}
    assert all(r["error"] is None and len(r["names"]) == 3 for r in rows)
    for r in rows:  # the checklist's answer decides the label through the calibration
        even = len(r["description"]) % 2 == 0
        assert {x["label"] for x in r["names"]} == ({"good"} if even else {"bad"}), r
    m = read_json(cwd / "out" / "metrics.json")
    assert (m["run"]["cached"], m["run"]["judged_now"], m["n"], m["n_names"]) == (3, 15, n, 18)
    assert m["skipped"] == {"blocked": 1, "empty": 0}
    assert m["judge"]["backend"] == "openai" and len(m["judge"]["checklist"]) == 12
    good = m["names_good"]
    assert good["lo"] <= good["value"] <= good["hi"] and good["n"] == 18
    assert m["requests_2_good"]["k"] == sum(len(r["description"]) % 2 == 0 for r in rows)
    for f in (cwd / "out").iterdir():  # the key never reaches an output
        assert "sk-test-secret-123" not in f.read_text()

    calls = len(server.calls)  # a rerun with nothing new makes no request at all
    _run_in_process(cwd, monkeypatch)
    assert len(server.calls) == calls


def test_judge_validate_stage_on_tiny_model(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jp = JudgeParams(batch_size=4, threads=1).model_dump()
    vp = {"folds": 3, "C": 1.0, "seed": 0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"judge": jp, "judge_validate": vp}))
    gold = read_jsonl(ROOT / "data" / "gold" / "judge_gold.jsonl")[:40]  # 6 requests
    write_jsonl(tmp_path / "gold.jsonl", gold)
    monkeypatch.chdir(tmp_path)
    args = [
        "--gold", "gold.jsonl", "--model-dir", str(tiny_dir), "--prompts", str(PROMPTS),
        "--bank", str(ROOT / "data" / "naming"),
        "--cache", "cache", "--out", "cal.json", "--metrics", "m.json",
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["judge_validate.py", *args])
    runpy.run_path(str(ROOT / "stages" / "judge_validate.py"), run_name="__main__")
    m = read_json(tmp_path / "m.json")
    oof = m["out_of_fold"]
    assert m["n_gold"] == 40 and oof["n"] == 40 and m["n_requests"] >= 5
    assert -1 <= oof["kappa"] <= 1 and 0 <= oof["pairwise_accuracy"] <= 1
    assert sum(sum(r.values()) for r in oof["confusion_gold_to_pred"].values()) == 40
    assert set(m["ablation"]) == {"all", *(f"without {g}" for g in [*GROUPS, "checklist"])}
    assert m["checklist_run"]["judged_now"] == 40 and m["failures"]["failed_items"] == 0
    cal = Calibration.from_dict(read_json(tmp_path / "cal.json"))
    assert "ask_relevant" in cal.features and len(cal.coef) == 3


@pytest.fixture(scope="module")
def gold_agreement() -> dict:
    """The deterministic judge alone, cross-validated by request on the team's gold set
    (computed once for the floor and the target tests)."""
    rows, items, errors = load_gold(ROOT / "data" / "gold" / "judge_gold.jsonl")
    assert not errors
    feats = [{"description": it.request.description, "domain": it.domain,
              "features": name_features(it.domain, it.request, LEX)} for it in items]  # fmt: skip
    add_relevance(feats, default_embedder())
    from domainllm.synth.bank import load_bank

    add_filler(feats, word_spread(load_bank(ROOT / "data" / "naming", PROMPTS / "lexicon.yaml")
                                  .industries))  # fmt: skip
    groups = [r["request"]["description"] for r in rows]
    # the calibration as params.yaml configures it (C, quantile bins, folds, seed)
    vp = load_section("judge_validate", JudgeValidateParams, ROOT / "params.yaml")
    oof = out_of_fold([f["features"] for f in feats], [r["label"] for r in rows], groups, DET,
                      vp.folds, vp.seed, vp.C, vp.bins)  # fmt: skip
    return agreement(rows, oof)


@pytest.mark.slow
def test_judge_agrees_with_gold_out_of_fold(gold_agreement: dict) -> None:
    """Out-of-fold agreement stays above its measured floor."""
    a = gold_agreement
    # A floor against regressions, at what the deterministic judge reaches on the 1396-row gold
    # (Spearman 0.614, kappa 0.501, pairwise 0.773 with quantile bins, judge_validate.bins: 6;
    # 0.605 / 0.483 / 0.780 with the plain regression; 0.594 / 0.478 / 0.771 over the bank
    # before its pruning of 2026-12-03). Each growth of
    # the gold with reviewed model outputs made it harder: 0.61 / 0.60 / 0.844 on 1033 rows,
    # 0.604 / 0.522 / 0.829 on 1170, then the 226 names of the two reviews of 2026-12-03 (mostly
    # `ok` outputs the judge scores level with good ones). On the same 1396 rows without the
    # filler features: 0.587 / 0.459 / 0.762. The issue's targets are in
    # test_judge_meets_the_issue_targets_on_gold, which is expected to fail for now.
    assert a["spearman"] >= 0.57 and a["kappa"] >= 0.46 and a["pairwise_accuracy"] >= 0.75
    # Every bad kind scores below the written good names. Not asserted: below the 6 reviewed
    # good outputs too; `other_business` (a good name for a neighbouring business) is level
    # with them, the judge's known weakness (README).
    kinds = a["by_kind"]
    assert (
        max(v["mean_score"] for v in kinds.values() if v["label"] == "bad")
        < kinds["good"]["mean_score"]
    )


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="judge issue open: pairwise 0.773 < 0.85 (kappa 0.501, Spearman 0.614 pass), the 3 "
    "bank names rated bad score above the bank's good ones, and on real outputs the judge is "
    "near chance (README)",
)
def test_judge_meets_the_issue_targets_on_gold(gold_agreement: dict) -> None:
    """The judge issue's targets, out-of-fold on the gold set (strict: passing flags the fix)."""
    a = gold_agreement
    assert a["spearman"] >= 0.6 and a["kappa"] >= 0.5 and a["pairwise_accuracy"] >= 0.85
    assert a["bad_below_good"]


def test_gold_set_is_large_labelled_and_covers_failure_kinds() -> None:
    rows = read_jsonl(ROOT / "data" / "gold" / "judge_gold.jsonl")
    assert len(rows) >= 800 and len({r["id"] for r in rows}) == len(rows)
    assert sum(r["kind"].startswith("output_") for r in rows) >= 250  # reviewed model outputs
    assert len({r["request"]["description"] for r in rows}) >= 80
    assert {r["label"] for r in rows} == {"good", "ok", "bad"}
    kinds = {"irrelevant", "gibberish", "too_long", "constraint_broken", "awkward_blend", "generic",
             "bare_tld", "unrelated_word", "letter_swap", "misspelling", "unsafe_word",
             "famous_brand", "other_business", "multi_label"}  # fmt: skip
    assert kinds <= {r["kind"] for r in rows}
    for r in rows:  # the constraint labels agree with the judge's constraint check
        f = name_features(r["domain"], Request(**r["request"]), LEX)
        if r["kind"].startswith("output_"):  # reviewed model outputs: broken ones are bad
            assert not f["constraint_broken"] or r["label"] == "bad", r["id"]
            continue
        broken_kind = r["kind"] in ("constraint_broken", "multi_label")
        assert f["constraint_broken"] == broken_kind, r["id"]


# ---------------------------------------------------------------- pairwise comparison


def test_pairwise_both_orders_ties_and_win_rates() -> None:
    from domainllm.judge.pairwise import decide, summarize

    assert decide(0.8, 0.3) == "a" and decide(0.2, 0.9) == "b"
    assert decide(0.8, 0.7) == "tie" and decide(0.2, 0.4) == "tie"  # position bias: a tie
    s = summarize(["b", "b", "b", "a", "tie"], 0.95, 200, 0)
    assert (s["b_wins"], s["a_wins"], s["ties"], s["n"]) == (3, 1, 1, 5)
    assert s["position_consistency"] == 0.8
    assert s["b_win_rate_decided"]["value"] == 0.75 and s["b_win_rate_decided"]["n"] == 4
    assert s["b_score_ties_half"]["mean"] == pytest.approx(3.5 / 5)


def test_compare_stage_on_tiny_model(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jp = JudgeParams(batch_size=4, threads=1).model_dump()
    rp = {
        "iterations": ["a", "b"],
        "bootstrap_n": 200,
        "seed": 0,
        "confidence": 0.95,
        "alpha": 0.05,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"judge": jp, "report": rp}))
    for it, doms in (("a", ["x1.com", "x2.com"]), ("b", ["beanhaven.com", "roastly.com"])):
        rows = [{"id": str(i), "suite": "test", "request": {"description": f"coffee shop {i}"},
                 "names": [{"domain": d, "label": "ok", "score": 0.5, "gates": []}
                           for d in doms]} for i in range(3)]  # fmt: skip
        rows.append({"id": "only-" + it, "suite": "test", "request": {"description": "x"},
                     "names": [{"domain": "y.com"}]})  # fmt: skip
        write_jsonl(tmp_path / "judge" / f"{it}.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    args = ["--judge-root", "judge", "--model-dir", str(tiny_dir), "--prompts", str(PROMPTS),
            "--cache", "cache", "--metrics", "cmp.json"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["compare.py", *args])
    runpy.run_path(str(ROOT / "stages" / "compare.py"), run_name="__main__")
    m = read_json(tmp_path / "cmp.json")["pairs"]["a vs b"]
    assert m["n"] == 3  # only the requests both answered
    assert m["b_wins"] + m["a_wins"] + m["ties"] == 3 and m["run"]["judged_now"] == 6


def test_filler_features_count_how_many_industries_share_a_names_words() -> None:
    from types import SimpleNamespace

    inds = {
        "bakery": SimpleNamespace(heads=("willow", "rye"), tails=("loaf", "works")),
        "florist": SimpleNamespace(heads=("willow", "fern"), tails=("petal", "works")),
        "plumbing": SimpleNamespace(heads=("willow", "copper"), tails=("pipe", "works")),
        "spa": SimpleNamespace(heads=("cedar",), tails=("balm",)),
    }
    spread = word_spread(inds)
    assert spread["willow"] == 0.75 and spread["works"] == 0.75 and spread["rye"] == 0.25
    rows = [{"domain": d, "features": {}} for d in ("willowworks.com", "ryeloaf.com",
                                                    "ryezoom.com")]  # fmt: skip
    add_filler(rows, spread)
    assert rows[0]["features"] == {"filler": 0.75, "filler_min": 0.75}  # filler pairing
    assert rows[1]["features"] == {"filler": 0.25, "filler_min": 0.25}  # specific words
    assert rows[2]["features"]["filler_min"] == 0.0  # a word no industry lists
