"""python stages/compare.py --judge-root data/judge --model-dir models/judge ... (see dvc.yaml)

Pairwise comparison of every pair of iterations (``report.iterations``) on the requests both
answered: the judge model is asked in both orders which list of names an expert would rather
shortlist; a list wins only when both orders agree. Writes metrics/compare.json with wins,
ties, win rates with intervals and position consistency.
"""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path
from typing import Any

from domainllm.io import read_jsonl, sha256_file, write_json
from domainllm.judge.backends import Failures, make_backend
from domainllm.judge.cache import JudgeCache
from domainllm.judge.checklist import load_checklist
from domainllm.judge.pairwise import PairPrompt, decide, pair_items, summarize
from domainllm.judge.params import JudgeParams
from domainllm.judge.run import judge_all
from domainllm.params import UserError, load_section, run_stage
from domainllm.report import ReportParams


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge-root", type=Path, required=True, help="data/judge")
    ap.add_argument("--model-dir", type=Path, required=True, help="judge model folder")
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--metrics", type=Path, required=True)
    args = ap.parse_args()
    jp = load_section("judge", JudgeParams)
    rp = load_section("report", ReportParams)
    prompt = load_checklist(args.prompts, "pairwise.yaml", PairPrompt)
    answers: dict[str, dict[str, Any]] = {}
    for it in rp.iterations:
        f = args.judge_root / f"{it}.jsonl"
        if not f.is_file():
            raise UserError(f"{f}: not found (run `dvc repro judge@{it}`)")
        rows = read_jsonl(f)
        answers[it] = {f"{r['suite']}/{r['id']}": r for r in rows if r.get("names")}
    failures = Failures()
    backend = make_backend(jp, prompt, args.model_dir, failures)
    cache = JudgeCache(args.cache, backend.name, backend.model_id, prompt.hash)
    out: dict[str, Any] = {}
    try:
        for a, b in combinations(rp.iterations, 2):
            pairs = pair_items(answers[a], answers[b])
            flat = [q for pair in pairs for q in pair]
            got, run = judge_all(flat, backend, cache, failures, jp.batch_size, f"{a} vs {b}")
            p = [(got[x.key()]["scores"] or {}).get("first_better", 0.5) for x in flat]
            outcomes = [decide(p[2 * i], p[2 * i + 1]) for i in range(len(pairs))]
            probs = [(p[2 * i], p[2 * i + 1]) for i in range(len(pairs))]
            s = summarize(outcomes, rp.confidence, rp.bootstrap_n, rp.seed, probs)
            out[f"{a} vs {b}"] = s | {
                "a": a, "b": b, "run": run.as_dict()}  # fmt: skip
    finally:
        cache.close()
    inputs = {it: sha256_file(args.judge_root / f"{it}.jsonl")[:12] for it in rp.iterations}
    write_json(args.metrics, {"judge": {"backend": backend.name, "model": backend.model_id,
                                        "prompt_hash": prompt.hash},
                              "inputs": inputs, "failures": failures.as_dict(),
                              "pairs": out})  # fmt: skip
    for name, m in out.items():
        print(f"compare {name}: B wins {m['b_wins']}, A wins {m['a_wins']}, ties {m['ties']}, "
              f"position consistency {m['position_consistency']}")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
