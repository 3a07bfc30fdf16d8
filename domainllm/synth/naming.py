"""The naming engine: candidate domain names from several strategies, plus a heuristic confidence.

With the curated bank (``data/naming``, ``bank.py``) for the request's industry, candidates are
composed from it: ``compound`` (a head and a tail word, most targets: new names, not recalled
ones), ``location`` (the city and a tail), ``blend`` and ``pun`` (the bank's coined words),
``curated`` (a few of its complete names); each must pass the name judge's hard checks
(``target_ok``). Without a bank entry (generic requests) the word-bank engine runs: ``compound``
(two words), ``blend`` (overlap portmanteau through a pronounceability filter), ``affix``
(prefix/suffix), ``location`` (city name or code), ``pun`` (curated puns and rhymes; used when
the request prefers puns) and ``abbrev`` (short initialisms).

Confidence heuristic (documented in docs/DATA_SCHEMA.md), rounded to 2 decimals, clipped to
[0.30, 0.97]: 0.50, +0.15 if the label is at most 8 characters (+0.08 at most 12, -0.10 over 16),
+0.10 if it contains a word from the description's industry or location, a strategy prior
(compound and curated +0.08, location +0.06, affix +0.05, blend +0.04, pun +0.10 when puns are
preferred else +0.02, abbrev -0.06), +0.04 for the first requested TLD, -0.06 per hyphen,
-0.05 for digits.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from domainllm.contract import Request, Suggestion, constraint_problems, domain_problems

SUFFIX_NOUNS = (
    "haven",
    "hub",
    "works",
    "lab",
    "nest",
    "craft",
    "spot",
    "house",
    "studio",
    "collective",
    "corner",
    "point",
    "den",
    "co",
    "base",
    "yard",
    "field",
    "shop",
    "loft",
    "guild",
)
PREFIXES = ("get", "try", "my", "hey", "the", "go", "hello", "just")
SUFFIXES = ("ly", "ify", "hq", "topia", "ista", "ology", "verse", "able", "hub")
MODIFIERS = ("little", "golden", "urban", "bright", "true", "north", "wild", "blue", "good")
BLEND_PARTNERS = (
    "haven", "nest", "oasis", "arbor", "orbit", "meadow", "willow", "anchor",
    "amber", "summit", "harbor", "aurora", "nova", "icon", "atlas",
)  # fmt: skip
NUMBER_FORMS = ("{r}4u", "{r}2go", "{r}365", "24{r}", "1st{r}", "{r}247", "{r}4all")
RHYME_WORDS = (
    "crew",
    "view",
    "flow",
    "glow",
    "spark",
    "park",
    "lane",
    "way",
    "day",
    "nest",
    "zest",
    "hub",
    "club",
    "art",
    "bay",
    "joy",
    "bee",
    "nook",
    "book",
    "spot",
    "top",
    "shop",
    "tree",
    "hill",
    "mill",
    "ring",
    "wing",
    "trail",
    "time",
    "cake",
    "lake",
    "make",
    "light",
    "mate",
    "hive",
    "jive",
    "tune",
    "moon",
    "lane",
    "bean",
    "scene",
    "dream",
    "team",
    "beam",
    "fair",
    "care",
    "fix",
    "mix",
    "pop",
    "hop",
    "rest",
    "quest",
    "grove",
    "cove",
    "roam",
    "dome",
)
PUNS: dict[str, tuple[str, ...]] = {
    "brew": ("brewtiful", "brewniverse", "brewhaha"),
    "bean": ("beanthere", "hasbean", "beanius"),
    "dough": ("doughnation", "doughremi"),
    "loaf": ("loafly", "loafandbehold"),
    "crumb": ("crumbtastic",),
    "paw": ("pawsome", "pawfect", "pawsitive"),
    "fur": ("furever", "furtastic"),
    "wag": ("wagnificent",),
    "pup": ("pupular", "pupstar"),
    "bloom": ("bloomtastic", "bloomingmarvelous"),
    "petal": ("petalpusher",),
    "tea": ("teariffic", "tealightful"),
    "chai": ("chaitime",),
    "scoop": ("scooptastic",),
    "hop": ("hopportunity", "hoptimist"),
    "ale": ("alementary",),
    "malt": ("maltitude",),
    "knit": ("knitwit",),
    "clay": ("claymates",),
    "kiln": ("kilnit",),
    "lens": ("lensational",),
    "frame": ("frameofmind",),
    "curl": ("curlupanddye",),
    "mane": ("maneevent", "manestreet"),
    "zen": ("zenergy", "zensational"),
    "pose": ("posetive",),
    "sweat": ("sweatequity",),
    "lift": ("liftoff",),
    "smile": ("smilesahead",),
    "floss": ("flossboss",),
    "pipe": ("pipedream",),
    "spark": ("sparktacular",),
    "lawn": ("lawnranger", "lawnorder"),
    "clean": ("cleansweep",),
    "sprout": ("sproutandabout",),
    "note": ("noteworthy",),
    "chord": ("chordially",),
    "roam": ("roamantic",),
    "stay": ("staycation",),
    "gear": ("gearedup",),
    "pedal": ("pedalpushers",),
    "byte": ("bytesized",),
    "cloud": ("cloudnine",),
    "cent": ("centsible", "makecents"),
    "shield": ("shieldsup",),
    "nest": ("nestegg",),
    "buzz": ("buzzworthy",),
    "pixel": ("pixelperfect",),
    "stitch": ("stitchintime",),
    "glow": ("glowup",),
    "hive": ("hivemind",),
    "bee": ("beeline", "letitbee"),
    "mic": ("micdrop",),
    "sky": ("skyhigh",),
    "solar": ("solarflair",),
    "sun": ("sunsational",),
    "loop": ("loopdeloop",),
    "vet": ("vetsetgo",),
    "table": ("tablefortwo",),
    "fork": ("forklore",),
    "grill": ("grillseeker",),
    "page": ("pageturner",),
    "novel": ("novelidea",),
    "ink": ("inkredible",),
    "spice": ("spiceoflife",),
    "coin": ("coinsidence",),
    "key": ("keymoment",),
    "wheel": ("wheelydeal",),
    "home": ("homesweethome",),
    "gem": ("gemtastic",),
    "toy": ("toytally",),
}
VOWELS = set("aeiouy")
OK_CLUSTERS = ("str", "scr", "spr", "spl", "thr", "chr", "sch", "ght", "nch", "tch", "nst", "rst")
MAX_RUN_CONS = 3


def pronounceable(word: str) -> bool:
    """A blend is kept only if it reads like a word: letters only, 5-12 long, a vowel, no run of
    3+ consonants except common clusters, no 3 vowels or 3 equal letters in a row."""
    if not re.fullmatch(r"[a-z]{5,12}", word) or not VOWELS & set(word):
        return False
    if re.search(r"([a-z])\1\1", word) or re.search(r"[aeiou]{3}", word):
        return False
    for run in re.findall(r"[^aeiouy]{3,}", word):
        if len(run) > MAX_RUN_CONS or run not in OK_CLUSTERS:
            return False
    return True


def blend(a: str, b: str) -> str | None:
    """Overlap portmanteau: 'bloom' + 'meadow' -> 'bloomeadow' (the shared letters once)."""
    for k in range(min(len(a), len(b), 3) - 1, 0, -1):
        # keep 3+ letters of each word; a 1-letter overlap needs a long partner and no silent e
        ok_one = len(b) >= 5 and not (b[0] == "e" and a.endswith("e"))
        fresh = b[k:] not in a and a[-3:] != b[-3:]  # not 'pillow' + 'willow'
        if (
            a.endswith(b[:k])
            and len(a) - k >= 3
            and len(b) - k >= 3
            and (k > 1 or ok_one)
            and fresh
        ):
            word = a + b[k:]
            return word if pronounceable(word) else None
    return None


def rime(word: str) -> str:
    """The end of a word from its last vowel group ('brew' -> 'ew', 'spark' -> 'ark')."""
    w = word[:-1] if word.endswith("e") and len(word) > 3 else word
    m = re.search(r"[aeiou]+[^aeiou]*$", w)
    return m.group(0) if m else w


@dataclass
class NameContext:
    """What the engine knows about a request: topic words, tone words, place and its code, and
    the curated bank's material for its industry (with the lexicon targets are checked with)."""

    roots: tuple[str, ...]
    tone_words: tuple[str, ...] = ()
    place: str = ""
    place_code: str = ""
    relevant: set[str] = field(default_factory=set)
    bank: Any = None  # domainllm.synth.bank.IndustryBank
    lexicon: Any = None  # domainllm.judge.features.Lexicon


