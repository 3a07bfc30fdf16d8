"""python stages/judge_targets.py --data data/synth/v1 --prompts prompts/judge
    --model-dir models/judge --calibration models/judge_calibration.json --cache cache/judge
    --rows 200 --metrics metrics/targets/v1.json

The quality of a synth version's training targets, measured by the same judge that measures
the models (deterministic features plus the calibration fitted by judge_validate; the checklist
too when ``judge.checklist`` is on): the share of target names judged good and bad with Wilson
intervals, the likely-taken share (a dictionary word or common phrase on .com), and how often
each hard gate fired, over the first ``--rows`` safe rows of the train split by hashed id.
The dataset card (``card.md``) is written by synth, before any judge exists; this is its
judge-measured companion, shown in the report.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from domainllm.io import read_json, read_jsonl, sha256_file, write_json
from domainllm.judge.calibrate import Calibration
from domainllm.judge.checklist import JudgeItem
from domainllm.judge.namejudge import NameJudge, verdicts
from domainllm.judge.params import JudgeParams
from domainllm.judge.run import sample
from domainllm.params import UserError, load_section, run_stage
from domainllm.report import rate
from domainllm.rerank import likely_taken
from domainllm.schema import Example


def share(k: int, n: int) -> dict[str, float | int]:
    """A share with its 95% Wilson interval, rounded."""
    r = rate(k, n, 0.95)
    return {"k": k, "n": n, **{x: round(r[x], 4) for x in ("value", "lo", "hi")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--bank", type=Path, required=True, help="naming bank folder (filler words)")
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--calibration", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--metrics", type=Path, required=True)
    a = ap.parse_args()
    p = load_section("judge", JudgeParams)
    for f in (a.data / "train.jsonl", a.calibration):
        if not f.is_file():
            raise UserError(f"{f}: not found (run `dvc repro` for the stage that writes it)")
    rows = [r for r in read_jsonl(a.data / "train.jsonl") if r["target"]["status"] == "success"]
    rows = sample(rows, a.rows, p.seed)
    exs = [Example.model_validate(r) for r in rows]
    items = [
        JudgeItem(e.id, "train", e.request, s.domain) for e in exs for s in e.target.suggestions
    ]
    judge = NameJudge.load(a.prompts, p, a.model_dir, a.cache, a.bank)
    feats, _ = judge.features(items, f"targets {a.data.name}")
    try:
        vs = verdicts(Calibration.from_dict(read_json(a.calibration)), feats)
    except ValueError as exc:
        raise UserError(f"{a.calibration}: {exc}") from None
    n = len(vs)
    labels = Counter(v["label"] for v in vs)
    gates = Counter(g for v in vs for g in v["gates"])
    taken = sum(likely_taken(it.domain, f) for it, f in zip(items, feats, strict=True))
    metrics = {
        "data_version": a.data.name,
        "data_hash": sha256_file(a.data / "train.jsonl")[:12],
        "judge": {
            "backend": p.backend if p.checklist else "none",
            "calibration": sha256_file(a.calibration)[:12],
            **judge.hashes(),
        },
        "rows": len(exs),
        "names": n,
        "names_good": share(labels["good"], n),
        "names_bad": share(labels["bad"], n),
        "likely_taken": share(taken, n),
        "gates": dict(sorted(gates.items())),
        "worst": sorted(
            (
                {"domain": it.domain, "score": round(v["score"], 3)}
                for it, v in zip(items, vs, strict=True)
            ),
            key=lambda x: x["score"],
        )[:10],
    }
    write_json(a.metrics, metrics)
    print(
        f"targets {a.data.name}: {n} names, good {metrics['names_good']['value']}, "
        f"bad {metrics['names_bad']['value']}, likely taken {metrics['likely_taken']['value']}"
    )


if __name__ == "__main__":
    run_stage(main)
