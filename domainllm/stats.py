"""Small, dependency-free statistics for every stage, report and benchmark, in one place.

- ``wilson``: the Wilson score interval of a proportion (closed form; tests compare it with
  scipy's ``binomtest(...).proportion_ci``). Callers format it: the report keeps floats, safety
  metrics round to 4 places (``safety.ci95``).
- bootstrap intervals and paired tests (the judge stages, the report's paired comparison of
  iterations, McNemar for safety decisions), rank correlation and agreement (the judge's
  validation). Tests compare these against scipy and scikit-learn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sensible at 0 and n, unlike the normal one);
    (nan, nan) for n = 0."""
    if n == 0:
        return (math.nan, math.nan)
    z = _z(confidence)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def _z(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence``."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def mean(xs: Sequence[float]) -> float:
    """Arithmetic mean (nan for an empty sequence)."""
    return sum(xs) / len(xs) if xs else math.nan


def _quantile(sorted_xs: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of a sorted list."""
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def bootstrap_ci(
    xs: Sequence[float], n: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float | int | None]:
    """Mean and percentile bootstrap interval: {"mean", "ci_low", "ci_high", "n"}."""
    xs = list(xs)
    if not xs:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    rng = random.Random(seed)
    k = len(xs)
    means = sorted(sum(rng.choices(xs, k=k)) / k for _ in range(n))
    a = (1 - level) / 2
    return {
        "mean": round(mean(xs), 4),
        "ci_low": round(_quantile(means, a), 4),
        "ci_high": round(_quantile(means, 1 - a), 4),
        "n": k,
    }


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float | int]:
    """Bootstrap of mean(b - a) over paired items: difference, interval, two-sided p-value.

    The p-value is twice the share of resampled differences on the far side of zero (at least
    1/n when none are), i.e. the percentile-bootstrap test of "no difference".
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"paired_bootstrap: needs equal, non-empty lists ({len(a)}, {len(b)})")
    d = [y - x for x, y in zip(a, b, strict=True)]
    rng = random.Random(seed)
    k = len(d)
    diffs = sorted(sum(rng.choices(d, k=k)) / k for _ in range(n))
    below = sum(x <= 0 for x in diffs) / n
    above = sum(x >= 0 for x in diffs) / n
    p = min(1.0, max(2 * min(below, above), 1 / n))
    al = (1 - level) / 2
    return {
        "mean_diff": round(mean(d), 4),
        "ci_low": round(_quantile(diffs, al), 4),
        "ci_high": round(_quantile(diffs, 1 - al), 4),
        "p_value": round(p, 4),
        "n": k,
    }


def mcnemar(b01: int, b10: int) -> dict[str, float | int | bool]:
    """McNemar's test on the discordant pairs (b01: only the second right, b10: only the first).

    Exact two-sided binomial p-value when b01 + b10 < 25, else chi-square with continuity
    correction (1 degree of freedom).
    """
    if b01 < 0 or b10 < 0:
        raise ValueError("mcnemar: counts must be >= 0")
    m = b01 + b10
    if m == 0:
        return {"statistic": 0.0, "p_value": 1.0, "exact": True, "b01": b01, "b10": b10}
    if m < 25:
        k = min(b01, b10)
        p = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2**m)
        return {"statistic": float(k), "p_value": p, "exact": True, "b01": b01, "b10": b10}
    stat = (abs(b01 - b10) - 1) ** 2 / m
    p = math.erfc(math.sqrt(stat / 2))  # chi-square survival function with 1 dof
    return {"statistic": stat, "p_value": p, "exact": False, "b01": b01, "b10": b10}


def _ranks(xs: Sequence[float]) -> list[float]:
    """1-based ranks with ties sharing their average rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation (nan when either side is constant)."""
    ma, mb = mean(a), mean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else math.nan


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson on average ranks)."""
    if len(a) != len(b):
        raise ValueError("spearman: lists differ in length")
    return pearson(_ranks(a), _ranks(b))


def accuracy(a: Sequence[object], b: Sequence[object]) -> float:
    """Share of positions where the labels agree."""
    if len(a) != len(b) or not a:
        raise ValueError("accuracy: needs two equal, non-empty lists")
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[object], b: Sequence[object], weights: str | None = None) -> float:
    """Cohen's kappa; ``weights`` None, "linear" or "quadratic" (labels in sorted order)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa: needs two equal, non-empty lists")
    labels = sorted(set(a) | set(b))
    idx = {lab: i for i, lab in enumerate(labels)}
    k, n = len(labels), len(a)
    obs = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        obs[idx[x]][idx[y]] += 1
    rows = [sum(r) for r in obs]
    cols = [sum(obs[i][j] for i in range(k)) for j in range(k)]

    def w(i: int, j: int) -> float:
        if weights is None:
            return float(i != j)
        d = abs(i - j) / max(1, k - 1)
        return d if weights == "linear" else d * d

    num = sum(w(i, j) * obs[i][j] for i in range(k) for j in range(k))
    den = sum(w(i, j) * rows[i] * cols[j] / n for i in range(k) for j in range(k))
    return 1 - num / den if den else math.nan
