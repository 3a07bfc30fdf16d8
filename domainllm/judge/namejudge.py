"""Judge names: features for every (request, domain) item, the checklist through the cache, and
the calibrated verdict. Shared by the judge stages and ``domainllm judge-validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainllm.judge.backends import Failures, make_backend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.calibrate import Calibration
from domainllm.judge.checklist import Checklist, JudgeItem, load_checklist
from domainllm.judge.features import (
    GROUPS,
    Lexicon,
    add_filler,
    add_relevance,
    load_lexicon,
    name_features,
    word_spread,
)
from domainllm.judge.run import RunStats, judge_all


@dataclass
class NameJudge:
    """What turns items into features: the lexicon, the checklist and (optionally) an LLM."""

    lexicon: Lexicon
    checklist: Checklist
    params: Any  # JudgeParams
    model_dir: Path | None
    cache_dir: Path
    spread: dict[str, float] = field(default_factory=dict)  # word -> share of bank industries
    bank_hash: str = ""
    failures: Failures = field(default_factory=Failures)
    model_id: str | None = None

    @classmethod
    def load(
        cls, prompts: Path, params: Any, model_dir: Path | None, cache: Path, bank: Path
    ) -> NameJudge:
        """Read the lexicon and checklist from the prompts folder, and the naming bank's word
        lists (the ``filler`` features)."""
        from domainllm.synth.bank import load_bank

        b = load_bank(bank, prompts / "lexicon.yaml")
        return cls(load_lexicon(prompts / "lexicon.yaml"), load_checklist(prompts), params,
                   model_dir, cache, word_spread(b.industries), b.hash)  # fmt: skip

    @property
    def uses_llm(self) -> bool:
        """Whether the checklist is asked (``judge.checklist`` in params)."""
        return bool(self.params.checklist)

    def feature_names(self) -> list[str]:
        """Every feature the regression reads, deterministic groups first."""
        names = [f for g in GROUPS.values() for f in g]
        return names + [f"ask_{k}" for k in self.checklist.keys] if self.uses_llm else names

    def groups(self) -> dict[str, list[str]]:
        """Feature groups for the ablation (checklist as one group)."""
        out = {g: list(fs) for g, fs in GROUPS.items()}
        if self.uses_llm:
            out["checklist"] = [f"ask_{k}" for k in self.checklist.keys]
        return out

    def hashes(self) -> dict[str, str]:
        """Hashes of the data files that shaped the features (for provenance)."""
        return {"lexicon": self.lexicon.hash, "checklist": self.checklist.hash,
                "bank": self.bank_hash}  # fmt: skip

    def features(self, items: list[JudgeItem], desc: str = "judge") -> tuple[list[dict], RunStats]:
        """One feature dict per item; the checklist goes through the persistent cache."""
        from domainllm.judge.embed import default_embedder

        rows = [{"description": it.request.description, "domain": it.domain,
                 "features": name_features(it.domain, it.request, self.lexicon)}
                for it in items]  # fmt: skip
        add_relevance(rows, default_embedder())
        add_filler(rows, self.spread)
        stats = RunStats()
        if self.uses_llm and items:
            backend = make_backend(self.params, self.checklist, self.model_dir, self.failures)
            self.model_id = backend.model_id
            cache = JudgeCache(self.cache_dir, backend.name, backend.model_id, self.checklist.hash)
            try:
                verdicts, stats = judge_all(items, backend, cache, self.failures,
                                            self.params.batch_size, desc)  # fmt: skip
            finally:
                cache.close()
            for it, r in zip(items, rows, strict=True):
                v = verdicts[it.key()]
                for k in self.checklist.keys:  # a failed item reads as "don't know"
                    r["features"][f"ask_{k}"] = (v["scores"] or {}).get(k, 0.5)
                r["checklist_error"] = v["error"]
        return [r["features"] for r in rows], stats


def verdicts(cal: Calibration, feats: list[dict[str, float]]) -> list[dict[str, Any]]:
    """The calibrated verdict per name; the calibration must know every feature it reads."""
    missing = sorted({f for f in cal.features if f not in feats[0]}) if feats else []
    if missing:
        raise ValueError(f"features {missing} missing: refit the calibration (judge_validate)")
    return cal.judge(feats)
