"""The judge's rubric and prompts, loaded from ``prompts/judge/`` and hashed into every output.

A judged item is one answer: a business request and the domains suggested for it. The judge
scores each applicable rubric criterion 0-5 and replies with scores-only JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
    """One answer to judge: the request and its suggested domains."""

    id: str
    suite: str
    request: Request
    domains: tuple[str, ...]

    def key(self) -> str:
        """Content identity (request and domains, not the id): equal answers share a verdict."""
        body = {"request": self.request.model_dump(), "domains": list(self.domains)}
        return sha256_text(json.dumps(body, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class JudgePrompt:
    """Rubric, system template and user template, with a combined hash."""

    rubric: dict[str, Any]
    system_template: str
    user_template: str
    hash: str = field(default="")

    @property
    def criteria(self) -> list[str]:
        """Every criterion name, in rubric order."""
        return [c["name"] for c in self.rubric["criteria"]]

    def criteria_for(self, item: JudgeItem) -> list[str]:
        """Criteria that apply: set-only ones (diversity) need two or more domains."""
        many = len(item.domains) > 1
        return [c["name"] for c in self.rubric["criteria"] if many or not c.get("set_only")]

    def system(self, criteria: list[str]) -> str:
        """The system prompt for a list of criteria (rubric text and JSON schema)."""
        blocks = []
        for c in self.rubric["criteria"]:
            if c["name"] in criteria:
                lines = [f"{c['name']}: {c['question']}"]
                lines += [f"  {k}: {v}" for k, v in sorted(c["anchors"].items())]
                blocks.append("\n".join(lines))
        schema = "{" + ",".join(f'"{c}":<0-5>' for c in criteria) + "}"
        return self.system_template.format(rubric="\n".join(blocks), schema=schema)

    def user(self, item: JudgeItem) -> str:
        """The user turn: description, constraints and the numbered domains."""
        r = item.request
        cap = int(self.rubric.get("max_description_chars", 0)) or len(r.description)
        desc = r.description if len(r.description) <= cap else r.description[:cap] + " [...]"
        return self.user_template.format(
            description=desc,
            tlds=", ".join(r.tlds),
            hyphens="allowed" if r.allow_hyphens else "not allowed",
            digits="allowed" if r.allow_numbers else "not allowed",
            puns="preferred" if r.prefer_puns else "not needed",
            domains="\n".join(f"{i}. {d}" for i, d in enumerate(item.domains, 1)),
        )

    def messages(self, item: JudgeItem) -> list[dict[str, str]]:
        """Chat messages for one item."""
        return [
            {"role": "system", "content": self.system(self.criteria_for(item))},
            {"role": "user", "content": self.user(item)},
        ]

    def parse(self, text: str, criteria: list[str]) -> dict[str, float]:
        """Scores from a scores-only JSON reply; ValueError (one line) when unusable."""
        m = _JSON_RE.search(text or "")
        if not m:
            raise ValueError(f"no JSON object in reply {text[:60]!r}")
        try:
            data = json.loads(m.group(0))
        except json.JSONDecodeError as exc:
            raise ValueError(f"reply is not JSON ({exc.msg})") from None
        out: dict[str, float] = {}
        for c in criteria:
            v = data.get(c)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 5:
                raise ValueError(f"criterion '{c}' missing or not a number 0-5 (got {v!r})")
            out[c] = float(v)
        return out

    def label(self, composite: float) -> str:
        """Map a composite score to the gold labels good/ok/bad with the rubric's thresholds."""
        t = self.rubric["labels"]
        return "good" if composite >= t["good"] else "ok" if composite >= t["ok"] else "bad"


def composite(scores: dict[str, float]) -> float:
    """Mean of the scored criteria."""
    return round(sum(scores.values()) / len(scores), 4)


def load_judge_prompt(folder: str | Path = DEFAULT_JUDGE_PROMPTS) -> JudgePrompt:
    """Load rubric.yaml, system.txt and user.txt; the hash covers all three files' text."""
    folder = Path(folder)
    try:
        texts = [(folder / n).read_text(encoding="utf-8") for n in ("rubric.yaml", "system.txt")]
        texts.append((folder / "user.txt").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"judge prompts: {exc.filename} not found") from None
    rubric = yaml.safe_load(texts[0])
    for c in rubric.get("criteria", []):
        if set(c.get("anchors", {})) != set(range(6)):
            raise UserError(f"{folder}/rubric.yaml: criterion '{c.get('name')}' needs anchors 0-5")
    return JudgePrompt(
        rubric=rubric,
        system_template=texts[1].strip(),
        user_template=texts[2].strip(),
        hash=sha256_text("\0".join(texts))[:12],
    )
