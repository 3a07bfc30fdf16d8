"""Deterministic features of one suggested name for one request: what a naming expert checks
mechanically. No LLM here; the LLM checklist (``checklist.py``) adds the judgement calls.

Groups (the calibration ablation removes one group at a time):

- ``constraints``: valid syntax, allowed TLD, hyphen and digit rules of the request.
- ``shape``: length, bare or one-letter labels, pronounceability, repeated parts.
- ``lexicon``: famous brands and unsafe words (``prompts/judge/lexicon.yaml``).
- ``words``: segmentation of the label into English words (wordfreq frequencies): how much of it
  is real words, a single dictionary word (likely taken on .com), a common phrase, a misspelling.
- ``relevance``: all-MiniLM-L6-v2 similarity of the segmented name to the description, and how
  much of the name just repeats the description's words (generic names).
- ``filler``: how many of the naming bank's industries use the name's words as heads or tails
  (``word_spread``): `willow`, `copper`, `harbor`, `works` serve 20+ industries and make names
  a consultant calls valid but not distinctive (blind review 2026-12-03: "filler pairings").
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domainllm.contract import Request, constraint_problems, domain_problems, split_domain
from domainllm.io import sha256_text
from domainllm.params import UserError

VOWELS = set("aeiouy")
TOO_LONG = 20  # label characters (the review rubric: over 20 is bad)
LONG = 15  # over 15 is at best ok
_CONS_RUN = re.compile(r"[b-df-hj-np-tv-xz]+")
_WORD = re.compile(r"[a-z]+")
# Two-letter words a brand may use as a part; other 1-2 letter chunks are fragments.
SHORT_WORDS = frozenset({"a", "i", "go", "my", "up", "me", "we", "on", "in", "to", "by", "of", "no",
                         "so", "be", "do", "hi", "ok", "oh", "us", "it", "at", "an", "as", "is",
                         "or", "io", "ai", "co"})  # fmt: skip
# Words that make a label a placeholder, not a name (name.com, appname.app, shopnamecom.shop),
# and words of the request's own instructions or of the answer format a model copies
# (hyphensno.com, nashvillepuns.dev, blockedapp.app).
PLACEHOLDER = frozenset({"name", "names", "domain", "example", "website", "yourname", "mysite",
                         "yoursite", "sitename", "brandname", "com", "www", "http",
                         "hyphen", "hyphens", "digit", "digits", "pun", "puns", "tld", "tlds",
                         "suggestion", "suggestions", "blocked", "success"})  # fmt: skip
BARE = frozenset({"ai", "io", "co", "com", "net", "org", "app", "dev", "www", "web", "site", "shop",
                  "store", "online", "biz", "info"})  # fmt: skip

GROUPS: dict[str, tuple[str, ...]] = {
    "constraints": ("invalid", "constraint_broken", "has_hyphen", "has_digit"),
    "shape": (
        "length",
        "too_long",
        "long",
        "bare",
        "pronounceable",
        "consonant_run",
        "repeated",
        "short_nonword",
        "placeholder",
        "tld_echo",
    ),
    "lexicon": ("brand", "unsafe_word"),
    "filler": ("filler", "filler_min"),
    "words": (
        "segments",
        "coverage",
        "unknown_chars",
        "min_zipf",
        "fragment_parts",
        "dictionary_word",
        "word_zipf",
        "phrase",
        "misspelling",
    ),
    "relevance": (
        "rel_phrase",
        "rel_max_part",
        "desc_overlap",
        "rel_contrast",
        "sector_match",
        "off_topic_word",
    ),
}
# A name with one of these is bad whatever else it has (the rubric's hard fails).
GATES = ("invalid", "constraint_broken", "too_long", "bare", "brand", "unsafe_word", "repeated",
         "short_nonword", "placeholder", "misspelt_request")  # fmt: skip


@dataclass(frozen=True)
class Lexicon:
    """Brand and unsafe-word lists from ``lexicon.yaml``, with the file's hash."""

    brands: frozenset[str]
    brand_words: frozenset[str]
    unsafe_words: frozenset[str]
    hash: str
    # one-edit knock-offs of every 5+ letter brand -> those brands, built once at load
    # (generating them per name was 80% of the judge's feature time)
    near_brands: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and check the lexicon file; one line naming the problem when it is unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the judge lexicon ({exc})") from None
    lists = {}
    for key in ("brands", "brand_words", "unsafe_words"):
        items = data.get(key)
        if not isinstance(items, list) or not all(isinstance(w, str) for w in items):
            raise UserError(f"{path}: '{key}' must be a list of words")
        lists[key] = frozenset(w.lower().replace(" ", "") for w in items)
    near: dict[str, set[str]] = {}
    for b in lists["brands"]:
        if len(b) >= 5:
            for e in _edits1(b):
                near.setdefault(e, set()).add(b)
    return Lexicon(**lists, hash=sha256_text(text)[:12],
                   near_brands={e: frozenset(bs) for e, bs in near.items()})  # fmt: skip