def _bank_candidates(rng: random.Random, ctx: NameContext, req: Request) -> dict[str, list[tuple]]:
    """Candidates composed from the curated bank: head + tail compounds (new names, most of
    them), place + tail, the bank's blends, puns when preferred, and a few complete names."""
    b = ctx.bank
    heads, tails = list(b.heads), list(b.tails)
    out: dict[str, list[tuple]] = {"compound": [], "location": [], "blend": [], "pun": []}
    out["curated"] = [(n,) for n in rng.sample(b.names, min(2, len(b.names)))]
    for h in rng.sample(heads, min(14, len(heads))):
        out["compound"].append((h, rng.choice(tails)))
    for t in ctx.tone_words:
        out["compound"].append((t, rng.choice(tails)))
    if ctx.place:
        out["location"] += [(ctx.place, t) for t in rng.sample(tails, min(3, len(tails)))]
    out["blend"] += [(w,) for w in rng.sample(b.blends, min(2, len(b.blends)))]
    if req.prefer_puns:
        out["pun"] += [(w,) for w in b.puns]
    for v in out.values():
        rng.shuffle(v)
    # Compounds of at most 12 letters are used first: in review 2026-12-03-bank the model's
    # names under 10 letters were rated good twice as often as longer ones (21% vs 10-11%).
    out["compound"].sort(key=lambda p: len("".join(p)) <= SHORT)
    return out


