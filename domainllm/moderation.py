"""Output moderation: no suggested domain contains a blocked term.

The blocked terms are the policy lexicon's ``unsafe_words`` (``prompts/judge/lexicon.yaml``, the
same list the name judge and the synthetic targets use). A label is read through the guard's
normaliser (look-alike letters, leetspeak: ``k1ll`` is ``kill``) and split into words; it is
blocked when a word is a term (or its plural), when a part that is not a word contains a term
(``xxxdeals``), or when a term of 5+ letters spans word boundaries (``mur-derhub``). A dictionary
word that merely contains a term is not blocked (``therapist``, ``grapevine``, ``skillshare``,
``cocktail``), unless it is a rare compound of the term and another word (``pornhub``).
Strict on purpose: unlike the judge, a request's own words grant no exception (a pest-control
request may say "kills termites"; its names still may not say "kill").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from domainllm.guard.normalize import normalize
from domainllm.judge.features import label_of, load_lexicon, segment, word_zipfs

DEFAULT_LEXICON = Path(__file__).resolve().parent.parent / "prompts" / "judge" / "lexicon.yaml"


@dataclass(frozen=True)
class Moderator:
    """Checks names against a set of blocked terms."""

    terms: frozenset[str]
    hash: str = ""

    @classmethod
    def load(cls, lexicon: str | Path | None = None) -> Moderator:
        """The lexicon's unsafe words (the shipped file by default)."""
        lex = load_lexicon(lexicon or DEFAULT_LEXICON)
        return cls(frozenset(lex.unsafe_words), lex.hash)

    def blocked_term(self, domain: str) -> str | None:
        """The first blocked term the domain's name contains, else None."""
        text = normalize(label_of(domain.lower()).replace("-", " "))
        chunks = [c for c in re.split(r"[^a-z]+", text) if c]
        letters = "".join(chunks)
        parts = [p for c in chunks for p in segment(c)]
        for term in sorted(self.terms):
            for part, known in parts:
                if part in (term, term + "s", term + "es"):
                    return term
                if not known and len(term) >= 3 and term in part:
                    return term
                if known and _compound_of(part, term):
                    return term
            if (
                len(term) >= 5
                and term in letters
                and not any(known and term in part for part, known in parts)
            ):
                return term
        return None


def _compound_of(word: str, term: str) -> bool:
    """A rare dictionary entry spelt term + word ('pornhub'); common words stay ('cocktail')."""
    vocab = word_zipfs()
    rest = word[len(term) :]
    return (
        len(term) >= 4
        and word.startswith(term)
        and len(rest) >= 3
        and rest in vocab
        and vocab.get(word, 0.0) < COMMON_ZIPF
    )


COMMON_ZIPF = 3.5  # cocktail 3.9, cockpit 3.6 are everyday words; pornhub 3.0 is not
