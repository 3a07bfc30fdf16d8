"""Naming hints: words from the curated bank for the request's business, shown to the model.

A 0.5B model fine-tuned on ~700 rows sees each of the bank's 60 industries about a dozen times:
too few to learn which words suit a florist, so it wrote fluent compounds unrelated to the
business (``kettlehaven.studio`` for a massage studio; blind review 2026-12-02). The prompt now
carries that knowledge instead: the description is matched to the industry of the naming bank
it names (the longest of an industry's phrases spelled out in it) or else (all-MiniLM-L6-v2,
cosine) to the nearest one (``data/naming``; by its name and its ``about``
phrases, best phrase wins), and ``heads`` of its start words and
``tails`` of its end words are listed under the request. The synthetic targets are composed
from exactly those words, so the model learns to build names from them, and the engine picks
them with this same function, so training and serving see the same prompt. When no industry is
within ``min_similarity`` the prompt shows the fallback hint (``_general.yaml``): neutral start
words, and the request's own topic words (``topic_words``, ranked by MiniLM closeness to the
description) first among the end words.

Which words: a seeded sample of the industry's heads and tails, the seed being the normalised
description, so one request always gets the same words and different requests different ones.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from domainllm.params import Strict


class HintSettings(Strict):
    """The ``hints`` params section (read by ``synth``, ``predict``, the CLI and the server)."""

    enabled: bool = True
    heads: Annotated[int, Field(ge=1, le=20)] = 8
    tails: Annotated[int, Field(ge=1, le=20)] = 6
    min_similarity: Annotated[float, Field(ge=-1, le=1)] = 0.4
    # End words are drawn from the industry's `tail_pool` most trade-specific ones (0: all);
    # see `specificity`.
    tail_pool: Annotated[int, Field(ge=0, le=50)] = 0


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


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Matches the phrase as whole words, any case of spacing or hyphens, plural allowed
    ('web design' in 'Web-design studios')."""
    words = [re.escape(w) for w in re.findall(r"[^\W_]+", phrase.lower())]
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b")


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
        texts: list[str] = []
        owner: list[int] = []
        spelled: list[tuple[int, re.Pattern[str], int]] = []  # (phrase length, pattern, industry)
        for j, k in enumerate(self.names):
            b = bank.industries[k]
            phrases = cards(k, b.about)
            texts += phrases
            owner += [j] * len(phrases)
            # other languages' phrases are matched as spelled only (MiniLM reads English)
            spelled += [(len(t), phrase_pattern(t), j) for t in (*phrases, *b.about_other)]
        self.cards = embedder.encode(texts) if settings.enabled else None
        self.starts = np.flatnonzero(np.r_[True, np.diff(owner) != 0])  # first card per industry
        self.spelled = spelled
        self.tails = {k: bank.industries[k].tails for k in self.names}
        if settings.enabled and settings.tail_pool:
            self.tails = self._trade_tails(settings.tail_pool)
        self._cache: dict[str, Hint | None] = {}

    def _trade_tails(self, pool: int) -> dict[str, tuple[str, ...]]:
        """Each industry's ``pool`` end words of highest ``specificity``, in bank order."""
        cards = np.asarray(self.cards)
        ends = [*self.starts[1:], len(cards)]
        cent = np.stack([cards[a:b].mean(0) for a, b in zip(self.starts, ends, strict=True)])
        cent /= np.linalg.norm(cent, axis=1, keepdims=True)
        # every end word embedded once, in one batch (60 calls added ~1.8 s to each start-up)
        words = sorted({w for k in self.names for w in self.bank.industries[k].tails})
        vec = dict(zip(words, np.asarray(self.embedder.encode(words)), strict=True))
        out = {}
        for j, k in enumerate(self.names):
            tails = self.bank.industries[k].tails
            spec = specificity(np.stack([vec[w] for w in tails]) @ cent.T, j)
            keep = set(np.argsort(-spec, kind="stable")[:pool].tolist())
            out[k] = tuple(w for i, w in enumerate(tails) if i in keep)
        return out

    def hints(self, descriptions: list[str]) -> list[Hint | None]:
        """One hint per description (None: hints off, or no industry close enough and no
        ``_general.yaml``)."""
        if not self.s.enabled:
            return [None] * len(descriptions)
        todo = sorted({d for d in descriptions if d not in self._cache})
        for i in range(0, len(todo), 64):
            chunk = todo[i : i + 64]
            vecs = np.asarray(self.embedder.encode(chunk))
            sims = np.maximum.reduceat(vecs @ np.asarray(self.cards).T, self.starts, 1)
            for desc, row, vec in zip(chunk, sims, vecs, strict=True):
                j, named = self.match(desc, row)
                # a business the description names outright is matched whatever the cosine
                sim = max(float(row[j]), self.s.min_similarity) if named else float(row[j])
                self._cache[desc] = self._hint(desc, self.names[j], sim, vec)
        return [self._cache[d] for d in descriptions]

    def match(self, desc: str, sims: Any) -> tuple[int, bool]:
        """The industry a description is matched to, and whether the description names it:
        of the industries one of whose phrases it spells out (whole words, plural allowed, any
        language of ``about_other``) the one with the longest phrase wins, ties by cosine; when
        it names none, the industry of highest cosine (``sims``: best card per industry). Why:
        the cosine of a long description drifts to its other words ('a law firm ... contracts
        for vets' matched veterinary, 'web design studio ... accessibility audits'
        cybersecurity: blind review 2026-12-03-final)."""
        text = desc.lower()
        named = [(n, j) for n, pat, j in self.spelled if pat.search(text)]
        if not named:
            return int(sims.argmax()), False
        longest = max(n for n, _ in named)
        return max({j for n, j in named if n == longest}, key=lambda j: float(sims[j])), True

    def _hint(self, desc: str, industry: str, sim: float, vec: Any) -> Hint | None:
        key = " ".join(desc.lower().split())  # the seed of the words picked
        if sim < self.s.min_similarity:
            return self._fallback(desc, key, sim, vec)
        b = self.bank.industries[industry]
        return Hint(
            industry,
            sim,
            pick_words(b.heads, self.s.heads, "heads\0" + key),
            pick_words(self.tails[industry], self.s.tails, "tails\0" + key),
        )

    def _fallback(self, desc: str, key: str, sim: float, vec: Any) -> Hint | None:
        """The hint of a request no industry matches: the bank's general start words, and as
        end words the request's own topic words before the general ones (None without
        ``_general.yaml``). Topic words: of the request's rarer words, those closest to the
        whole description (MiniLM), so the business's noun wins over talk ('catchy',
        'publishes') the ``not_topic`` list does not name."""
        g = self.bank.general
        if g is None:
            return None
        cands = topic_words(desc, 8, self.bank.not_topic | self.bank.lexicon.unsafe_words)
        topic: tuple[str, ...] = ()
        if cands:
            closeness = np.asarray(self.embedder.encode(list(cands))) @ vec
            topic = tuple(cands[i] for i in np.argsort(-closeness, kind="stable")[:TOPIC_WORDS])
        rest = tuple(w for w in g.tails if w not in topic)
        # With topic words, only two general endings beside them: with four, the model's names
        # used the general ones and dropped the business ('humblecraft' for an archery club).
        k = self.s.tails - len(topic) if not topic else min(2, self.s.tails - len(topic))
        tails = topic + pick_words(rest, k, "tails\0" + key)
        return Hint(g.industry, sim, pick_words(g.heads, self.s.heads, "heads\0" + key), tails)


