"""The optional teacher (``synth.teacher: openai``): the real openai client against an
OpenAI-compatible server on loopback; names pass the target checks or the bank target stays;
replies are cached; failures are counted; the key comes only from the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.responses import JSONResponse

from domainllm.contract import Request, Response, Suggestion
from domainllm.judge.features import load_lexicon
from domainllm.moderation import DEFAULT_LEXICON
from domainllm.params import UserError
from domainllm.schema import Example, Meta
from domainllm.serve.runner import ServerThread
from domainllm.synth.teacher import Teacher, TeacherParams, apply_teacher, parse_names

ROOT = Path(__file__).resolve().parents[1]
GOOD = ["emberloaf", "crumbharbor", "hearthcrust", "oatlantern", "ryemeadow", "doughcove"]


class FakeTeacher:
    """Chat completions that name any business; ``mode`` injects failures."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | bad (brands, wrong TLD, repeats) | 500
        self.calls = 0
        self.keys: set[str] = set()
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(req: HTTPRequest) -> Any:
            body = await req.json()
            self.calls += 1
            self.keys.add(req.headers.get("authorization", ""))
            if self.mode == "500":
                return JSONResponse({"error": {"message": "boom"}}, 500)
            user = body["messages"][-1]["content"]
            tld = user.split("Allowed TLDs: ")[1].split(",")[0].split("\n")[0].strip()
            names = [n + tld for n in GOOD]
            if self.mode == "bad":
                names = ["starbucks" + tld, "bread" + tld, "emberloaf.xyz", "ai" + tld]
            content = "Here you go: " + json.dumps({"domains": names})
            msg = {"role": "assistant", "content": content}
            return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]}  # fmt: skip

        self.app = app
        self.base_url = ""

    def params(self, **kw: Any) -> TeacherParams:
        return TeacherParams(backend="openai", model="teacher-1", api_key_env="TEACHER_TEST_KEY",
                             base_url=self.base_url, timeout_s=2,
                             max_retries=1, backoff_s=0.01, **kw)  # fmt: skip


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("TEACHER_TEST_KEY", "sk-teacher-secret")
    srv = FakeTeacher()
    with ServerThread(srv.app) as url:
        srv.base_url = f"{url}/v1"
        yield srv


def bakery(i: int, n: int = 3) -> Example:
    req = Request(description=f"family sourdough bakery number {i}", tlds=[".com"], n=n)
    bank = [Suggestion(domain=f"bankname{c}.com", confidence=0.7) for c in "abcde"[:n]]
    meta = Meta(
        group="plain", complexity="L1", safety_category="safe", template="t", industry="bakery"
    )
    return Example(id=f"s{i}", request=req, meta=meta,
                   target=Response(status="success", suggestions=bank))  # fmt: skip


def test_teacher_names_replace_targets_and_replies_are_cached(server, tmp_path) -> None:
    lex = load_lexicon(DEFAULT_LEXICON)
    teacher = Teacher(server.params(), tmp_path / "cache")
    out, stats = apply_teacher([bakery(1), bakery(2)], teacher, lex)
    assert [s.domain for s in out[0].target.suggestions] == [g + ".com" for g in GOOD[:3]]
    assert stats.replaced == 2 and stats.asked == 2 and stats.kept_bank == 0
    assert server.keys == {"Bearer sk-teacher-secret"}
    again, stats2 = apply_teacher([bakery(1), bakery(2)], teacher, lex)
    assert server.calls == 2 and stats2.cached == 2 and stats2.asked == 0  # nothing asked twice
    assert again == out
    teacher.close()


def test_bad_names_or_a_failing_server_keep_the_bank_target(server, tmp_path) -> None:
    lex = load_lexicon(DEFAULT_LEXICON)
    server.mode = "bad"  # a brand, a dictionary word on .com, a wrong TLD, a bare label
    out, stats = apply_teacher([bakery(3)], Teacher(server.params(), tmp_path / "a"), lex)
    assert out[0].target.suggestions[0].domain == "bankname" + "a.com"
    assert stats.kept_bank == 1 and stats.names_rejected == 4
    server.mode = "500"
    out, stats = apply_teacher([bakery(4)], Teacher(server.params(), tmp_path / "b"), lex)
    assert stats.kept_bank == 1 and stats.failures["server_error"] == 2  # first try + 1 retry


def test_key_only_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("TEACHER_TEST_KEY", raising=False)
    p = TeacherParams(backend="openai", api_key_env="TEACHER_TEST_KEY")
    with pytest.raises(UserError, match="TEACHER_TEST_KEY is not set"):
        Teacher(p, tmp_path)


def test_parse_names_accepts_json_in_prose_and_rejects_the_rest() -> None:
    assert parse_names('Sure! {"domains": ["A.com", "b.io"]}') == ["a.com", "b.io"]
    assert parse_names('["x.com"]') == ["x.com"]
    for bad in ("no json here", '{"names": 3}'):
        with pytest.raises(ValueError):
            parse_names(bad)


def test_synth_stage_with_a_teacher_writes_its_names_and_the_card_says_so(server, tmp_path) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["synth"]["teacher"] = server.params().model_dump()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "v0"
    cmd = [sys.executable, str(ROOT / "stages/synth.py"), "--version", "v0", "--failures", "none",
           "--bank", str(ROOT / "data/naming"), "--lexicon", str(DEFAULT_LEXICON),
           "--teacher-cache", str(tmp_path / "cache"), "--out", str(out),
           "--params", str(tmp_path / "params.yaml")]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    card = (out / "card.md").read_text()
    assert "## Teacher" in card and "teacher-1" in card and "sk-teacher-secret" not in card
    rows = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    labels = {s["domain"].split(".")[0] for r in rows for s in r["target"]["suggestions"]}
    assert labels & set(GOOD)  # the teacher's names are targets now
    assert server.calls > 0
