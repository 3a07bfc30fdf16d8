"""The curated naming bank (``data/naming/<industry>.yaml``): the team's naming material.

This machine has no teacher LLM, so the team is the teacher: per industry, words that start a
name well (``heads``), words that end one (``tails``), clean coined blends, puns and complete
good names with the ideas behind them, written and reviewed by hand. The naming engine composes
targets from these parts (a head and a tail make a new name; the bank's own names are only one
source of several), and every target passes the name judge's hard checks first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domainllm.io import sha256_text
from domainllm.params import UserError

_WORD = re.compile(r"^[a-z]{3,15}$")
GENERAL = "_general"  # the file (and hint industry) of the fallback words


@dataclass(frozen=True)
class IndustryBank:
    """One industry's material."""

    industry: str
    heads: tuple[str, ...]
    tails: tuple[str, ...]
    blends: tuple[str, ...]
    puns: tuple[str, ...]
    names: tuple[str, ...]
    # How people describe the business ("flower shop", "bouquets"): requests are matched to an
    # industry by these phrases (domainllm/hints.py).
    about: tuple[str, ...] = ()
    # The same in other languages ("panadería", "bäckerei"): matched as spelled, not embedded.
    about_other: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bank:
    """Every industry's material plus the judge lexicon targets are checked against."""

    industries: dict[str, IndustryBank]
    lexicon: Any  # domainllm.judge.features.Lexicon
    hash: str
    # ``_general.yaml``: the fallback hint's words for requests no industry matches
    general: IndustryBank | None = None
    not_topic: frozenset[str] = frozenset()  # its words that never describe a business

    def get(self, industry: str | None) -> IndustryBank | None:
        """The industry's material, or None (the generic engine then names the request)."""
        return self.industries.get(industry) if industry else None

    def all_names(self) -> set[str]:
        """Every complete name in the bank (names, blends, puns): for the reuse report."""
        return {n for b in self.industries.values() for n in (*b.names, *b.blends, *b.puns)}


def _words(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = data.get(key) or []
    out = []
    for it in items:
        word = it.get("name") if isinstance(it, dict) else it
        if not isinstance(word, str) or not _WORD.match(word):
            raise UserError(f"{where}: '{key}' entry {it!r} must be 3-15 letters a-z")
        out.append(word)
    return tuple(dict.fromkeys(out))


def _phrases(data: dict[str, Any], where: str, key: str = "about") -> tuple[str, ...]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
        raise UserError(f"{where}: '{key}' must be a list of phrases describing the business")
    return tuple(x.strip() for x in items)


def load_bank(folder: str | Path, lexicon_path: str | Path) -> Bank:
    """Read every ``*.yaml`` of the bank folder (``_general.yaml``: the fallback hint's words,
    not an industry); one line naming file and field on a problem."""
    from domainllm.judge.features import load_lexicon

    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise UserError(f"{folder}: no naming bank files (*.yaml) found")
    industries: dict[str, IndustryBank] = {}
    general, not_topic = None, frozenset()
    texts = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        texts.append(text)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"{f}: not YAML ({exc})") from None
        if not isinstance(data, dict) or data.get("industry") != f.stem:
            raise UserError(f"{f}: 'industry' must be '{f.stem}' (the file name)")
        b = IndustryBank(f.stem, *(_words(data, k, str(f)) for k in
                                   ("heads", "tails", "blends", "puns", "names")),
                         about=_phrases(data, str(f)),
                         about_other=_phrases(data, str(f), "about_other"))  # fmt: skip
        if len(b.heads) < 5 or len(b.tails) < 5:
            raise UserError(f"{f}: needs at least 5 heads and 5 tails")
        if f.stem == GENERAL:
            general, not_topic = b, frozenset(_words(data, "not_topic", str(f)))
        else:
            industries[f.stem] = b
    lex = load_lexicon(lexicon_path)
    return Bank(industries, lex, sha256_text("\0".join(texts) + lex.hash)[:12], general, not_topic)
