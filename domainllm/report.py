"""The iteration report: every metric with its interval, paired tests and plots.

Rates get Wilson intervals; means (judge scores, latency) percentile bootstrap intervals.
Iterations are compared item by item on the same test set: a paired bootstrap of the judge
scores (paired by suite and id) and McNemar's test on the safety decisions (right or wrong).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from domainllm.discovery import KINDS, row_key
from domainllm.params import Strict
from domainllm.stats import bootstrap_ci, mcnemar, paired_bootstrap, wilson

Key = tuple[str, str]


class ReportParams(Strict):
    """params.yaml ``report``: which iterations to compare and how to compute intervals."""

    iterations: list[str] = Field(default_factory=lambda: ["prompt-only", "baseline", "improved"])
    bootstrap_n: int = Field(2000, ge=100, le=100_000)
    seed: int = 0
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)

    @field_validator("iterations")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(v) < 2 or len(set(v)) != len(v):
            raise ValueError("must list at least two distinct iterations")
        return v


@dataclass
class Iteration:
    """What the report reads for one iteration."""

    name: str
    predict: list[dict[str, Any]]
    judge: list[dict[str, Any]]
    discover: dict[str, Any]
    provenance: dict[str, str] = field(default_factory=dict)
    loss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def rate(k: int, n: int, confidence: float) -> dict[str, Any]:
    """A proportion with its Wilson interval."""
    lo, hi = wilson(k, n, confidence)
    return {"value": k / n if n else math.nan, "lo": lo, "hi": hi, "n": n, "kind": "rate"}


def mean(values: list[float], p: ReportParams) -> dict[str, Any]:
    """A mean with its bootstrap interval."""
    if not values:
        return {"value": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "kind": "mean"}
    b = bootstrap_ci(values, n=p.bootstrap_n, seed=p.seed, level=p.confidence)
    return {"value": b["mean"], "lo": b["ci_low"], "hi": b["ci_high"], "n": b["n"], "kind": "mean"}


def decisions(rows: list[dict[str, Any]]) -> dict[Key, tuple[bool, bool]]:
    """(should block, did block) per item."""
    return {
        row_key(r): (
            r.get("expected") == "blocked",
            (r.get("response") or {}).get("status") == "blocked",
        )
        for r in rows
    }


def confusion(dec: dict[Key, tuple[bool, bool]]) -> dict[str, int]:
    """tp: unsafe blocked, fn: unsafe answered, fp: safe blocked, tn: safe answered."""
    c = {"tp": 0, "fn": 0, "fp": 0, "tn": 0}
    for should, did in dec.values():
        c[("tp" if did else "fn") if should else ("fp" if did else "tn")] += 1
    return c


def judged(rows: list[dict[str, Any]]) -> dict[Key, dict[str, float]]:
    """Scores per item (criteria and composite) of the judge rows without an error."""
    out: dict[Key, dict[str, float]] = {}
    for j in rows:
        if j.get("error") or j.get("composite") is None:
            continue
        out[row_key(j)] = {**{k: float(v) for k, v in (j.get("scores") or {}).items()},
                           "composite": float(j["composite"])}  # fmt: skip
    return out


def criteria_of(its: list[Iteration]) -> list[str]:
    """Every score name seen in the judge rows, in first-seen order, composite last."""
    names: list[str] = []
    for it in its:
        for s in judged(it.judge).values():
            names += [k for k in s if k not in names and k != "composite"]
    return [*names, "composite"]


def iteration_metrics(it: Iteration, crit: list[str], p: ReportParams) -> dict[str, Any]:
    """Every metric of one iteration, each with its interval."""
    m: dict[str, Any] = {}
    scores = judged(it.judge)
    for c in crit:
        m[f"judge.{c}"] = mean([s[c] for s in scores.values() if c in s], p)
    safe = [r for r in it.predict if r.get("expected") != "blocked"]
    valid = sum((r.get("model") or {}).get("status") != "invalid" for r in safe)
    m["answer.valid_rate"] = rate(valid, len(safe), p.confidence)
    c = confusion(decisions(it.predict))
    m["safety.block_recall"] = rate(c["tp"], c["tp"] + c["fn"], p.confidence)
    m["safety.false_block_rate"] = rate(c["fp"], c["fp"] + c["tn"], p.confidence)
    m["safety.accuracy"] = rate(c["tp"] + c["tn"], sum(c.values()), p.confidence)
    d = it.discover
    n = int(d.get("n", 0))
    m["discover.failure_rate"] = rate(int(d.get("n_failed", 0)), n, p.confidence)
    for k in KINDS:
        m[f"discover.{k}"] = rate(int(d.get("by_failure", {}).get(k, 0)), n, p.confidence)
    lat = [float(r["latency_s"]) for r in it.predict if r.get("latency_s") is not None]
    m["latency_s"] = mean(lat, p)
    return m


def compare(a: Iteration, b: Iteration, crit: list[str], p: ReportParams) -> dict[str, Any]:
    """Paired tests of b against a: bootstrap per score, McNemar on safety decisions."""
    sa, sb = judged(a.judge), judged(b.judge)
    keys = sorted(set(sa) & set(sb))
    tests: dict[str, Any] = {}
    for c in crit:
        ks = [k for k in keys if c in sa[k] and c in sb[k]]
        if len(ks) < 2:
            continue
        xa, xb = [sa[k][c] for k in ks], [sb[k][c] for k in ks]
        tests[f"judge.{c}"] = paired_bootstrap(
            xa, xb, n=p.bootstrap_n, seed=p.seed, level=p.confidence
        )
    da, db = decisions(a.predict), decisions(b.predict)
    both = set(da) & set(db)
    right_a = {k: da[k][0] == da[k][1] for k in both}
    right_b = {k: db[k][0] == db[k][1] for k in both}
    b01 = sum(not right_a[k] and right_b[k] for k in both)  # fixed by b
    b10 = sum(right_a[k] and not right_b[k] for k in both)  # broken by b
    tests["safety.decisions"] = {**mcnemar(b01, b10), "n": len(both)}
    return tests
