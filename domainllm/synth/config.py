"""Typed params for the ``synth`` and ``suites`` sections of params.yaml."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from domainllm.params import Strict
from domainllm.schema import Group
from domainllm.synth.teacher import TeacherParams

Share = Annotated[float, Field(ge=0.0, le=0.5)]


class Splits(Strict):
    """Split fractions (must sum to 1)."""

    train: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.70
    val: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.15
    test: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.15

    @model_validator(mode="after")
    def _sum(self) -> Splits:
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError("train + val + test must sum to 1")
        return self


class Shares(Strict):
    """Share of each group in a version's base set; 'plain' takes the rest."""

    unsafe: Share = 0.09
    adversarial: Share = 0.03
    borderline: Share = 0.07
    long: Share = 0.02
    short: Share = 0.02
    symbols: Share = 0.02
    non_english: Share = 0.02
    ambiguous: Share = 0.02
    constraint: Share = 0.15
    technical: Share = 0.05

    @model_validator(mode="after")
    def _sum(self) -> Shares:
        if sum(self.model_dump().values()) > 0.9:
            raise ValueError("shares must sum to at most 0.9 (plain rows take the rest)")
        return self


class Augment(Strict):
    """Targeted augmentation of hard cases (train/val only; the test split is the base's)."""

    n: Annotated[int, Field(ge=0, le=20000)] = 300
    weights: dict[Group, Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=lambda: {
            "adversarial": 2.0,
            "borderline": 2.0,
            "non_english": 1.0,
            "ambiguous": 1.0,
            "long": 1.0,
            "short": 0.5,
            "symbols": 0.5,
        }
    )
    failure_boost: Annotated[float, Field(ge=0.0, le=100.0)] = 3.0


class Version(Strict):
    """One dataset version."""

    n: Annotated[int, Field(ge=20, le=100000)]
    failures: str = Field(min_length=1, description="discover failures JSON (a DVC dep)")
    base: str | None = None
    augment: Augment | None = None


class SynthParams(Strict):
    """``synth`` section."""

    seed: int = 42
    splits: Splits = Splits()
    shares: Shares = Shares()
    versions: dict[str, Version]
    teacher: TeacherParams = TeacherParams()  # none: targets from the curated bank only

    @model_validator(mode="after")
    def _bases(self) -> SynthParams:
        for name, v in self.versions.items():
            if v.base is None:
                continue
            base = self.versions.get(v.base)
            if base is None or base.base is not None:
                raise ValueError(f"versions.{name}.base must name a version without a base")
            if base.n != v.n:
                raise ValueError(f"versions.{name}.n must equal versions.{v.base}.n ({base.n})")
        return self


class SuitesParams(Strict):
    """``suites`` section: sizes of the held-out evaluation suites."""

    edge: Annotated[int, Field(ge=1, le=1000)] = 40
    redteam_unsafe: Annotated[int, Field(ge=1, le=1000)] = 20
    redteam_adversarial: Annotated[int, Field(ge=1, le=1000)] = 20
    redteam_borderline: Annotated[int, Field(ge=1, le=1000)] = 20
