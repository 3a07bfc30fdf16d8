"""Typed params of the ``judge`` and ``judge_validate`` sections of params.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from domainllm.params import Strict


class JudgeParams(Strict):
    """``judge``: which judge scores the answers, and how much of each iteration it reads."""

    backend: Literal["local", "openai"] = "local"
    model: str = "gpt-4o-mini"  # openai backend only; local uses the model folder (cmd arg)
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # name of the env var; null for keyless servers
    batch_size: Annotated[int, Field(ge=1, le=64)] = 8
    max_items: Annotated[int, Field(ge=0)] = 120  # per iteration; 0 = every item
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 4
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    threads: Annotated[int, Field(ge=1, le=64)] = 2
    bootstrap: Annotated[int, Field(ge=100)] = 1000
    seed: int = 0


class JudgeValidateParams(Strict):
    """``judge_validate``: which scorers are compared with the gold labels."""

    backends: list[Literal["checks", "local", "openai"]] = Field(
        default_factory=lambda: ["checks", "local"], min_length=1
    )
    max_items: Annotated[int, Field(ge=0)] = 0  # 0 = the whole gold set
