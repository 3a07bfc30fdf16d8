"""Typed params of the ``judge`` and ``judge_validate`` sections of params.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from domainllm.params import Strict


class JudgeParams(Strict):
    """``judge``: who answers the checklist, and how much of each iteration is judged."""

    checklist: bool = True  # ask the LLM checklist (false: deterministic features only)
    backend: Literal["local", "openai"] = "local"
    model: str = "gpt-4o-mini"  # openai backend only; local uses the model folder (cmd arg)
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # name of the env var; null for keyless servers
    batch_size: Annotated[int, Field(ge=1, le=64)] = 8
    max_items: Annotated[int, Field(ge=0)] = 0  # answers per iteration; 0 = every answer
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 4
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    threads: Annotated[int, Field(ge=1, le=64)] = 2
    bootstrap: Annotated[int, Field(ge=100)] = 1000
    seed: int = 0


class JudgeValidateParams(Strict):
    """``judge_validate``: how the calibration is fitted and cross-validated on the gold set."""

    folds: Annotated[int, Field(ge=2, le=20)] = 5  # grouped by request
    C: Annotated[float, Field(gt=0)] = 1.0  # inverse L2 strength of the regression
    bins: Annotated[int, Field(ge=0, le=20)] = 0  # quantile bins per continuous feature (0: none)
    seed: int = 0
