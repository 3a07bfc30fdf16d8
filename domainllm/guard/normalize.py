"""Undo the cheap obfuscations people use to slip words past a filter.

``normalize`` returns one canonical lowercase ASCII-ish string: NFKC (fullwidth and styled
letters), confusable letters from other scripts mapped to Latin, zero-width and control
characters dropped, leetspeak digits/symbols mapped to letters *inside words*, and runs of
single letters split by spaces or punctuation ("p o r n", "p.o.r.n") joined back together.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic / Greek / other letters that look like Latin ones (the common confusables).
HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ⅼ": "l", "ո": "n", "ս": "u",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ß": "ss", "ı": "i", "ø": "o",
        "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d",
    }
)  # fmt: skip
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}
)  # fmt: skip
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_LEET_WORD = re.compile(r"[a-z0-9@$!|+€£]*[a-z][a-z0-9@$!|+€£]*|[0-9@$!|+€£]+(?=[a-z])")
# Three or more single letters separated by the same kind of separator: "p o r n", "p.o.r.n".
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9@$](?:[\s.\-_*/\\,:;~·•|]+[a-z0-9@$](?![a-z0-9])){2,}")


def _strip_marks(text: str) -> str:
    """Drop combining accents (é -> e) so accented spellings match the plain word."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _deleet(match: re.Match[str]) -> str:
    word = match.group(0)
    # Plain numbers ("24", "2025") stay numbers; only mixed letter/digit words are decoded.
    return word.translate(LEET) if any(c.isalpha() for c in word) else word


def _join_spaced(match: re.Match[str]) -> str:
    word = re.sub(r"[^a-z0-9@$]", "", match.group(0))
    return word if word.isdigit() else word.translate(LEET)


def light(text: str) -> str:
    """NFKC, invisible/control characters, case, look-alike letters and accents only."""
    if not isinstance(text, str):
        text = str(text)
    t = unicodedata.normalize("NFKC", text)
    t = _INVISIBLE.sub("", t)
    t = "".join(c if c.isprintable() or c in "\n\t" else " " for c in t)
    t = t.casefold().translate(HOMOGLYPHS)
    t = _strip_marks(t)
    return re.sub(r"\s+", " ", t).strip()


def views(text: str) -> tuple[str, str]:
    """The light and the full normalisation (rules match either: 'under-18s' survives light)."""
    return light(text), normalize(text)


def normalize(text: str) -> str:
    """The canonical form the rules and the classifier see (never raises)."""
    t = light(text)
    t = _SPACED.sub(_join_spaced, t)
    t = _LEET_WORD.sub(_deleet, t)
    return re.sub(r"\s+", " ", t).strip()