def label_of(domain: str) -> str:
    """The registrable name without the suffix ('bean-haven.co.uk' -> 'bean-haven')."""
    return split_domain(domain)[0]


def label_parts(domain: str) -> list[str]:
    """The name's letters segmented into parts ('bean-haven.com' -> ['bean', 'haven'])."""
    return [p for p, _ in segment(re.sub(r"[^a-z]", "", label_of(domain.lower())))]


@functools.cache
def word_zipfs() -> dict[str, float]:
    """English words -> Zipf frequency (wordfreq's top 60k, letters only)."""
    from wordfreq import top_n_list, zipf_frequency

    words = [w for w in top_n_list("en", 60000) if w.isalpha() and w.isascii()]
    vocab = {w: zipf_frequency(w, "en") for w in words if len(w) > 2 or w in SHORT_WORDS}
    return {w: z for w, z in vocab.items() if z >= 2.0}


@functools.cache
def _bigrams() -> dict[str, float]:
    """log10 counts of English word pairs (wordsegment's Google n-gram table)."""
    import wordsegment

    wordsegment.load()
    return {k: math.log10(v) for k, v in wordsegment.BIGRAMS.items() if v > 0}


def segment(text: str) -> list[tuple[str, bool]]:
    """Best split of letters into (part, is_word): few, frequent words; unknown runs cost most."""
    vocab = word_zipfs()
    n = len(text)
    best: list[tuple[float, int, bool]] = [(0.0, 0, True)] + [(math.inf, 0, False)] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - 18), end):
            part = text[start:end]
            z = vocab.get(part)
            cost = 2.0 + (7.5 - z) * 0.5 if z is not None else 3.0 + 2.0 * len(part)
            total = best[start][0] + cost
            if total < best[end][0]:
                best[end] = (total, start, z is not None)
    parts: list[tuple[str, bool]] = []
    end = n
    while end > 0:
        _, start, known = best[end]
        parts.append((text[start:end], known))
        end = start
    return parts[::-1]


