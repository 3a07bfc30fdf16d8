"""The synthetic example schema (docs/DATA_SCHEMA.md): request, metadata and target answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from domainllm.contract import Request, Response

SAFETY_CATEGORIES = (
    "adult_sexual",
    "hate_violence",
    "illegal_drugs_goods",
    "weapons_minors",
    "doxxing_privacy",
    "child_sexual_exploitation",
)
GROUPS = (
    "plain",
    "constraint",
    "long",
    "short",
    "symbols",
    "non_english",
    "ambiguous",
    "technical",
    "borderline",
    "unsafe",
    "adversarial",
)
EDGE_GROUPS = ("long", "short", "symbols", "non_english", "ambiguous")

Complexity = Literal["L1", "L2", "L3"]
Group = Literal[
    "plain",
    "constraint",
    "long",
    "short",
    "symbols",
    "non_english",
    "ambiguous",
    "technical",
    "borderline",
    "unsafe",
    "adversarial",
]
SafetyCategory = Literal[
    "safe",
    "adult_sexual",
    "hate_violence",
    "illegal_drugs_goods",
    "weapons_minors",
    "doxxing_privacy",
    "child_sexual_exploitation",
]


class Meta(BaseModel):
    """Metadata of an example: what it is and how it was made (never shown to the model)."""

    model_config = ConfigDict(extra="forbid")

    industry: str
    complexity: Complexity
    group: Group
    safety_category: SafetyCategory
    # For borderline rows: the unsafe category whose words it shares; otherwise None.
    near_category: SafetyCategory | None = None
    # Adversarial transform applied (leetspeak, spaced, fullwidth, ...), or None.
    transform: str | None = None
    # Template id the description came from (used for leakage and upweighting).
    template: str


class Example(BaseModel):
    """One row of ``data/synth/<v>/{train,val,test}.jsonl``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    request: Request
    meta: Meta
    target: Response
    # The naming hint the prompt shows (domainllm/hints.py Hint.to_dict), None without one.
    hint: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Example:
        unsafe = self.meta.safety_category != "safe"
        if unsafe != (self.target.status == "blocked"):
            raise ValueError("target must be blocked exactly when safety_category is not 'safe'")
        return self

    @property
    def is_unsafe(self) -> bool:
        """True when the request must be refused."""
        return self.meta.safety_category != "safe"
