"""Build a synthetic dataset version: stratified description-keyed splits and augmentation.

Splits are decided by a hash of the normalised description (``builder.split_of``), so one
description lands in the same split in every version and a test description can never be a
train row anywhere. Each stratum (unsafe, borderline, edge, constraint, technical, plain) gets
exact 70/15/15 quotas (at least one row per split where it has 3+ rows); each row is generated
for its target split by drawing candidates until one hashes there (rejection sampling).
A version with ``base`` (v2) rebuilds the base recipe bit for bit, keeps its test split, and
adds ``augment.n`` hard-case rows to train/val, upweighting groups/templates with failures.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from domainllm.schema import SAFETY_CATEGORIES, Example
from domainllm.synth import transforms as X
from domainllm.synth.builder import (
    KINDS,
    MAX_TRIES,
    SPLITS,
    SPREAD_KINDS,
    Builder,
    allocate,
    finish,
    group_counts,
    norm,
    split_of,
    split_sequence,
)
from domainllm.synth.config import Augment, SynthParams

Spec = tuple[str, str, str | None, str]  # group, category, transform, target split


@dataclass
class Built:
    """A built version: rows per split, skeletons (for paraphrase checks), augmentation notes."""

    splits: dict[str, list[Example]]
    skeletons: list[str] = field(default_factory=list)
    augmentation: dict[str, Any] | None = None


def kind_specs(
    groups: dict[str, int], seq_fracs: dict[str, float], spread: bool, counter: Counter[str]
) -> list[Spec]:
    """Interleaved specs for one stratum with their target splits."""
    order: list[str] = []
    left = dict(groups)
    while any(left.values()):
        for g in sorted(left):
            if left[g]:
                order.append(g)
                left[g] -= 1
    specs: list[Spec] = []
    for g, split in zip(order, split_sequence(len(order), seq_fracs, spread), strict=True):
        cat, tr = "safe", None
        if g in ("unsafe", "adversarial"):
            i = counter[g]
            cat = SAFETY_CATEGORIES[i % len(SAFETY_CATEGORIES)]
            if g == "adversarial":
                names = list(X.TRAIN_TRANSFORMS)
                tr = names[(i + i // len(SAFETY_CATEGORIES)) % len(names)]
            counter[g] += 1
        specs.append((g, cat, tr, split))
    return specs


def realise(
    specs: list[Spec],
    builder: Builder,
    seed: int,
    p: SynthParams,
    seen: set[str],
    fin_rng: random.Random,
    short: Counter[str] | None = None,
    hinter: Any = None,
) -> tuple[dict[str, list[Example]], list[str]]:
    """Generate one row per spec whose description hashes into the spec's split.

    A group whose description space is used up raises, unless ``short`` is given: then the
    spec is skipped and counted there (augmentation may ask a small group for more than exists).
    """
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    skeletons: list[str] = []
    drafts: list[tuple[str, Any]] = []
    for group, cat, tr, split in specs:
        for _ in range(MAX_TRIES):
            d = builder.draft(group, cat, tr)
            key = norm(d.description)
            if key not in seen and split_of(d.description, seed, p.splits) == split:
                break
        else:
            if short is None:
                raise RuntimeError(
                    f"no new {group}/{cat} description for {split} in {MAX_TRIES} tries"
                )
            short[group] += 1
            continue
        seen.add(key)
        drafts.append((split, d))
        skeletons.append(d.skeleton)
    # Hints in one batch (one MiniLM pass), then targets composed from them, in draft order.
    hints = hinter.hints([d.description for _, d in drafts]) if hinter else [None] * len(drafts)
    for (split, d), hint in zip(drafts, hints, strict=True):
        out[split].append(finish(d, fin_rng, hint))
    return out, skeletons


def build_base(
    n: int, p: SynthParams, seen: set[str], bank: Any = None, hinter: Any = None
) -> Built:
    """The base recipe: ``n`` rows in the configured shares, split 70/15/15 per stratum."""
    counts = group_counts(n, p.shares)
    fracs = p.splits.model_dump()
    counter: Counter[str] = Counter()
    specs: list[Spec] = []
    for kind, groups in KINDS.items():
        # each group is its own stratum when it can fill every split, else the kind is one
        strata = [(g,) for g in groups] if min(counts[g] for g in groups) >= 3 else [groups]
        for st in strata:
            specs += kind_specs({g: counts[g] for g in st}, fracs, kind in SPREAD_KINDS, counter)
    rng = random.Random(f"{p.seed}:base:{n}")
    names = random.Random(f"{p.seed}:names")
    splits, skel = realise(specs, Builder(rng, bank=bank), p.seed, p, seen, names, None, hinter)
    for s in SPLITS:
        random.Random(f"{p.seed}:order:{s}:{n}").shuffle(splits[s])
    return Built(splits, skel)


def augment_weights(aug: Augment, failures: dict[str, Any] | None) -> dict[str, float]:
    """Group weights: configured base weights, raised in proportion to each group's failures."""
    by_group = {g: int(v) for g, v in (failures or {}).get("by_group", {}).items() if v}
    top = max(by_group.values(), default=0)
    weights = {g: float(w) for g, w in aug.weights.items()}
    for g, nf in by_group.items():
        if g in KINDS["unsafe"] + KINDS["borderline"] + KINDS["edge"] + (
            "plain",
            "constraint",
            "technical",
        ):
            weights[g] = weights.get(g, 0.0) + aug.failure_boost * nf / top
    return {g: round(w, 3) for g, w in sorted(weights.items()) if w > 0}


def build_version(
    p: SynthParams,
    name: str,
    failures: dict[str, Any] | None,
    bank: Any = None,
    hinter: Any = None,
) -> Built:
    """Build version ``name``; with ``augment`` add hard cases to train/val only. With a
    ``bank`` (domainllm.synth.bank.Bank) targets are composed from the curated bank; with a
    ``hinter`` (domainllm.hints.Hinter) each row carries its prompt's naming hint and its target
    is built from the hint's words."""
    v = p.versions[name]
    seen: set[str] = set()
    built = build_base(v.n, p, seen, bank, hinter)
    if not v.augment or v.augment.n == 0:
        return built
    aug = v.augment
    weights = augment_weights(aug, failures)
    counts = allocate(aug.n, weights)
    fracs = {"train": p.splits.train, "val": p.splits.val}
    counter: Counter[str] = Counter()
    specs: list[Spec] = []
    for g in sorted(counts):
        specs += kind_specs({g: counts[g]}, fracs, False, counter)
    by_template = {k: int(n) for k, n in (failures or {}).get("by_template", {}).items() if n}
    rng = random.Random(f"{p.seed}:augment:{name}:{aug.n}")
    builder = Builder(rng, template_failures=by_template, boost=aug.failure_boost, bank=bank)
    short: Counter[str] = Counter()
    names = random.Random(f"{p.seed}:aug-names")
    extra, skel = realise(specs, builder, p.seed, p, seen, names, short, hinter)
    for s in ("train", "val"):
        rng.shuffle(extra[s])
        built.splits[s] = built.splits[s] + extra[s]
    built.skeletons += skel
    built.augmentation = {
        "n": sum(counts.values()) - sum(short.values()),
        "weights": weights,
        "added_by_group": {g: c - short[g] for g, c in counts.items()},
        # Rows a group could not supply: every new description of it was already used.
        "shortfall_by_group": dict(sorted(short.items())),
        "added_by_split": {s: len(extra[s]) for s in ("train", "val")},
        "failures_by_group": (failures or {}).get("by_group", {}),
        "failures_by_template": by_template,
        "failure_boost": aug.failure_boost,
    }
    return built