def specificity(sims: Any, j: int) -> Any:
    """How much closer each word is to industry ``j`` than to the typical industry: its cosine
    to ``j``'s centroid (the mean of its phrases) minus its median cosine over all industries
    (``sims``: words x industries). Trade words score high ('oven' for a bakery, 'keg' for a
    brewery), words that suit any business low ('field', 'nest'). Why: in review
    2026-12-03-bank names of a shown start word and end word were rated good 11-16% with an end
    word below 0.15, 24-28% above it (210 names). It did not replicate: after the retrain, review
    2026-12-03-trade rated both kinds 9% good (README)."""
    return sims[:, j] - np.median(sims, axis=1)


TOPIC_WORDS = 2  # the request's words shown first among a fallback hint's end words


def topic_words(desc: str, k: int, skip: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The ``k`` rarest English words of a description (Zipf 2-4.8, 4-12 letters), skipping
    ``skip`` (the request's own talk: ``not_topic`` of ``_general.yaml``) and capitalised words
    inside a sentence (places, people): 'youth archery club in Leeds' -> ('archery', 'youth')."""
    from wordfreq import zipf_frequency

    found: dict[str, float] = {}
    for m in re.finditer(r"[A-Za-z]+", desc):
        w = m.group(0)
        start = not desc[: m.start()].strip() or desc[: m.start()].rstrip()[-1] in ".!?"
        if w[0].isupper() and not start:
            continue
        w = w.lower()
        z = zipf_frequency(w, "en") if w.isascii() else 0.0
        if 2.0 <= z <= 4.8 and 4 <= len(w) <= 12 and w not in skip:
            found.setdefault(w, z)
    return tuple(sorted(found, key=lambda w: found[w])[:k])


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