def _edits1(word: str) -> set[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    return out


def near_word(chunk: str, min_zipf: float = 3.0) -> str | None:
    """A frequent word one edit away from a non-word chunk (a misspelling), if there is one."""
    vocab = word_zipfs()
    if len(chunk) < 4 or chunk in vocab:
        return None
    hits = [(vocab[w], w) for w in _edits1(chunk) if vocab.get(w, 0.0) >= min_zipf]
    return max(hits)[1] if hits else None


def _runs(parts: list[str], longest: int = 4) -> list[str]:
    """Every run of up to ``longest`` consecutive parts, joined ('vee', 'gan' -> 'veegan')."""
    return ["".join(parts[i:j]) for i in range(len(parts))
            for j in range(i + 1, min(len(parts), i + longest) + 1)]  # fmt: skip


def _misspelt(parts: list[str]) -> bool:
    """Some run of consecutive parts is one edit from a frequent word ('vee gan' -> vegan)."""
    return any(near_word(chunk) for chunk in _runs(parts))


def _misspelt_request(parts: list[str], desc_words: set[str], letters: str) -> bool:
    """A run of parts is one edit from a 4+ letter word of the request, without being it
    ('flvorist' or 'flavorist' for a florist, 'veegan' for vegan): a mangled version of the
    request's own word, never a pun on it in practice. A near word the label also spells out
    verbatim does not count ('vegansorbets' segments as 'vegans|or|bets'; 'sorbets' is there)."""
    words = {w for w in desc_words if len(w) >= 4}
    spelled = {w for w in words if w in letters}
    vocab = word_zipfs()
    for chunk in _runs(parts):
        if len(chunk) < 4 or chunk in words or chunk in vocab:  # 'bean' for 'beans' is fine
            continue
        if (_edits1(chunk) & words) - spelled:
            return True
    return False


def pronounceability(label: str) -> float:
    """0-1 heuristic: vowel share near natural language and no long consonant clusters."""
    letters = [c for c in label.lower() if c.isalpha()]
    if not letters:
        return 0.0
    ratio = sum(c in VOWELS for c in letters) / len(letters)
    run = max((len(m) for m in _CONS_RUN.findall("".join(letters))), default=0)
    score = 1.0 - 0.25 * max(0, run - 3)
    score -= min(0.6, 2.0 * max(0.0, 0.25 - ratio, ratio - 0.7))
    return round(min(1.0, max(0.0, score)), 3)


def _stems(description: str) -> set[str]:
    words = _WORD.findall(description.lower())
    return {w[:5] for w in words if len(w) >= 3}


def _repeated(letters: str, words: list[str]) -> bool:
    """The same word twice, or the same 4+ letters back to back ('studiostudio')."""
    long_words = [w for w in words if len(w) >= 3]
    return len(long_words) != len(set(long_words)) or bool(re.search(r"(.{4,})\1", letters))


def _brand(label: str, letters: str, words: list[str], lex: Lexicon, desc: str) -> float:
    if letters in lex.brands or letters in lex.brand_words:
        return 1.0
    # a request that names a brand may use it (an app for Shopify sellers)
    near = lex.near_brands.get(letters, frozenset())
    for b in (b for b in lex.brands if b not in desc):
        if (len(b) >= 4 and (b in words or (len(b) >= 6 and b in letters))) or b in near:
            return 1.0
    return 0.0


def _unsafe(letters: str, words: list[str], lex: Lexicon, desc: str) -> float:
    seen = set(_WORD.findall(desc))
    for w in lex.unsafe_words:
        if any(s.startswith(w) for s in seen):  # the request's own word ('kills' for 'kill')
            continue
        if w in words or (len(w) >= 5 and w in letters):
            return 1.0
    return 0.0


def name_features(domain: str, req: Request, lex: Lexicon) -> dict[str, float]:
    """Every deterministic feature of one domain for one request (relevance added later)."""
    vocab = word_zipfs()
    label = label_of(domain.lower())
    letters = re.sub(r"[^a-z]", "", label)
    chunks = [c for c in re.split(r"[^a-z]+", label) if c]
    parts = [p for c in chunks for p in segment(c)]
    words = [p for p, known in parts if known]
    unknown = "".join(p for p, known in parts if not known)
    zipfs = [vocab[w] for w in words]
    misspelt = _misspelt([p for p, _ in parts])
    pair = " ".join(words) if len(words) == 2 and not unknown else ""
    word_z = vocab.get(letters, 0.0) if len(chunks) == 1 else 0.0
    desc = req.description.lower()
    desc_words = set(_WORD.findall(desc))
    stems = _stems(desc)
    problems = domain_problems(domain)
    # The word a name may echo is the TLD proper: '.shop' -> shop, '.co.uk' -> uk (not 'co',
    # which 'coffee' or 'cocoa' contain; '.co' alone still counts, as before).
    tld_words = {t.rsplit(".", 1)[-1] for t in req.tlds}
    return {
        "invalid": float(bool(problems)),
        "constraint_broken": float(bool(problems or constraint_problems(domain.lower(), req))),
        "has_hyphen": float("-" in label),
        "has_digit": float(any(c.isdigit() for c in label)),
        "length": float(len(label)),
        "too_long": float(len(label) > TOO_LONG),
        "long": float(LONG < len(label) <= TOO_LONG),
        "bare": float(len(letters) <= 2 or label in BARE),
        "pronounceable": pronounceability(label),
        "consonant_run": float(max((len(m) for m in _CONS_RUN.findall(letters)), default=0)),
        "repeated": float(_repeated(letters, words)),
        "short_nonword": float(
            (len(letters) <= 3 and letters not in vocab) or not VOWELS & set(letters)
        ),
        "placeholder": float(bool(PLACEHOLDER & {p for p, _ in parts}) or letters in PLACEHOLDER),
        "tld_echo": float(any(len(w) >= 2 and w in letters for w in tld_words - {"com"})),
        "brand": _brand(label, letters, words, lex, desc.replace(" ", "")),
        "unsafe_word": _unsafe(letters, words, lex, desc),
        "segments": float(len(parts)),
        "coverage": round(1.0 - len(unknown) / max(1, len(letters)), 4),
        "unknown_chars": float(len(unknown)),
        "min_zipf": min(zipfs) if zipfs else 0.0,
        "fragment_parts": float(sum(len(p) <= 2 and p not in ("a", "i") for p, _ in parts)),
        "dictionary_word": float(word_z >= 3.0),
        "word_zipf": word_z,
        "phrase": _bigrams().get(pair, 0.0) / 8.0 if pair else 0.0,
        "misspelling": float(bool(misspelt)),
        "misspelt_request": float(_misspelt_request([p for p, _ in parts], desc_words, letters)),
        "desc_overlap": round(
            sum(len(w) for w in words if w[:5] in stems) / max(1, len(letters)), 4
        ),
    }


def word_spread(industries: dict[str, Any]) -> dict[str, float]:
    """Share of the bank's industries whose heads or tails hold each word (the bank's
    ``IndustryBank`` entries)."""
    counts: dict[str, int] = {}
    for ind in industries.values():
        for w in set(ind.heads) | set(ind.tails):
            counts[w] = counts.get(w, 0) + 1
    n = max(1, len(industries))
    return {w: c / n for w, c in counts.items()}


def add_filler(rows: list[dict[str, Any]], spread: dict[str, float]) -> None:
    """``filler`` (the most widely shared of the name's words) and ``filler_min`` (the least:
    0 when one word belongs to no industry's list, or to few), on rows with 'domain' and
    'features' (in place)."""
    for r in rows:
        shares = [spread.get(p, 0.0) for p in label_parts(r["domain"])] or [0.0]
        r["features"]["filler"] = round(max(shares), 4)
        r["features"]["filler_min"] = round(min(shares), 4)


def spoken(domain: str) -> str:
    """The name as words ('beanhaven.com' -> 'bean haven') for the embedding model."""
    label = label_of(domain.lower())
    return " ".join(p for c in re.split(r"[^a-z]+", label) if c for p, _ in segment(c)) or label


def sector_references() -> list[str]:
    """One text per industry of the synthetic word bank: what other businesses sound like."""
    from domainllm.synth.vocab import INDUSTRIES

    return [", ".join(ind.phrases) + ": " + ", ".join(ind.offers) for ind in INDUSTRIES.values()]


def add_relevance(rows: list[dict[str, Any]], embedder: Any) -> None:
    """Relevance features on rows with 'description', 'domain' and 'features' (in place).

    ``rel_phrase``: the name read as words vs the description; ``rel_max_part``: its best word;
    ``rel_contrast``: how much better the name fits this description than the other businesses
    it fits best; ``sector_match``: agreement of the name's and the description's profiles over
    the industry references; ``off_topic_word``: how much better its most foreign word fits
    another industry than this business (a pizza name for a sushi bar).
    """
    import numpy as np

    if not rows:
        return
    descs = sorted({r["description"] for r in rows})
    dvec = dict(zip(descs, embedder.encode(descs), strict=True))
    phrases = [spoken(r["domain"]) for r in rows]
    pvec = embedder.encode(phrases)
    parts = sorted({p for ph in phrases for p in ph.split() if len(p) >= 3})
    wvec = dict(zip(parts, embedder.encode(parts), strict=True)) if parts else {}
    refs = np.asarray(embedder.encode(sector_references()))

    def profile(v: Any) -> Any:
        s = np.exp(10.0 * (refs @ np.asarray(v)))
        return s / np.linalg.norm(s)

    dprof = {d: profile(v) for d, v in dvec.items()}
    for r, ph, pv in zip(rows, phrases, pvec, strict=True):
        f, d = r["features"], dvec[r["description"]]
        f["rel_phrase"] = round(float(pv @ d), 4)
        sims = [float(wvec[p] @ d) for p in ph.split() if p in wvec]
        f["rel_max_part"] = round(max(sims), 4) if sims else 0.0
        top = np.sort(refs @ np.asarray(pv))[-3:]
        f["rel_contrast"] = round(float(pv @ d) - float(top.mean()), 4)
        f["sector_match"] = round(float(profile(pv) @ dprof[r["description"]]), 4)
        # A word that fits some other industry better than this business ('pizza' for sushi).
        off = [float((refs @ np.asarray(wvec[p])).max()) - float(wvec[p] @ d)
               for p in ph.split() if p in wvec]  # fmt: skip
        f["off_topic_word"] = round(max(off), 4) if off else 0.0
