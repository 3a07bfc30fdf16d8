"""python stages/judge.py --iteration baseline --predict data/predict/baseline ...

Score an iteration's success answers with the LLM judge (rubric in prompts/judge/) plus the
deterministic checks. Writes per-item rows (data/judge/<iteration>.jsonl) and metrics with 95%
bootstrap intervals (metrics/judge/<iteration>.json). Verdicts go through a persistent cache
outside the DVC outputs, so a rerun or a resumed run judges only what is new.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domainllm.contract import Request
from domainllm.io import read_jsonl, sha256_file, write_json, write_jsonl
from domainllm.judge.backends import Failures, make_backend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.checks import default_embedder, run_checks
from domainllm.judge.params import JudgeParams
from domainllm.judge.prompt import JudgeItem, JudgePrompt, composite, load_judge_prompt
from domainllm.judge.run import judge_all, sample
from domainllm.judge.stats import bootstrap_ci, mean
from domainllm.params import UserError, load_section, run_stage

FAMILY_NOTE = (
    "The local judge (Qwen2.5-Coder-1.5B-Instruct) is from the same family as a Qwen base "
    "model and may favour its outputs; compare iterations, not absolute scores."
)


def select(rows: list[dict[str, Any]], p: JudgeParams) -> tuple[list[JudgeItem], dict[str, int]]:
    """Items to judge among the sampled expected-success rows, and why others were skipped."""
    items: list[JudgeItem] = []
    skipped = {"blocked": 0, "empty": 0}
    for r in sample([r for r in rows if r["expected"] == "success"], p.max_items, p.seed):
        resp = r["response"]
        if resp.get("status") != "success":
            skipped["blocked"] += 1
        elif not resp.get("suggestions"):
            skipped["empty"] += 1
        else:
            doms = tuple(s["domain"] for s in resp["suggestions"])
            items.append(JudgeItem(r["id"], r["suite"], Request(**r["request"]), doms))
    return items, skipped


def item_rows(items: list[JudgeItem], verdicts: dict, checks: list[dict]) -> list[dict[str, Any]]:
    """The per-item output rows."""
    out = []
    for it, c in zip(items, checks, strict=True):
        v = verdicts[it.key()]
        out.append(
            {
                "id": it.id,
                "suite": it.suite,
                "description": it.request.description,
                "domains": list(it.domains),
                "scores": v["scores"],
                "composite": composite(v["scores"]) if v["scores"] else None,
                "checks": c,
                "error": v["error"],
            }
        )
    return out


def summarize(rows: list[dict[str, Any]], prompt: JudgePrompt, p: JudgeParams) -> dict[str, Any]:
    """Per-criterion and composite means with bootstrap intervals, and per-suite composites."""
    ok = [r for r in rows if r["scores"]]
    crit = {
        c: bootstrap_ci([r["scores"][c] for r in ok if c in r["scores"]], p.bootstrap, p.seed)
        for c in prompt.criteria
    }
    suites = sorted({r["suite"] for r in rows})
    return {
        "criteria": crit,
        "composite": bootstrap_ci([r["composite"] for r in ok], p.bootstrap, p.seed),
        "by_suite": {
            s: bootstrap_ci([r["composite"] for r in ok if r["suite"] == s], p.bootstrap, p.seed)
            for s in suites
        },
        "checks": {
            k: round(mean([r["checks"][k] for r in rows]), 4)
            for k in ("valid", "constraints", "pronounceability", "length_score", "mean_length")
        }
        | {"similarity": round(mean(s), 4) if (s := _sims(rows)) else None},
    }


def _sims(rows: list[dict[str, Any]]) -> list[float]:
    return [r["checks"]["similarity"] for r in rows if r["checks"]["similarity"] is not None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iteration", required=True)
    ap.add_argument("--predict", type=Path, required=True, help="data/predict/<iteration>")
    ap.add_argument("--suites", nargs="+", default=["test", "edge"])
    ap.add_argument("--model-dir", type=Path, required=True, help="local judge model folder")
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="judgement cache folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--metrics", type=Path, required=True)
    args = ap.parse_args()
    p = load_section("judge", JudgeParams)
    prompt = load_judge_prompt(args.prompts)
    files = [args.predict / f"{s}.jsonl" for s in args.suites]
    for f in files:
        if not f.is_file():
            raise UserError(f"{f}: not found (run `dvc repro predict@{args.iteration}` first)")
    rows = [r for f in files for r in read_jsonl(f)]
    items, skipped = select(rows, p)
    failures = Failures()
    backend = make_backend(p, prompt, args.model_dir, failures)
    cache = JudgeCache(args.cache, backend.name, backend.model_id, prompt.hash)
    try:
        verdicts, run = judge_all(items, backend, cache, failures, p.batch_size, args.iteration)
    finally:
        cache.close()
    out = item_rows(items, verdicts, run_checks(items, default_embedder()))
    write_jsonl(args.out, out)
    metrics = {
        "iteration": args.iteration,
        "judge": {"backend": backend.name, "model": backend.model_id, "prompt_hash": prompt.hash},
        "inputs": {f.name: sha256_file(f)[:12] for f in files},
        "n": sum(r["scores"] is not None for r in out),
        "n_rows": len(rows),
        "n_sampled": len(items) + sum(skipped.values()),
        "skipped": skipped,
        "failures": failures.as_dict(),
        "run": run.as_dict(),
        "score_token_mass": round(mean(run.mass), 4) if run.mass else None,
        "note": FAMILY_NOTE,
    } | summarize(out, prompt, p)
    write_json(args.metrics, metrics)
    c = metrics["composite"]
    n_failed = failures.failed_items
    print(f"judge {args.iteration}: n={metrics['n']} composite={c['mean']} "
          f"[{c['ci_low']}, {c['ci_high']}] failed items={n_failed}")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
