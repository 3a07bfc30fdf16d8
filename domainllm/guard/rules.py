"""Per-category policy rules read from the machine-readable blocks of docs/SAFETY_POLICY.md.

Each category has a fenced YAML block (```yaml) with ``category``, ``keywords`` (literal
words or phrases, matched as whole words, plural 's' allowed) and ``allowed_contexts``
(phrases of legitimate businesses that excuse a keyword). ``block``/``patterns`` take regexes
instead of literals. A ``*_words`` list (e.g. ``minors_words``) is an extra condition: the rule
fires only when one of those words is present too ("ammunition" alone is a gun shop, with
"kids" it is weapons for minors). Matching runs on the normalised text views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domainllm.io import sha256_text
from domainllm.params import UserError

_FENCE = re.compile(r"```ya?ml[^\n]*\n(.*?)```", re.S)
_REGEX_KEYS = ("block", "patterns", "block_patterns")
_WORD_KEYS = ("keywords", "terms")
_ALLOW_KEYS = ("allowed_contexts", "allow", "exceptions", "allowlist", "allow_patterns")


@dataclass(frozen=True)
class Rule:
    """One category's compiled block and allow patterns."""

    category: str
    block: tuple[tuple[str, re.Pattern[str]], ...]
    allow: tuple[tuple[str, re.Pattern[str]], ...]
    requires: tuple[tuple[str, re.Pattern[str]], ...] = ()


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired: its category and the pattern (for the ``rule`` field)."""

    category: str
    rule: str


def _compile(
    items: Any, where: str, literal: bool = True
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for it in items or []:
        body = re.escape(str(it).lower()) + "(?:e?s)?" if literal else str(it).lower()
        try:
            out.append((str(it), re.compile(rf"(?<![a-z])(?:{body})(?![a-z])")))
        except re.error as exc:
            raise UserError(f"{where}: pattern {it!r} is not a regex ({exc})") from None
    return tuple(out)


def _first(d: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((d[k] for k in keys if k in d), None)


def parse_policy(text: str, source: str = "docs/SAFETY_POLICY.md") -> list[Rule]:
    """Rules from every fenced YAML block that names a ``category`` (list or mapping forms)."""
    rules: list[Rule] = []
    for body in _FENCE.findall(text):
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError:
            continue  # prose examples in yaml fences are not rules
        items = data if isinstance(data, list) else [data]
        if isinstance(data, dict) and "categories" in data:
            cats = data["categories"]
            items = (
                [{"category": k, **v} for k, v in cats.items()] if isinstance(cats, dict) else cats
            )
        for d in items:
            if isinstance(d, dict) and "category" in d:
                where = f"{source}: category {d['category']}"
                req = [w for k, v in d.items() if k.endswith("_words") for w in (v or [])]
                rules.append(
                    Rule(
                        str(d["category"]),
                        _compile(_first(d, _WORD_KEYS), where)
                        + _compile(_first(d, _REGEX_KEYS), where, literal=False),
                        _compile(_first(d, _ALLOW_KEYS), where),
                        _compile(req, where),
                    )
                )
    return rules


class PolicyRules:
    """All categories' rules; ``match`` returns the first hit not excused by an allow rule."""

    def __init__(self, rules: list[Rule], text_hash: str = "") -> None:
        self.rules = rules
        self.hash = text_hash

    @classmethod
    def load(cls, path: str | Path) -> PolicyRules:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{p}: safety policy not found (the guard reads its rule blocks)")
        text = p.read_text(encoding="utf-8")
        rules = parse_policy(text, str(p))
        if not rules:
            raise UserError(f"{p}: no ```yaml block with a 'category' key (see rules.py)")
        return cls(rules, sha256_text(text)[:12])

    def match(self, *views: str) -> RuleHit | None:
        """The first rule whose keyword matches a text view outside every allowed phrase."""
        for r in self.rules:
            for text in views:
                masked = text
                for _, a in r.allow:
                    masked = a.sub(lambda m: " " * len(m.group(0)), masked)
                if r.requires and not any(q.search(masked) for _, q in r.requires):
                    continue
                for raw, b in r.block:
                    if b.search(masked):
                        return RuleHit(r.category, raw)
        return None
