"""An optional teacher LLM for training targets (``synth.teacher``): any OpenAI-compatible
endpoint names the safe requests, and its names replace the bank-composed targets where they
pass the same checks every target passes.

The seeds made their data with a strong teacher LLM; this machine has none, so by default the
curated bank is the teacher (``backend: none``) and nothing here runs. With ``backend: openai``
each safe row's request is asked once (prompt: ``prompts/teacher/``), the reply is cached by
(model, prompt hash, request) under ``cache/teacher`` (outside DVC outputs, so a rerun or another
version asks nothing twice), and the names are kept only when valid for the request, distinct,
and through ``target_ok`` (the judge's hard gates, not a dictionary word, not a misspelling).
A row whose teacher answer fails or has too few good names keeps its bank target; the counts
go to the dataset card. The key is read from ``api_key_env`` and never written anywhere.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from domainllm.contract import Request, Response, Suggestion, answer_problems
from domainllm.io import sha256_text
from domainllm.llm import ChatClient, Failures
from domainllm.params import Strict
from domainllm.schema import Example

DEFAULT_PROMPTS = Path(__file__).resolve().parents[2] / "prompts" / "teacher"


class TeacherParams(Strict):
    """``synth.teacher``: where target names come from (``none``: the curated bank only)."""

    backend: Literal["none", "openai"] = "none"
    model: str = "gpt-4o-mini"
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0)] = 4
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4


@dataclass
class TeacherStats:
    """What the teacher did for one version (written into the dataset card)."""

    asked: int = 0
    cached: int = 0
    replaced: int = 0
    kept_bank: int = 0
    names_rejected: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _yn(flag: bool) -> str:
    return "allowed" if flag else "not allowed"


def messages(req: Request, system: str, user: str) -> list[dict[str, str]]:
    """The chat messages for one request."""
    text = user.format(
        description=req.description,
        tlds=", ".join(req.tlds),
        hyphens=_yn(req.allow_hyphens),
        digits=_yn(req.allow_numbers),
        puns="preferred" if req.prefer_puns else "not needed",
        n=req.n,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def parse_names(text: str) -> list[str]:
    """The names of a reply (``{"domains": [...]}``, or a bare JSON list); ValueError if none."""
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if start >= 0 else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    names = data.get("domains") if isinstance(data, dict) else data
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        raise ValueError("no 'domains' list of strings")
    return [x.strip().lower() for x in names]


def good_names(names: list[str], req: Request, lexicon: Any) -> list[str]:
    """The teacher's names that make a valid, distinct target under the judge's hard checks."""
    from domainllm.synth.naming import target_ok

    out: list[str] = []
    for d in names:
        one = Response(status="success", suggestions=[Suggestion(domain=d, confidence=0.9)])
        ok = not [p for p in answer_problems(one, req) if "requested" not in p]
        if ok and d not in out and target_ok(d, req, lexicon):
            out.append(d)
    return out


class Teacher:
    """Asks the endpoint for names, through a sqlite cache shared by every version."""

    def __init__(self, params: TeacherParams, cache_dir: Path, prompts: Path = DEFAULT_PROMPTS):
        self.p = params
        self.system = (prompts / "system.txt").read_text(encoding="utf-8").strip()
        self.user = (prompts / "user.txt").read_text(encoding="utf-8").strip()
        self.prompt_hash = sha256_text(self.system + "\0" + self.user)[:12]
        self.failures = Failures()
        self.client = ChatClient(
            params.model, params.base_url, params.api_key_env, params.timeout_s,
            params.max_retries, params.backoff_s, self.failures, "teacher",
        )  # fmt: skip
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(cache_dir / "teacher.sqlite", check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS reply (key TEXT PRIMARY KEY, text TEXT)")
        self._lock = threading.Lock()

    def key(self, req: Request) -> str:
        return sha256_text(f"{self.p.model}\0{self.prompt_hash}\0{req.model_dump_json()}")

    def _cached(self, key: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT text FROM reply WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def reply(self, req: Request) -> tuple[str | None, bool]:
        """(reply text or None on failure, whether it came from the cache)."""
        key = self.key(req)
        if (hit := self._cached(key)) is not None:
            return hit, True
        try:
            text = self.client.complete(messages(req, self.system, self.user), max_tokens=300)
        except RuntimeError:
            return None, False
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO reply VALUES (?, ?)", (key, text))
            self.db.commit()
        return text, False

    def close(self) -> None:
        self.db.close()


def apply_teacher(
    examples: list[Example], teacher: Teacher, lexicon: Any
) -> tuple[list[Example], TeacherStats]:
    """The examples with the teacher's names as targets where they pass; stats of what it did."""
    stats = TeacherStats()
    safe = [i for i, e in enumerate(examples) if e.target.status == "success"]
    with ThreadPoolExecutor(max_workers=teacher.p.concurrency) as pool:
        replies = list(pool.map(lambda i: teacher.reply(examples[i].request), safe))
    out = list(examples)
    for i, (text, cached) in zip(safe, replies, strict=True):
        ex = examples[i]
        stats.asked += not cached
        stats.cached += cached
        names: list[str] = []
        if text is not None:
            try:
                raw = parse_names(text)
                names = good_names(raw, ex.request, lexicon)
                stats.names_rejected += len(raw) - len(names)
            except ValueError:
                teacher.failures.add("unparseable")
        if len(names) < ex.request.n:
            stats.kept_bank += 1
            continue
        sugg = [Suggestion(domain=d, confidence=0.9) for d in names[: ex.request.n]]
        out[i] = ex.model_copy(update={"target": Response(status="success", suggestions=sugg)})
        stats.replaced += 1
    stats.failures = teacher.failures.as_dict()
    return out, stats
