"""The name judge's checklist, loaded from ``prompts/judge/checklist.yaml`` and hashed into outputs.

A judged item is one suggested domain for one request. The checklist asks yes/no questions a
naming expert asks (relevant? real words? easy to say? a famous brand?); backends answer them and
the calibrated regression (``calibrate.py``) weighs the answers with the deterministic features.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domainllm.contract import Request
from domainllm.io import sha256_text
from domainllm.params import UserError

DEFAULT_JUDGE_PROMPTS = Path(__file__).resolve().parents[2] / "prompts" / "judge"
_JSON_RE = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class JudgeItem:
    """One name to judge: the request and one suggested domain."""

    id: str
    suite: str
    request: Request
    domain: str

    def key(self) -> str:
        """Content identity: what the checklist sees (description and domain), so the same name
        for the same business shares an answer whatever the id, count or allowed suffixes."""
        body = {"description": self.request.description, "domain": self.domain}
        return sha256_text(json.dumps(body, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class Checklist:
    """Questions, system and user templates, with the file's hash."""

    questions: dict[str, str]
    system_template: str
    user_template: str
    max_description_chars: int
    hash: str

    @property
    def keys(self) -> list[str]:
        """Question keys in file order (the JSON reply's key order)."""
        return list(self.questions)

    def system(self) -> str:
        """The system prompt: every question and the reply schema."""
        qs = "\n".join(f"- {k}: {q}" for k, q in self.questions.items())
        schema = "{" + ",".join(f'"{k}":<true|false>' for k in self.keys) + "}"
        return self.system_template.format(questions=qs, schema=schema)

    def _description(self, item: Any) -> str:
        d = item.request.description
        cap = self.max_description_chars
        return d if len(d) <= cap else d[:cap] + " [...]"

    def user(self, item: JudgeItem) -> str:
        """The user turn: description (cut to the cap) and the domain with its words."""
        from domainllm.judge.features import spoken

        return self.user_template.format(
            description=self._description(item), domain=item.domain, spoken=spoken(item.domain)
        )

    def user_tail(self, item: JudgeItem) -> str:
        """The end of the user turn that differs between names of one request (from the space
        before the domain on): everything before it is shared and its KV cache reused."""
        full = self.user(item)
        at = self.user_template.find("{domain}")
        if at < 0:
            return full
        head = self.user_template[:at].format(description=self._description(item))
        return full[len(head.rstrip(" ")) :]  # a space belongs to the domain's first token

    def messages(self, item: JudgeItem) -> list[dict[str, str]]:
        """Chat messages for one item."""
        return [
            {"role": "system", "content": self.system()},
            {"role": "user", "content": self.user(item)},
        ]

    def parse(self, text: str) -> dict[str, float]:
        """Answers (1.0 true / 0.0 false) from a JSON reply; ValueError (one line) if unusable."""
        m = _JSON_RE.search(text or "")
        if not m:
            raise ValueError(f"no JSON object in reply {text[:60]!r}")
        try:
            data = json.loads(m.group(0))
        except json.JSONDecodeError as exc:
            raise ValueError(f"reply is not JSON ({exc.msg})") from None
        out: dict[str, float] = {}
        for k in self.keys:
            v = data.get(k)
            if not isinstance(v, bool):
                raise ValueError(f"question '{k}' missing or not true/false (got {v!r})")
            out[k] = float(v)
        return out


def load_checklist(
    folder: str | Path = DEFAULT_JUDGE_PROMPTS, name: str = "checklist.yaml", cls: type = Checklist
) -> Any:
    """Load ``checklist.yaml`` (or another question file into ``cls``); one line naming the
    problem when it is unusable."""
    path = Path(folder) / name
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the judge checklist ({exc})") from None
    qs = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(qs, dict) or not qs or not all(isinstance(v, str) for v in qs.values()):
        raise UserError(f"{path}: 'questions' must map keys to question texts")
    for key in ("system", "user"):
        if not isinstance(data.get(key), str):
            raise UserError(f"{path}: '{key}' template missing")
    return cls(
        questions={str(k): v for k, v in qs.items()},
        system_template=data["system"].strip(),
        user_template=data["user"].strip(),
        max_description_chars=int(data.get("max_description_chars", 400)),
        hash=sha256_text(text)[:12],
    )
