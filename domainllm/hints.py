"""Naming hints: words from the curated bank for the request's business, shown to the model.

A 0.5B model fine-tuned on ~700 rows sees each of the bank's 60 industries about a dozen times:
too few to learn which words suit a florist, so it wrote fluent compounds unrelated to the
business (``kettlehaven.studio`` for a massage studio; blind review 2026-12-02). The prompt now
carries that knowledge instead: the description is matched (all-MiniLM-L6-v2, cosine) to the
nearest industry of the naming bank (``data/naming``; by its name and its ``about``
phrases, best phrase wins), and ``heads`` of its start words and
``tails`` of its end words are listed under the request. The synthetic targets are composed
from exactly those words, so the model learns to build names from them, and the engine picks
them with this same function, so training and serving see the same prompt. When no industry is
within ``min_similarity`` the prompt lists no words (the model names from the description).

Which words: a seeded sample of the industry's heads and tails, the seed being the normalised
description, so one request always gets the same words and different requests different ones.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from domainllm.params import Strict


class HintSettings(Strict):
    """The ``hints`` params section (read by ``synth``, ``predict``, the CLI and the server)."""

    enabled: bool = True
    heads: Annotated[int, Field(ge=1, le=20)] = 8
    tails: Annotated[int, Field(ge=1, le=20)] = 6
    min_similarity: Annotated[float, Field(ge=-1, le=1)] = 0.25


@dataclass(frozen=True)
class Hint:
    """The words shown for one request, and the industry they came from."""

    industry: str
    similarity: float
    heads: tuple[str, ...]
    tails: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "industry": self.industry,
            "similarity": round(self.similarity, 4),
            "heads": list(self.heads),
            "tails": list(self.tails),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Hint | None:
        """The hint stored with a synthetic row (None when the row has none)."""
        if not d:
            return None
        return cls(d["industry"], float(d["similarity"]), tuple(d["heads"]), tuple(d["tails"]))


def cards(industry: str, about: tuple[str, ...]) -> list[str]:
    """The phrases an industry is matched by: its name and how people describe the business
    (the bank's ``about``); a request's similarity to the industry is the best of them."""
    return [industry.replace("_", " "), *about]


def pick_words(words: tuple[str, ...], k: int, key: str) -> tuple[str, ...]:
    """``k`` of ``words``, sampled with a seed derived from ``key`` (stable across runs)."""
    seed = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:16], 16)
    return tuple(random.Random(seed).sample(list(words), min(k, len(words))))


class Hinter:
    """Matches descriptions to the bank's industries and picks the words to show."""

    def __init__(self, bank: Any, embedder: Any, settings: HintSettings) -> None:
        self.s = settings
        self.bank = bank  # domainllm.synth.bank.Bank
        self.embedder = embedder
        self.names = sorted(bank.industries)
        texts, owner = [], []
        for j, k in enumerate(self.names):
            for t in cards(k, bank.industries[k].about):
                texts.append(t)
                owner.append(j)
        self.cards = embedder.encode(texts) if settings.enabled else None
        self.owner = owner  # industry index of each card
        self._cache: dict[str, Hint | None] = {}

    def hints(self, descriptions: list[str]) -> list[Hint | None]:
        """One hint (or None: hints off, or no industry close enough) per description."""
        if not self.s.enabled:
            return [None] * len(descriptions)
        todo = sorted({d for d in descriptions if d not in self._cache})
        for i in range(0, len(todo), 64):
            chunk = todo[i : i + 64]
            sims = self.embedder.encode(chunk) @ self.cards.T
            for desc, row in zip(chunk, sims, strict=True):
                c = int(row.argmax())  # the best card; its industry is the match
                self._cache[desc] = self._hint(desc, self.names[self.owner[c]], float(row[c]))
        return [self._cache[d] for d in descriptions]

    def _hint(self, desc: str, industry: str, sim: float) -> Hint | None:
        if sim < self.s.min_similarity:
            return None
        b = self.bank.industries[industry]
        key = " ".join(desc.lower().split())
        return Hint(
            industry,
            sim,
            pick_words(b.heads, self.s.heads, "heads\0" + key),
            pick_words(b.tails, self.s.tails, "tails\0" + key),
        )


def hint_report(rows: list[Any], settings: HintSettings) -> str:
    """The dataset card's section on hints: how many rows carry one, and how often its industry
    is the row's own (the rest show words of a neighbouring business)."""
    hinted = [r for r in rows if r.hint is not None]
    own = sum(r.hint["industry"] == r.meta.industry for r in hinted)
    safe = [r for r in rows if r.meta.safety_category == "safe"]
    safe_hinted = sum(r.hint is not None for r in safe)
    return (
        "\n## Naming hints\n\n"
        f"Settings {settings.model_dump()} (domainllm/hints.py). "
        f"{len(hinted)} of {len(rows)} rows carry a hint ({safe_hinted} of {len(safe)} safe rows); "
        f"the hint's industry is the row's own in {own} of {len(hinted)}. "
        "Targets of rows whose hint is their own industry are built from the hint's words.\n"
    )
