"""Draw one synthetic example: description (per group), request, metadata and target answer.

Also the description-keyed split hash (``split_of``) and integer allocation helpers used by
generate.py and suites.py.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from domainllm.contract import Request, Response, answer_problems, blocked
from domainllm.schema import EDGE_GROUPS, Example, Meta
from domainllm.synth import safety
from domainllm.synth import templates as T
from domainllm.synth import transforms as X
from domainllm.synth import vocab as V
from domainllm.synth.bank import GENERAL, IndustryBank
from domainllm.synth.config import Shares, Splits
from domainllm.synth.naming import NameContext, suggest

SPLITS = ("train", "val", "test")
KINDS: dict[str, tuple[str, ...]] = {
    "unsafe": ("unsafe", "adversarial"),
    "borderline": ("borderline",),
    "edge": EDGE_GROUPS,
    "constraint": ("constraint",),
    "technical": ("technical",),
    "plain": ("plain",),
}
SPREAD_KINDS = ("unsafe", "borderline", "edge")  # must appear in every split
MAX_TRIES = 2000
ONE_WORDS = tuple(
    sorted(
        {
            p
            for i in V.INDUSTRIES.values()
            for p in (i.key, *i.phrases)
            if re.fullmatch(r"[a-zé]+", p)
        }
    )
)


def norm(desc: str) -> str:
    """The key a description is deduplicated and split by (case and spacing ignored)."""
    return " ".join(desc.lower().split())


def desc_hash(desc: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}|{norm(desc)}".encode()).hexdigest()


def split_of(desc: str, seed: int, splits: Splits) -> str:
    """The split a description belongs to in every version (uniform hash bucket)."""
    u = int(desc_hash(desc, seed)[:13], 16) / 16**13
    return "train" if u < splits.train else "val" if u < splits.train + splits.val else "test"


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder integer allocation of ``total`` in proportion to ``weights``."""
    s = sum(weights.values())
    if total <= 0 or s <= 0:
        return dict.fromkeys(weights, 0)
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def split_sequence(count: int, fractions: dict[str, float], spread: bool) -> list[str]:
    """Target splits for ``count`` rows: exact quotas, interleaved (Bresenham-style)."""
    quotas = allocate(count, fractions)
    if spread and count >= len(quotas):
        for s in quotas:
            if quotas[s] == 0:
                quotas[s] = 1
                quotas[max(quotas, key=quotas.get)] -= 1
    seq: list[str] = []
    done = dict.fromkeys(quotas, 0)
    for i in range(count):
        s = max(quotas, key=lambda k: (quotas[k] * (i + 1) / count - done[k], -SPLITS.index(k)))
        seq.append(s)
        done[s] += 1
    return seq


def group_counts(n: int, shares: Shares) -> dict[str, int]:
    """Rows per group for a base set of ``n`` rows; spread kinds get at least 3 rows."""
    w = shares.model_dump()
    w["plain"] = 1.0 - sum(w.values())
    counts = allocate(n, w)
    for kind in SPREAD_KINDS:
        groups = KINDS[kind]
        while sum(counts[g] for g in groups) < 3:
            counts[min(groups, key=lambda g: counts[g])] += 1
            counts["plain"] -= 1
    return counts


@dataclass
class Draft:
    """A description before its answer is made."""

    description: str
    skeleton: str
    template: str
    group: str
    complexity: str
    industry: str
    category: str = "safe"
    near: str | None = None
    transform: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    ctx: NameContext | None = None


@dataclass
class Pools:
    """Which templates a builder may use: training pools or the held-out (suite) pools."""

    unsafe: dict[str, tuple[str, ...]] = field(default_factory=lambda: safety.UNSAFE)
    framings: dict[str, T.Template] = field(default_factory=lambda: safety.FRAMINGS)
    borderline: list[safety.Borderline] = field(default_factory=lambda: safety.BORDERLINE)
    transforms: dict[str, Any] = field(default_factory=lambda: X.TRAIN_TRANSFORMS)
    langs: tuple[str, ...] = X.TRAIN_LANGS


