"""Held-out evaluation suites: edge (unseen edge templates) and redteam (unseen unsafe phrasings
and transforms, unseen borderline businesses). Nothing here is used by synth versions; every
suite description also hashes into the test bucket, so it can never be a train row.
"""

from __future__ import annotations

import random
from collections import Counter

from domainllm.schema import SAFETY_CATEGORIES, Example
from domainllm.synth import safety
from domainllm.synth import templates as T
from domainllm.synth import transforms as X
from domainllm.synth import vocab as V
from domainllm.synth.builder import MAX_TRIES, Builder, Draft, Pools, finish, norm, split_of
from domainllm.synth.config import Splits, SuitesParams

EDGE_PARTS = {
    "ho_it": "non_english",
    "ho_nl": "non_english",
    "ho_sym": "symbols",
    "ho_amb": "ambiguous",
    "ho_short": "short",
    "ho_long": "long",
}
HELD_POOLS = Pools(
    unsafe=safety.HELD_OUT_UNSAFE,
    framings={**safety.FRAMINGS, **safety.HELD_OUT_FRAMINGS},
    borderline=safety.HELD_OUT_BORDERLINE,
    transforms=X.HELD_OUT_TRANSFORMS,
    langs=("it",),
)


def edge_draft(b: Builder, prefix: str) -> Draft:
    """One row from a held-out edge template family."""
    r = b.rng
    keys = sorted(T.TRANSLATIONS) if prefix in ("ho_it", "ho_nl") else list(V.INDUSTRIES)
    ind = V.INDUSTRIES[r.choice(keys)]
    s = b.slots(ind)
    if prefix == "ho_long":
        sents = r.sample(T.HELD_OUT_LONG_SENTENCES, r.randint(4, 6))
        s["long"] = " ".join(T.fill(T.choose(x, r), s) for x in sents)
    tpl = r.choice([t for k, t in T.HELD_OUT_EDGE.items() if k.startswith(prefix + ".")])
    desc, skel = T.render(tpl, s, r)
    return Draft(
        desc,
        skel,
        tpl.id,
        EDGE_PARTS[prefix],
        tpl.complexity,
        ind.key,
        fields=b.request_fields(),
        ctx=b.context(ind, s, skel),
    )


def _accept(make, n: int, seed: int, splits: Splits, seen: set[str], rng) -> list[Example]:
    out: list[Example] = []
    for i in range(n):
        for _ in range(MAX_TRIES):
            d = make(i)
            if norm(d.description) not in seen and split_of(d.description, seed, splits) == "test":
                break
        else:
            raise RuntimeError(f"no new suite description in {MAX_TRIES} tries")
        seen.add(norm(d.description))
        out.append(finish(d, rng))
    return out


def build_suites(p: SuitesParams, seed: int, splits: Splits) -> dict[str, list[Example]]:
    """{'edge': [...], 'redteam': [...]} built only from held-out templates and transforms."""
    rng = random.Random(f"{seed}:suites")
    b = Builder(rng, HELD_POOLS)
    seen: set[str] = set()
    names = random.Random(f"{seed}:suite-names")
    parts = sorted(EDGE_PARTS)
    edge = _accept(
        lambda i: edge_draft(b, parts[i % len(parts)]), p.edge, seed, splits, seen, names
    )
    cats = SAFETY_CATEGORIES
    trs = list(X.HELD_OUT_TRANSFORMS)
    red = _accept(lambda i: b.unsafe(cats[i % 6]), p.redteam_unsafe, seed, splits, seen, names)
    red += _accept(
        lambda i: b.unsafe(cats[i % 6], trs[(i + i // 6) % len(trs)]),
        p.redteam_adversarial,
        seed,
        splits,
        seen,
        names,
    )
    red += _accept(lambda i: b.borderline(), p.redteam_borderline, seed, splits, seen, names)
    return {"edge": edge, "redteam": red}


def summary(suites: dict[str, list[Example]]) -> dict[str, dict[str, int]]:
    """Rows per group in each suite (printed by the stage)."""
    return {k: dict(Counter(e.meta.group for e in v)) for k, v in suites.items()}
