"""Shared fixtures for the engine, property and CLI tests: a tiny random model and engine."""

from __future__ import annotations

from pathlib import Path

from domainllm.engine import Engine, EngineSettings
from domainllm.guard import Guard
from domainllm.loading import load_model

# Tiny-model answers are long (one byte-level token per character): short labels keep it fast.
TINY = {"dtype": "fp32", "threads": 1, "max_label": 8, "model_may_block": False}


def tiny_engine(model_dir: Path, guard: Guard | None = None, **kw: object) -> Engine:
    """An engine over the tiny random model; rules-only guard unless one is given."""
    settings = EngineSettings(**{**TINY, **kw})
    return Engine(load_model(model_dir, "fp32"), guard or Guard.load(None), settings)
