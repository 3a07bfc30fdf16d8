"""python stages/judge_validate.py --gold data/gold/judge_gold.jsonl --metrics ... (see dvc.yaml)

Measure each judge backend's agreement with the team's gold labels (good/ok/bad): accuracy and
Cohen's kappa on labels (composite mapped with the rubric's thresholds) and Spearman between
the composite and the label order. ``checks`` is the no-LLM baseline from the deterministic checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domainllm.contract import Request
from domainllm.io import read_jsonl, sha256_file, write_json
from domainllm.judge.backends import Failures, make_backend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.checks import checks_score, default_embedder, run_checks
from domainllm.judge.params import JudgeParams, JudgeValidateParams
from domainllm.judge.prompt import JudgeItem, JudgePrompt, composite, load_judge_prompt
from domainllm.judge.run import judge_all, sample
from domainllm.judge.stats import accuracy, cohen_kappa, mean, spearman
from domainllm.params import UserError, load_section, run_stage

ORDER = {"bad": 0, "ok": 1, "good": 2}


def agreement(gold: list[str], scores: list[float], prompt: JudgePrompt) -> dict[str, Any]:
    """Accuracy, kappa (plain and quadratic), Spearman and the confusion counts."""
    pred = [prompt.label(s) for s in scores]
    g, p = [ORDER[x] for x in gold], [ORDER[x] for x in pred]
    confusion = {a: {b: 0 for b in ORDER} for a in ORDER}
    for a, b in zip(gold, pred, strict=True):
        confusion[a][b] += 1
    return {
        "n": len(gold),
        "accuracy": round(accuracy(g, p), 4),
        "cohen_kappa": round(cohen_kappa(g, p), 4),
        "cohen_kappa_quadratic": round(cohen_kappa(g, p, "quadratic"), 4),
        "spearman": round(spearman(g, scores), 4),
        "confusion_gold_to_pred": confusion,
    }


def by_kind(rows: list[dict[str, Any]], scores: list[float]) -> dict[str, float]:
    """Mean score per failure kind (does the judge rank gibberish below good names?)."""
    kinds = sorted({r["kind"] for r in rows})
    return {
        k: round(mean([s for r, s in zip(rows, scores, strict=True) if r["kind"] == k]), 3)
        for k in kinds
    }


def llm_agreement(
    name: str,
    jp: JudgeParams,
    prompt: JudgePrompt,
    args: argparse.Namespace,
    items: list[JudgeItem],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Judge the gold items with one LLM backend (through the cache) and score the agreement."""
    failures = Failures()
    params = jp.model_copy(update={"backend": name})
    backend = make_backend(params, prompt, args.model_dir, failures)
    cache = JudgeCache(args.cache, backend.name, backend.model_id, prompt.hash)
    try:
        verdicts, run = judge_all(items, backend, cache, failures, jp.batch_size, name)
    finally:
        cache.close()
    scored = [(r, verdicts[it.key()]["scores"]) for r, it in zip(rows, items, strict=True)]
    ok = [(r, composite(s)) for r, s in scored if s]
    gold, scores = [r["label"] for r, _ in ok], [s for _, s in ok]
    res = agreement(gold, scores, prompt) if ok else {"n": 0}
    return res | {
        "model": backend.model_id,
        "by_kind": by_kind([r for r, _ in ok], scores),
        "failures": failures.as_dict(),
        "run": run.as_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, required=True, help="local judge model folder")
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="judgement cache folder")
    ap.add_argument("--metrics", type=Path, required=True)
    args = ap.parse_args()
    jp = load_section("judge", JudgeParams)
    vp = load_section("judge_validate", JudgeValidateParams)
    prompt = load_judge_prompt(args.prompts)
    if not args.gold.is_file():
        raise UserError(f"{args.gold}: not found (the gold set is committed to git)")
    rows = sample(read_jsonl(args.gold), vp.max_items, jp.seed)
    for r in rows:
        if r.get("label") not in ORDER:
            raise UserError(f"{args.gold}: row {r.get('id')} label must be good, ok or bad")
    items = [JudgeItem(r["id"], "gold", Request(**r["request"]), (r["domain"],)) for r in rows]
    gold = [r["label"] for r in rows]
    checks = run_checks(items, default_embedder())
    out: dict[str, Any] = {"n_gold": len(rows), "gold_sha256": sha256_file(args.gold)[:12]}
    out["prompt_hash"] = prompt.hash
    for name in vp.backends:
        if name == "checks":
            scores = [checks_score(c) for c in checks]
            out["checks"] = agreement(gold, scores, prompt) | {"by_kind": by_kind(rows, scores)}
            continue
        out[name] = llm_agreement(name, jp, prompt, args, items, rows)
    out["note"] = (
        "Labels come from the composite with the rubric thresholds (prompts/judge/rubric.yaml); "
        "Spearman uses the raw composite. A judge from the base model's family may favour it."
    )
    write_json(args.metrics, out)
    for name in vp.backends:
        m = out[name]
        print(f"{name}: n={m['n']} acc={m.get('accuracy')} kappa={m.get('cohen_kappa')} "
              f"spearman={m.get('spearman')}")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
