"""Checklist speed: `python benchmarks/bench_judge.py [--model models/judge] [--n 16] [--batch 8]`.

Times the local checklist backend on the first ``--n`` gold pairs three ways: batched with the
shared system
prompt's KV cache (what the stage does), batched without it, and one item at a time without
it; prints seconds per item and the ratios against one-at-a-time. Without ``--model`` it uses
the tiny random model from ``domainllm.tiny`` (measures the code path, not the real model).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from domainllm.contract import Request
from domainllm.io import read_jsonl
from domainllm.judge.backends import LocalBackend
from domainllm.judge.checklist import JudgeItem, load_checklist
from domainllm.tiny import make_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def per_item(backend: LocalBackend, items: list[JudgeItem]) -> float:
    """Seconds per item for one judge_batch call over all items."""
    t0 = time.perf_counter()
    backend.judge_batch(items)
    return (time.perf_counter() - t0) / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model = args.model or make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    rows = read_jsonl(ROOT / "data" / "gold" / "judge_gold.jsonl")[: args.n]
    items = [JudgeItem(r["id"], "gold", Request(**r["request"]), r["domain"]) for r in rows]
    prompt = load_checklist()
    res = {}
    for name, batch, share in [("shared", args.batch, True), ("batched", args.batch, False),
                               ("single", 1, False)]:  # fmt: skip
        backend = LocalBackend(prompt, model, batch, args.threads, share_prefix=share)
        backend.judge_batch(items[:1])  # warm-up (and the shared prefix's cache)
        res[name] = round(per_item(backend, items), 4)
    res["speedup_shared_vs_single"] = round(res["single"] / res["shared"], 2)
    res["speedup_batched_vs_single"] = round(res["single"] / res["batched"], 2)
    print(json.dumps({"model": str(model), "n": args.n, "batch": args.batch, "s_per_item": res}))


if __name__ == "__main__":
    main()