SHORT = 12  # letters of a compound target preferred over longer ones


def target_ok(domain: str, req: Request, lexicon: Any, pun: bool = False) -> bool:
    """A target passes the name judge's hard checks: no gate, not a single common dictionary
    word (surely taken), not a misspelling (puns may bend a word on purpose)."""
    from domainllm.judge.features import GATES, name_features

    f = name_features(domain, req, lexicon)
    if any(f[g] for g in GATES) or f["dictionary_word"]:
        return False
    return pun or not (f["misspelling"] or f["misspelt_request"])


def _candidates(rng: random.Random, ctx: NameContext, req: Request) -> dict[str, list[tuple]]:
    """Candidate parts per strategy (parts are joined with '' or '-' later)."""
    roots, tones = list(ctx.roots), list(ctx.tone_words)
    out: dict[str, list[tuple]] = {k: [] for k in ("compound", "blend", "affix", "location")}
    out |= {"pun": [], "abbrev": []}
    for r in roots:
        out["compound"] += [(r, s) for s in rng.sample(SUFFIX_NOUNS, 4)]
        out["compound"] += [(t, r) for t in tones] + [(rng.choice(MODIFIERS), r)]
        out["compound"] += [(r, r2) for r2 in roots if r2 != r and len(r + r2) <= 12][:2]
        out["affix"] += [(p + r,) for p in rng.sample(PREFIXES, 2)]
        out["affix"] += [(r + s,) for s in rng.sample(SUFFIXES, 2) if not r.endswith(s[0])]
        out["blend"] += [(w,) for p in BLEND_PARTNERS if (w := blend(r, p))]
        out["blend"] += [(w,) for r2 in roots if r2 != r and (w := blend(r, r2))]
        if ctx.place:
            out["location"] += [(ctx.place, r), (r, ctx.place)]
        if ctx.place_code:
            out["abbrev"] += [(ctx.place_code + r,), (r + ctx.place_code,)]
        if req.prefer_puns:
            out["pun"] += [(p,) for p in PUNS.get(r, ())]
            out["pun"] += [(r, w) for w in RHYME_WORDS if rime(w) == rime(r) and w != r]
        if req.allow_numbers:
            out["affix"] += [(f.format(r=r),) for f in rng.sample(NUMBER_FORMS, 2)]
    for v in out.values():
        rng.shuffle(v)
    return out


