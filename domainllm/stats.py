"""The one Wilson score interval of a proportion, for every stage, report and benchmark.

Closed form, dependency-free (tests compare it with scipy's ``binomtest(...).proportion_ci``).
Callers format it: the report keeps floats, safety metrics round to 4 places (``safety.ci95``).
"""

from __future__ import annotations

import math
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
