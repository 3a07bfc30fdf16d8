"""The guard in front of the model: normalise, apply the policy rules, then the classifier.

``Guard.load(folder)`` reads ``models/guard/`` (classifier + the policy copy it was trained
with); ``Guard.load(None)`` uses the rules of docs/SAFETY_POLICY.md alone (when present).
``check`` never raises: any string gets a decision naming a category when it blocks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from domainllm.guard.normalize import views
from domainllm.guard.rules import PolicyRules

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "docs" / "SAFETY_POLICY.md"
POLICY_COPY = "SAFETY_POLICY.md"


@dataclass(frozen=True)
class GuardDecision:
    """Whether to block, which category, the classifier score and the rule that fired."""

    blocked: bool
    category: str | None
    score: float
    rule: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ALLOW = GuardDecision(False, None, 0.0, None)


class Guard:
    """Rules first (precise, explainable), then the classifier (obfuscations, paraphrases)."""

    def __init__(self, rules: PolicyRules | None, classifier: Any | None) -> None:
        self.rules = rules
        self.classifier = classifier

    @classmethod
    def load(cls, folder: Path | None, policy: Path | None = None) -> Guard:
        """From a trained guard folder, or rules only (``folder`` None)."""
        from domainllm.guard.classifier import GuardClassifier

        if folder is not None:
            folder = Path(folder)
            pol = policy or folder / POLICY_COPY
            return cls(PolicyRules.load(pol), GuardClassifier.load(folder))
        pol = policy or DEFAULT_POLICY
        return cls(PolicyRules.load(pol) if pol.is_file() else None, None)

    def info(self) -> dict[str, Any]:
        return {
            "rules_hash": self.rules.hash if self.rules else None,
            "classifier": self.classifier is not None,
            "threshold": getattr(self.classifier, "threshold", None),
        }

    def check_many(self, texts: list[str]) -> list[GuardDecision]:
        """Decisions for many texts (the classifier runs once, batched)."""
        hits = [self.rules.match(*views(t)) if self.rules else None for t in texts]
        if self.classifier is not None and texts:
            scores, cats = self.classifier.scores(list(texts))
        else:
            scores, cats = [0.0] * len(texts), [None] * len(texts)
        out = []
        min_words = getattr(getattr(self.classifier, "params", None), "min_words", 0)
        for text, hit, s, c in zip(texts, hits, scores, cats, strict=True):
            s = float(s)
            enough = len(text.split()) >= min_words  # one or two words are too little evidence
            if hit is not None:
                out.append(GuardDecision(True, hit.category, s, hit.rule))
            elif self.classifier is not None and s >= self.classifier.threshold and enough:
                out.append(GuardDecision(True, c, s, None))
            else:
                out.append(GuardDecision(False, None, s, None))
        return out

    def check(self, text: str) -> GuardDecision:
        """The decision for one request description."""
        return self.check_many([text])[0]
