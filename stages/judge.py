"""python stages/judge.py --iteration baseline --predict data/predict/baseline ...

Judge every name an iteration suggested (test split and edge suite): deterministic features,
the LLM checklist (through a persistent cache outside the DVC outputs) and the calibration
fitted by judge_validate give each name good/ok/bad and a 0-1 score. Writes one row per answer
(data/judge/<iteration>.jsonl) and metrics (metrics/judge/<iteration>.json): share of names good
and bad with Wilson intervals, share of requests with at least 2 good names, mean score.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from domainllm.contract import Request
from domainllm.io import read_json, read_jsonl, sha256_file, write_json, write_jsonl
from domainllm.judge.calibrate import Calibration
from domainllm.judge.checklist import JudgeItem
from domainllm.judge.namejudge import NameJudge, verdicts
from domainllm.judge.params import JudgeParams
from domainllm.judge.run import sample
from domainllm.params import UserError, load_section, run_stage
from domainllm.report import rate as wilson_rate
from domainllm.stats import bootstrap_ci

FAMILY_NOTE = (
    "The checklist model (Qwen2.5-Coder) is from the same family as the Qwen base model and may "
    "favour its outputs; the calibration and deterministic features temper that."
)


def select(rows: list[dict[str, Any]], p: JudgeParams) -> tuple[list[dict], dict[str, int]]:
    """Answered expected-success rows among the sampled ones, and why others were skipped."""
    keep: list[dict[str, Any]] = []
    skipped = {"blocked": 0, "empty": 0}
    for r in sample([r for r in rows if r["expected"] == "success"], p.max_items, p.seed):
        resp = r["response"]
        if resp.get("status") != "success":
            skipped["blocked"] += 1
        elif not resp.get("suggestions"):
            skipped["empty"] += 1
        else:
            keep.append(r)
    return keep, skipped


def answer_rows(rows: list[dict], items: list[JudgeItem], vs: list[dict]) -> list[dict]:
    """One output row per answer: its names' verdicts and the answer-level shares."""
    by_answer: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for it, v in zip(items, vs, strict=True):
        name = {"domain": it.domain, "label": v["label"], "score": v["score"], "gates": v["gates"]}
        by_answer.setdefault((it.suite, it.id), []).append(name)
    out = []
    for r in rows:
        names = by_answer[(r["suite"], r["id"])]
        k = len(names)
        scores = {
            "good": round(sum(n["label"] == "good" for n in names) / k, 4),
            "bad": round(sum(n["label"] == "bad" for n in names) / k, 4),
            "score": round(sum(n["score"] for n in names) / k, 4),
        }
        out.append({"id": r["id"], "suite": r["suite"], "description": r["request"]["description"],
                    "request": r["request"],
                    "names": names, "scores": scores, "composite": scores["score"],
                    "good_names": sum(n["label"] == "good" for n in names),
                    "error": None})  # fmt: skip
    return out


def rate(k: int, n: int) -> dict[str, Any]:
    """A share with its 95% Wilson interval (rounded for the metrics file)."""
    r = wilson_rate(k, n, 0.95)
    return {"k": k} | {key: round(v, 4) if isinstance(v, float) else v for key, v in r.items()}


def summarize(out: list[dict[str, Any]], p: JudgeParams) -> dict[str, Any]:
    """Shares of good/bad names, requests with 2+ good names, mean score; per suite too."""
    names = [n for r in out for n in r["names"]]

    def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
        ns = [n for r in rows for n in r["names"]]
        return {
            "names_good": rate(sum(n["label"] == "good" for n in ns), len(ns)),
            "names_bad": rate(sum(n["label"] == "bad" for n in ns), len(ns)),
            "requests_2_good": rate(sum(r["good_names"] >= 2 for r in rows), len(rows)),
            "score": bootstrap_ci([r["composite"] for r in rows], p.bootstrap, p.seed),
        }

    gates: dict[str, int] = {}
    for n in names:
        for g in n["gates"]:
            gates[g] = gates.get(g, 0) + 1
    suites = sorted({r["suite"] for r in out})
    return block(out) | {"n_names": len(names), "gates": dict(sorted(gates.items())),
                         "by_suite": {s: block([r for r in out if r["suite"] == s])
                                      for s in suites}}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iteration", required=True)
    ap.add_argument("--predict", type=Path, required=True, help="data/predict/<iteration>")
    ap.add_argument("--suites", nargs="+", default=["test", "edge"])
    ap.add_argument("--model-dir", type=Path, required=True, help="checklist model folder")
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--bank", type=Path, required=True, help="naming bank folder (filler words)")
    ap.add_argument("--calibration", type=Path, required=True, help="judge_validate's weights")
    ap.add_argument("--cache", type=Path, required=True, help="checklist answer cache folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--metrics", type=Path, required=True)
    args = ap.parse_args()
    p = load_section("judge", JudgeParams)
    files = [args.predict / f"{s}.jsonl" for s in args.suites]
    for f in [*files, args.calibration]:
        if not f.is_file():
            raise UserError(f"{f}: not found (run `dvc repro` for the stage that writes it)")
    cal_data = read_json(args.calibration)
    cal = Calibration.from_dict(cal_data)
    rows = [r for f in files for r in read_jsonl(f)]
    keep, skipped = select(rows, p)
    items = [JudgeItem(r["id"], r["suite"], Request(**r["request"]), s["domain"])
             for r in keep for s in r["response"]["suggestions"]]  # fmt: skip
    judge = NameJudge.load(args.prompts, p, args.model_dir, args.cache, args.bank)
    t0 = time.perf_counter()
    feats, run = judge.features(items, args.iteration)
    try:
        vs = verdicts(cal, feats)
    except ValueError as exc:
        raise UserError(f"{args.calibration}: {exc}") from None
    seconds = time.perf_counter() - t0
    out = answer_rows(keep, items, vs)
    write_jsonl(args.out, out)
    metrics = {
        "iteration": args.iteration,
        "judge": {
            "backend": p.backend if p.checklist else "none",
            "model": judge.model_id,
            "calibration": sha256_file(args.calibration)[:12],
            **judge.hashes(),
        },
        "inputs": {f.name: sha256_file(f)[:12] for f in files},
        "n": len(out),
        "n_rows": len(rows),
        "n_sampled": len(keep) + sum(skipped.values()),
        "skipped": skipped,
        "failures": judge.failures.as_dict(),
        "run": run.as_dict() | {"judge_seconds_total": round(seconds, 2)},
        "note": FAMILY_NOTE if p.checklist else "Deterministic features only (no checklist).",
    } | summarize(out, p)
    write_json(args.metrics, metrics)
    g, b = metrics["names_good"], metrics["names_bad"]
    print(f"judge {args.iteration}: {metrics['n_names']} names in {len(out)} answers: "
          f"good {g['value']} [{g['lo']}, {g['hi']}], bad {b['value']}, "
          f">=2 good {metrics['requests_2_good']['value']} ({seconds:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
