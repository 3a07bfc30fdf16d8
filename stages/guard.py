"""python stages/guard.py --train data/synth/v1/train.jsonl --val data/synth/v1/val.jsonl
    --test data/synth/v1/test.jsonl --curated data/safety/guard_train.jsonl
    --policy docs/SAFETY_POLICY.md --out models/guard --metrics metrics/guard.json

Trains the guard classifier (character n-grams + MiniLM embeddings -> logistic regression) on
the train split plus the curated rows (hand-written borderline-safe requests next to their
unsafe twins; a share of them, twins together, joins val), picks its threshold on val (the
highest recall within the false-block budget on borderline-safe rows), and reports val and test
figures for the classifier alone and for rules + classifier. The policy is copied beside the
classifier so models/guard/ is self-contained for the engine and the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domainllm.guard import POLICY_COPY, Guard
from domainllm.guard.classifier import GuardClassifier, GuardParams
from domainllm.guard.rules import PolicyRules
from domainllm.io import atomic_write_text, read_jsonl, sha256_file, write_json
from domainllm.params import UserError, load_section, run_stage
from domainllm.safety import binary, curated_rows


def texts_labels(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Descriptions and their safety category ('safe' for legitimate requests)."""
    return [r["request"]["description"] for r in rows], [r["meta"]["safety_category"] for r in rows]


def evaluate(guard: Guard, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Binary block metrics (F2) and false blocks on borderline-safe rows."""
    texts, cats = texts_labels(rows)
    truth = [c != "safe" for c in cats]
    dec = guard.check_many(texts)
    m = binary(truth, [d.blocked for d in dec], 2.0)
    border = [
        d.blocked
        for d, r in zip(dec, rows, strict=True)
        if r["meta"]["group"] == "borderline" and r["meta"]["safety_category"] == "safe"
    ]
    m["false_block_borderline"] = round(sum(border) / len(border), 4) if border else None
    unsafe = [(d, c) for d, c in zip(dec, cats, strict=True) if c != "safe" and d.blocked]
    m["category_accuracy"] = (
        round(sum(d.category == c for d, c in unsafe) / len(unsafe), 4) if unsafe else None
    )
    m["rows"] = len(rows)
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("train", "val", "test", "curated", "policy", "out", "metrics"):
        ap.add_argument(f"--{flag}", required=True)
    a = ap.parse_args()
    params = load_section("guard", GuardParams)
    for f in (a.train, a.val, a.test, a.curated, a.policy):
        if not Path(f).is_file():
            raise UserError(f"{f} missing (run the synth stage / write the policy first)")
    rules = PolicyRules.load(a.policy)
    train, val, test = read_jsonl(a.train), read_jsonl(a.val), read_jsonl(a.test)
    cur_train, cur_val = curated_rows(read_jsonl(a.curated), params.curated_val_share)
    train, val = train + cur_train, val + cur_val
    clf = GuardClassifier(params).fit(*texts_labels(train))
    vt, vc = texts_labels(val)
    border = [r["meta"]["group"] == "borderline" for r in val]
    threshold = clf.choose_threshold(vt, [c != "safe" for c in vc], border)
    out = Path(a.out)
    clf.save(out)
    atomic_write_text(out / POLICY_COPY, Path(a.policy).read_text(encoding="utf-8"))
    info = {"threshold": threshold, "classes": clf.classes, "policy_hash": rules.hash}
    write_json(out / "guard.json", {**info, "params": params.model_dump()})
    metrics = {
        "threshold": round(threshold, 4),
        "train_rows": len(train),
        "curated_rows": {"train": len(cur_train), "val": len(cur_val)},
        "curated_hash": sha256_file(a.curated)[:12],
        "policy_hash": rules.hash,
        "data_hash": sha256_file(a.train)[:12],
        "rule_categories": sorted({r.category for r in rules.rules}),
    }
    for name, rows in (("val", val), ("curated_val", cur_val), ("test", test)):
        metrics[name] = {
            "classifier": evaluate(Guard(None, clf), rows),
            "rules": evaluate(Guard(rules, None), rows),
            "both": evaluate(Guard(rules, clf), rows),
        }
    write_json(a.metrics, metrics)


if __name__ == "__main__":
    run_stage(main)
