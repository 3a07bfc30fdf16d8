"""Judge a list of items through the cache: only uncached items reach the backend."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from domainllm.io import sha256_text
from domainllm.judge.backends import Backend, Failures
from domainllm.judge.cache import JudgeCache
from domainllm.judge.checklist import JudgeItem


@dataclass
class RunStats:
    """What a judging run did: cache hits, fresh judgements and their time."""

    cached: int = 0
    judged: int = 0
    failed: int = 0
    seconds: float = 0.0
    mass: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the metrics file."""
        per = self.seconds / self.judged if self.judged else None
        return {
            "cached": self.cached,
            "judged_now": self.judged,
            "failed": self.failed,
            "judge_seconds": round(self.seconds, 2),
            "seconds_per_item": round(per, 3) if per is not None else None,
        }


def sample(rows: list[dict[str, Any]], max_items: int, seed: int) -> list[dict[str, Any]]:
    """A deterministic subset by hashed id: the same ids are kept in every iteration."""
    if not max_items or len(rows) <= max_items:
        return rows
    ranked = sorted(rows, key=lambda r: sha256_text(f"{seed}:{r['id']}"))
    keep = {r["id"] for r in ranked[:max_items]}
    return [r for r in rows if r["id"] in keep]


def judge_all(
    items: list[JudgeItem],
    backend: Backend,
    cache: JudgeCache,
    failures: Failures,
    batch_size: int,
    desc: str = "judge",
) -> tuple[dict[str, dict[str, Any]], RunStats]:
    """Verdicts by item key ({"scores", "error", "mass"}); each batch is cached when done."""
    stats = RunStats()
    unique = {it.key(): it for it in items}
    verdicts = cache.get_many(list(unique))
    stats.cached = len(verdicts)
    todo = [it for k, it in unique.items() if k not in verdicts]
    with tqdm(total=len(todo), desc=desc, unit="item") as bar:
        for s in range(0, len(todo), batch_size):
            chunk = todo[s : s + batch_size]
            t0 = time.perf_counter()
            got = backend.judge_batch(chunk)
            stats.seconds += time.perf_counter() - t0
            fresh = {}
            for it, v in zip(chunk, got, strict=True):
                entry = {"scores": v.scores, "error": v.error, "mass": v.mass}
                verdicts[it.key()] = entry
                if v.error is None:
                    fresh[it.key()] = entry
                    stats.judged += 1
                else:
                    stats.failed += 1
                    failures.add("failed_items")
            cache.put_many(fresh)
            bar.update(len(chunk))
    stats.mass = [v["mass"] for v in verdicts.values() if v.get("mass") is not None]
    return verdicts, stats
