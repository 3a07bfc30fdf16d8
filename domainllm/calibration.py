"""Confidence calibration: map the model's raw per-domain probability to P(good suggestion).

Raw confidence is exp(mean token log-probability) of the tokens spelling the domain. An
isotonic fit on val rows maps it to the observed rate of "good" suggestions, where a good
suggestion shares a word of 4+ letters with the description or a reference suggestion (a
cheap, deterministic proxy for relevance; the judge stage scores quality properly).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from domainllm.io import read_json, write_json

_WORD = re.compile(r"[a-z]{4,}")


def is_relevant(domain: str, description: str, references: list[str]) -> bool:
    """The relevance proxy used as the calibration label."""
    label = domain.split(".", 1)[0].replace("-", "")
    if any(w[:4] in label for w in _WORD.findall(description.lower())):
        return True
    for ref in references:
        r = ref.split(".", 1)[0].replace("-", "")
        if any(r[i : i + 5] in label for i in range(max(0, len(r) - 4))):
            return True
    return False


class Calibrator:
    """A monotone piecewise-linear map [0,1] -> [0,1] (identity when unfitted)."""

    def __init__(self, xs: list[float] | None = None, ys: list[float] | None = None) -> None:
        self.xs = xs or [0.0, 1.0]
        self.ys = ys or [0.0, 1.0]

    def __call__(self, p: float) -> float:
        return float(np.clip(np.interp(p, self.xs, self.ys), 0.0, 1.0))

    @classmethod
    def fit(cls, raw: list[float], labels: list[bool]) -> Calibrator:
        """Isotonic regression of labels on raw confidence (identity with < 10 points)."""
        if len(raw) < 10 or len(set(labels)) < 2:
            return cls()
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, labels)
        return cls([float(x) for x in iso.X_thresholds_], [float(y) for y in iso.y_thresholds_])

    def to_dict(self) -> dict[str, Any]:
        return {"xs": self.xs, "ys": self.ys}

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Calibrator:
        d = read_json(path)
        return cls(d["xs"], d["ys"])


def expected_calibration_error(conf: list[float], labels: list[bool], bins: int = 10) -> float:
    """ECE: bin-size-weighted mean |accuracy - confidence| over equal-width bins."""
    if not conf:
        return float("nan")
    c = np.asarray(conf, dtype=float)
    y = np.asarray(labels, dtype=float)
    idx = np.minimum((c * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - c[m].mean())
    return float(ece)
