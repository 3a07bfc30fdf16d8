"""The statistics of every stage, report and benchmark, in one place.

- ``wilson``: the Wilson score interval of a proportion (scipy's ``binomtest(...).proportion_ci``;
  equal to the closed form this module once computed within 4e-16 for every k <= n <= 400).
  Callers format it: the report keeps floats, safety metrics round to 4 places
  (``safety.ci95``).
- ``mcnemar``: McNemar's test, exact (scipy's ``binomtest``) under 25 discordant pairs, else
  chi-square with continuity correction (``chi2.sf``).
- bootstrap intervals and paired tests (the judge stages, the report's paired comparison of
  iterations): a seeded percentile bootstrap of our own, because its resamples are the
  paired-difference test the report uses and scipy's ``bootstrap`` draws differently.

Rank correlation and agreement (the judge's validation) are scipy's ``spearmanr`` and
scikit-learn's ``cohen_kappa_score``, called where they are used (``judge/validate.py``); the
copies this module once held were used by nothing but their tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sensible at 0 and n, unlike the normal one),
    from scipy's ``binomtest``; (nan, nan) for n = 0."""
    if n == 0:
        return (math.nan, math.nan)
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


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
    from scipy.stats import binomtest, chi2

    if m < 25:
        k = min(b01, b10)
        p = float(binomtest(k, m, 0.5).pvalue)  # exact two-sided binomial on the discordant pairs
        return {"statistic": float(k), "p_value": p, "exact": True, "b01": b01, "b10": b10}
    stat = (abs(b01 - b10) - 1) ** 2 / m
    p = float(chi2.sf(stat, 1))
    return {"statistic": stat, "p_value": p, "exact": False, "b01": b01, "b10": b10}