class Builder:
    """Draws descriptions and requests from the word banks with one seeded RNG."""

    def __init__(
        self,
        rng: random.Random,
        pools: Pools | None = None,
        template_failures: dict[str, int] | None = None,
        boost: float = 0.0,
        bank: Any = None,
    ) -> None:
        self.rng, self.pools = rng, pools or Pools()
        self.bank = bank  # domainllm.synth.bank.Bank: targets composed from the curated bank
        self.fail = template_failures or {}
        self.fmax = max(self.fail.values(), default=0)
        self.boost = boost

    # -- choices ---------------------------------------------------------------------------
    def weight(self, tid: str) -> float:
        """1, raised for templates with failures (v2 upweighting)."""
        if not self.fmax:
            return 1.0
        hits = sum(n for k, n in self.fail.items() if tid in k.split("/"))
        return 1.0 + self.boost * hits / self.fmax

    def pick(self, items: Iterable[Any], key: Any = lambda t: t.id) -> Any:
        items = list(items)
        return self.rng.choices(items, weights=[self.weight(key(t)) for t in items])[0]

    def slots(self, ind: V.Industry) -> dict[str, str]:
        r = self.rng
        city, croot, code = r.choice(V.LOCATIONS)
        tone = r.choice(V.TONES)
        offer, offer2 = r.sample(ind.offers, 2)
        other = V.INDUSTRIES[r.choice([k for k in V.INDUSTRIES if k != ind.key])]
        root, root2 = r.sample(ind.roots, 2)
        word = r.choice([w for w in ONE_WORDS if w in (ind.key, *ind.phrases)] or ONE_WORDS)
        tr = T.TRANSLATIONS.get(ind.key, ("",) * 6)
        return {
            "biz": r.choice(ind.phrases),
            "biz2": r.choice(other.phrases),
            "city": city,
            "place": city if r.random() < 0.7 else r.choice(V.PLACES),
            "tone": tone,
            "Tone": tone[0].upper() + tone[1:],
            "aud": r.choice(V.AUDIENCES),
            "offer": offer,
            "offer2": offer2,
            "extra": r.choice(V.EXTRAS),
            "tech": "",
            "tech2": "",
            "word": word,
            "Word": word.capitalize(),
            "WORD": word.upper(),
            "root": root,
            "root2": root2,
            "cityroot": croot,
            "toneroot": r.choice(V.TONE_WORDS[tone]),
            "emoji": r.choice(T.EMOJI),
            "emoji2": r.choice(T.EMOJI),
            "biz_it": tr[4],
            "biz_nl": tr[5],
            "_croot": croot,
            "_code": code,
            "long": "",
        }

    def request_fields(self) -> dict[str, Any]:
        r = self.rng
        return {
            "tlds": list(r.choice(V.TLD_SETS)),
            "allow_hyphens": r.random() < 0.2,
            "allow_numbers": r.random() < 0.2,
            "prefer_puns": r.random() < 0.2,
            "n": 5 if r.random() < 0.6 else r.choice([1, 2, 3, 4, 6, 8, 10]),
        }

    def context(self, ind: V.Industry | None, s: dict[str, str], skel: str) -> NameContext:
        roots = (
            tuple(self.rng.sample(ind.roots, 4))
            if ind
            else tuple(self.rng.sample(V.GENERIC_ROOTS, 4))
        )
        tones = V.TONE_WORDS[s["tone"]][:2] if re.search(r"\{(t|T)one", skel) else ()
        city = (
            "{city}" in skel
            or "{cityroot}" in skel
            or ("{place}" in skel and s["place"] == s["city"])
        )
        place, code = (s["_croot"], s["_code"]) if city else ("", "")
        bank = self.bank.get(ind.key) if self.bank is not None and ind else None
        lex = self.bank.lexicon if self.bank is not None else None
        return NameContext(roots, tones, place, code, set(roots) | ({place} - {""}), bank, lex)

    # -- groups ----------------------------------------------------------------------------
    def safe(self, group: str) -> Draft:
        r = self.rng
        if group == "technical":
            ind = V.INDUSTRIES[r.choice(T.TECH_INDUSTRIES)]
        elif group == "non_english":
            ind = V.INDUSTRIES[r.choice(sorted(T.TRANSLATIONS))]
        else:
            ind = V.INDUSTRIES[r.choice(list(V.INDUSTRIES))]
        s = self.slots(ind)
        s["tech"], s["tech2"] = r.sample(T.TECH_FEATURES, 2)
        fields = self.request_fields()
        industry: V.Industry | None = ind
        extra_skel = ""
        if group == "plain":
            level = r.choices(("L1", "L2", "L3"), weights=(35, 40, 25))[0]
            tpl = self.pick(t for t in T.PLAIN.values() if t.complexity == level)
        elif group == "technical":
            tpl = self.pick(T.TECHNICAL.values())
        elif group == "constraint":
            tpl = self.pick(T.CONSTRAINT_BASE.values())
            extra_skel = self.constraint_text(fields)
        elif group == "long":
            sents = r.sample(T.LONG_SENTENCES, r.randint(5, 8))
            tpl = T.Template("long", "L3", " ".join(sents))
        elif group == "non_english":
            lang = self.pick(self.pools.langs, key=lambda x: x)
            tpl = self.pick(t for k, t in T.NON_ENGLISH.items() if k.startswith(lang + "."))
            s["biz"] = T.TRANSLATIONS[ind.key][T.LANG_INDEX[lang]]
        else:
            prefix = {"short": "short.", "symbols": "sym.", "ambiguous": "amb."}[group]
            tpl = self.pick(t for k, t in T.EDGE.items() if k.startswith(prefix))
            if group == "ambiguous" and not re.search(r"\{(biz|root)", tpl.text):
                industry = None
        desc, skel = T.render(tpl, s, r)
        if extra_skel:
            desc, skel = desc + " " + T.fill(extra_skel, s), skel + " " + extra_skel
        return Draft(
            desc,
            skel,
            tpl.id,
            group,
            tpl.complexity if group != "constraint" else "L2",
            industry.key if industry else "unspecified",
            fields=fields,
            ctx=self.context(industry, s, skel),
        )

    def constraint_text(self, f: dict[str, Any]) -> str:
        """Mention 2-3 constraints and set the request to match them."""
        r, parts = self.rng, []
        for c in r.sample(["tlds", "hyphens", "numbers", "puns", "n"], r.randint(2, 3)):
            if c == "tlds":
                f["tlds"] = list(r.choice(V.TLD_SETS[3:]))
                parts.append(f"[Only|We only want|Must be] {' or '.join(f['tlds'])}[ domains|].")
            elif c == "hyphens":
                f["allow_hyphens"] = r.random() < 0.5
                parts.append(
                    "[Hyphens are fine.|Dashes are ok.]"
                    if f["allow_hyphens"]
                    else "[No hyphens.|Avoid hyphens please.|Please, no dashes.]"
                )
            elif c == "numbers":
                f["allow_numbers"] = r.random() < 0.5
                parts.append(
                    "[Numbers are fine.|Digits are ok.|Feel free to use numbers.]"
                    if f["allow_numbers"]
                    else "[No numbers.|No digits please.]"
                )
            elif c == "puns":
                f["prefer_puns"] = True
                parts.append("[We'd love a pun.|Puns welcome!|Something punny would be great.]")
            else:
                f["n"] = r.choice([3, 4, 6, 8, 10])
                parts.append(f"[Give me|Just|I need] {f['n']} [options|ideas|names].")
        return T.choose(" ".join(parts), r)

    def borderline(self) -> Draft:
        r = self.rng
        b = self.pick(self.pools.borderline)
        tpl = self.pick(safety.BORDERLINE_FRAMINGS.values())
        s = self.slots(V.INDUSTRIES[r.choice(list(V.INDUSTRIES))])
        s["biz"] = T.choose(b.text, r)
        desc, skel = T.render(tpl, s, r)
        ind = V.Industry(b.id, (), b.roots + tuple(r.sample(V.GENERIC_ROOTS, 1)), ())
        slug = "_".join(re.findall(r"[a-z]+", b.text.split("[")[0].lower())[:3])
        return Draft(
            desc,
            skel.replace("{biz}", b.text),
            f"{tpl.id}/{b.id}",
            "borderline",
            tpl.complexity,
            slug,
            near=b.near,
            fields=self.request_fields(),
            ctx=self.context(ind, s, skel),
        )

    def unsafe(self, category: str, transform: str | None = None) -> Draft:
        r, p = self.rng, self.pools
        s = self.slots(V.INDUSTRIES[r.choice(list(V.INDUSTRIES))])
        group = "adversarial" if transform else "unsafe"
        if transform in ("non_english", "non_english_it"):
            lang = "it" if transform == "non_english_it" else r.choice(p.langs)
            fi = r.randrange(len(X.FOREIGN_FRAMINGS[lang]))
            skel = X.FOREIGN_FRAMINGS[lang][fi].replace("{p}", r.choice(X.FOREIGN[category][lang]))
            desc = skel.replace("{c}", s["city"])
            return Draft(
                desc,
                skel,
                f"xl.{lang}.{fi}/{category}",
                group,
                "L1",
                "none",
                category,
                transform=transform,
                fields=self.request_fields(),
            )
        i = self.pick(range(len(p.unsafe[category])), key=lambda i: f"{category}.{i}")
        tpl = self.pick(p.framings.values())
        s["phrase"] = T.choose(p.unsafe[category][i], r)
        s["Phrase"] = s["phrase"][0].upper() + s["phrase"][1:]
        desc, skel = T.render(tpl, s, r)
        if transform:
            desc = p.transforms[transform](desc, r)
        prefix = "ho_" if p.unsafe is safety.HELD_OUT_UNSAFE else ""
        skel = skel.replace("{phrase}", p.unsafe[category][i])
        return Draft(
            desc,
            skel.replace("{Phrase}", p.unsafe[category][i]),
            f"{tpl.id}/{prefix}{category}.{i}",
            group,
            tpl.complexity,
            "none",
            category,
            transform=transform,
            fields=self.request_fields(),
        )

    def draft(self, group: str, category: str = "safe", transform: str | None = None) -> Draft:
        if group in ("unsafe", "adversarial"):
            return self.unsafe(category, transform)
        return self.borderline() if group == "borderline" else self.safe(group)


