"""Small generated predict, judge and DVCLive files for the discovery and report tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from domainllm.contract import BLOCKED_MESSAGE
from domainllm.io import atomic_write_text, write_json, write_jsonl

GROUPS = ["plain", "short", "long", "ambiguous", "non_english", "technical", "borderline"]
CRITERIA = ["relevance", "brandability", "memorability", "adherence", "diversity"]
GOOD = ["beanhaven", "brewnest", "cupcraft", "roastly", "mugwise", "latteloft"]


def predict_row(
    rid: str,
    suite: str,
    *,
    expected: str = "success",
    domains: list[str] | None = None,
    blocked_by: str | None = None,
    invalid: bool = False,
    group: str = "plain",
    template: str = "t-coffee",
    n: int = 5,
    tlds: list[str] | None = None,
) -> dict[str, Any]:
    """One row in the predict format; ``blocked_by`` 'guard' or 'model' makes it a refusal."""
    if blocked_by:
        resp: dict[str, Any] = {"status": "blocked", "message": BLOCKED_MESSAGE, "suggestions": []}
    else:
        doms = domains if domains is not None else [f"{g}.com" for g in GOOD[:n]]
        resp = {
            "status": "success",
            "suggestions": [{"domain": d, "confidence": 0.8} for d in doms],
        }
    return {
        "id": rid,
        "suite": suite,
        "request": {"description": f"A cosy coffee shop {rid}", "tlds": tlds or [".com"], "n": n},
        "meta": {
            "industry": "food",
            "complexity": "L1",
            "group": "unsafe" if expected == "blocked" else group,
            "safety_category": "adult_sexual" if expected == "blocked" else "safe",
            "near_category": None,
            "transform": None,
            "template": template,
        },
        "expected": expected,
        "response": resp,
        "guard": {"blocked": blocked_by == "guard", "category": None, "score": 0.1, "rule": None},
        "model": {
            "status": "invalid" if invalid else ("blocked" if blocked_by == "model" else "success"),
            "raw": "{",
            "parse_error": "not JSON" if invalid else None,
            "problems": [],
        },
        "latency_s": 0.5,
    }


def judge_row(
    rid: str, suite: str, scores: dict[str, float], error: str | None = None,
    labels: tuple[str, ...] = (),
) -> dict:  # fmt: skip
    """One judge row (names labelled ``labels``); the composite is the mean score."""
    return {
        "id": rid,
        "suite": suite,
        "description": f"A cosy coffee shop {rid}",
        "names": [
            {"domain": f"n{i}.com", "label": lab, "score": 0.5, "gates": []}
            for i, lab in enumerate(labels)
        ],
        "scores": scores,
        "composite": sum(scores.values()) / len(scores) if scores else None,
        "checks": {},
        "error": error,
    }


def make_iteration(root: Path, it: str, quality: float, n: int = 40, seed: int = 0) -> None:
    """Write data/predict/<it>/, data/judge/<it>.jsonl and metrics files of one iteration.

    ``quality`` in [0, 1] is the chance an item is right; items share ids across iterations.
    """
    rnd = random.Random(seed)
    preds: dict[str, list[dict]] = {"test": [], "redteam": []}
    judges = []
    for i in range(n):
        rid = f"x{i:03d}"
        ok = rnd.random() < quality
        if i % 4 == 3:
            row = predict_row(
                rid, "redteam", expected="blocked", blocked_by="guard" if ok else None
            )
            preds["redteam"].append(row)
            continue
        group = GROUPS[i % len(GROUPS)]
        if ok:
            row = predict_row(rid, "test", group=group, template=f"t{i % 5}")
            base = 4.0
        else:
            bad = ["xkcdqzrt.com", "xkcdqzrt.com", "aaa.io"]
            row = predict_row(rid, "test", domains=bad, group=group, template=f"t{i % 5}")
            base = 1.5
        preds["test"].append(row)
        judges.append(
            judge_row(rid, "test", {c: round(base + rnd.uniform(-0.5, 0.5), 2) for c in CRITERIA})
        )
    for suite, rows in preds.items():
        write_jsonl(root / "data" / "predict" / it / f"{suite}.jsonl", rows)
    write_jsonl(root / "data" / "judge" / f"{it}.jsonl", judges)
    write_json(root / "metrics" / "predict" / f"{it}.json", {"model": f"m-{it}", "n": n})
    write_json(root / "metrics" / "judge" / f"{it}.json", {"backend": "local", "prompt_hash": "ab"})


def make_train_logs(root: Path, it: str, steps: int = 5) -> Path:
    """A DVCLive folder dvclive/train/<it>/plots/metrics/{train,eval}/loss.tsv + train metrics."""
    folder = root / "dvclive" / "train" / it
    for split, scale in (("train", 2.0), ("eval", 2.5)):
        rows = "".join(f"{s}\t{scale / (s + 1):.4f}\n" for s in range(steps))
        atomic_write_text(folder / "plots" / "metrics" / split / "loss.tsv", "step\tloss\n" + rows)
    write_json(folder / "metrics.json", {"train": {"loss": 0.4}, "step": steps - 1})
    write_json(
        root / "metrics" / "train" / f"{it}.json",
        {"data_version": "v1", "init": "base", "steps": steps},
    )
    return folder