def confidence(label: str, strategy: str, tld_first: bool, ctx: NameContext, puns: bool) -> float:
    """The documented heuristic (module docstring); deterministic."""
    n = len(label)
    c = 0.5 + (0.15 if n <= 8 else 0.08 if n <= 12 else -0.10 if n > 16 else 0.0)
    c += 0.10 if any(w in label for w in ctx.relevant) else 0.0
    prior = {"compound": 0.08, "location": 0.06, "affix": 0.05, "blend": 0.04, "abbrev": -0.06,
             "curated": 0.08}  # fmt: skip
    c += prior.get(strategy, 0.10 if puns else 0.02) + (0.04 if tld_first else 0.0)
    c -= 0.06 * label.count("-") + (0.05 if any(ch.isdigit() for ch in label) else 0.0)
    return round(min(0.97, max(0.30, c)), 2)


def suggest(rng: random.Random, ctx: NameContext, req: Request) -> list[Suggestion]:
    """``req.n`` distinct, valid, constraint-satisfying suggestions, best first."""
    if ctx.bank is not None:
        pools = _bank_candidates(rng, ctx, req)
        # Mostly new compounds: at most one blend and one of the bank's own names per round,
        # so the model learns to compose names rather than recall a stock list.
        order = ["pun"] * req.prefer_puns + ["compound", "location", "compound", "compound"]
        order += ["blend", "compound", "curated"]
    else:
        pools = _candidates(rng, ctx, req)
        order = ["pun"] * req.prefer_puns + ["compound", "location", "blend", "affix", "compound"]
        order += ["abbrev"] + ["pun"] * (not req.prefer_puns)
    picked: list[tuple[str, str, str]] = []  # (domain, label, strategy)
    labels: set[str] = set()
    while len(picked) < req.n and any(pools.values()):
        for strategy in order:
            if len(picked) >= req.n:
                break
            pool = pools[strategy]
            while pool:
                parts = pool.pop()
                # hyphens rarely even when allowed: reviews rated hyphenated names 0 good of 40
                hyphen = req.allow_hyphens and len(parts) > 1 and rng.random() < 0.1
                label = ("-" if hyphen else "").join(parts)
                tld = req.tlds[0] if rng.random() < 0.6 else rng.choice(req.tlds)
                dom = label + tld
                if label in labels or domain_problems(dom) or constraint_problems(dom, req):
                    continue
                if ctx.lexicon is not None and not target_ok(dom, req, ctx.lexicon,
                                                             strategy == "pun"):  # fmt: skip
                    continue
                labels.add(label)
                picked.append((dom, label, strategy))
                break
    if len(picked) < req.n:  # never expected with the word banks; fail loudly, not silently
        raise RuntimeError(f"naming engine found {len(picked)} of {req.n} names for {ctx.roots}")
    sugg = [
        Suggestion(
            domain=d,
            confidence=confidence(lab, s, d.endswith(req.tlds[0]), ctx, req.prefer_puns),
        )
        for d, lab, s in picked
    ]
    return sorted(sugg, key=lambda s: -s.confidence)