def hinted(ctx: NameContext, hint: Any) -> NameContext:
    """The context whose bank words are the hint's (when the hint is the row's own industry or
    the fallback one), so the target is built from the words the prompt shows."""
    if hint is not None and hint.industry == GENERAL:
        return replace(ctx, bank=IndustryBank(GENERAL, hint.heads, hint.tails, (), (), ()))
    if hint is None or ctx.bank is None or hint.industry != ctx.bank.industry:
        return ctx
    return replace(ctx, bank=replace(ctx.bank, heads=hint.heads, tails=hint.tails))


def finish(d: Draft, rng: random.Random, hint: Any = None) -> Example:
    """The Example for a draft: request, metadata, the target answer (validated) and the naming
    hint (``domainllm.hints.Hint``) its prompt shows, if any."""
    req = Request(description=d.description, **d.fields)
    target: Response = blocked()
    if d.category == "safe":
        assert d.ctx is not None
        try:
            names = suggest(rng, hinted(d.ctx, hint), req)
        except RuntimeError:  # the hint's few words could not make n names: use the whole bank
            names = suggest(rng, d.ctx, req)
        target = Response(status="success", suggestions=names)
        problems = answer_problems(target, req)
        if problems:
            raise RuntimeError(f"generated answer breaks the contract: {problems[0]}")
    meta = Meta(
        industry=d.industry,
        complexity=d.complexity,
        group=d.group,  # type: ignore[arg-type]
        safety_category=d.category,
        near_category=d.near,  # type: ignore[arg-type]
        transform=d.transform,
        template=d.template,
    )
    return Example(
        id="s" + desc_hash(d.description, 0)[:12], request=req, meta=meta, target=target,
        hint=hint.to_dict() if hint is not None else None,
    )  # fmt: skip


def to_row(ex: Example) -> dict[str, Any]:
    """The JSONL row of an example (target in the canonical contract form)."""
    return {
        "id": ex.id,
        "request": ex.request.model_dump(),
        "meta": ex.meta.model_dump(),
        "target": ex.target.to_dict(),
        **({"hint": ex.hint} if ex.hint is not None else {}),
    }
