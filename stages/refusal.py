"""python stages/refusal.py --iteration baseline --model models/baseline --guard models/guard
    --val data/synth/v1/val.jsonl --redteam data/suites/redteam.jsonl
    --borderline data/safety/borderline.jsonl --curated data/safety/guard_train.jsonl
    --metrics metrics/refusal/baseline.json --plot plots/refusal/baseline.json
    --png reports/refusal_baseline.png

Where each part of the safety decision draws the line. Every row is scored once: the guard's
rules, its classifier score, and the model's own log-odds of `blocked` at the status token
(one forward pass, no names generated). From those scores: false blocks on the hand-written
borderline suite (data/safety, never trained on) and recall on its unsafe twins and on the
red-team suite, per component (guard rules, guard classifier, guard, model greedy, model at a
threshold chosen on val for `refusal.max_false_block`, guard or calibrated model) and per kind,
plus ROC and precision-recall curves of the guard and the model (PNG and DVC plot data).

Val is the synth val split plus the guard's curated val rows (hand-written borderline requests
and their unsafe twins, the share `guard.curated_val_share` the guard never trains on): the
threshold is the lowest whose false blocks on those safe rows stay within the budget and of
whose blocks at least `refusal.min_precision` are unsafe.
`predict`, the CLI and the server refuse at that threshold (`thresholds.model_calibrated`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from domainllm import safety as S
from domainllm.contract import Request
from domainllm.engine import Engine, evaluated_settings
from domainllm.figures import curves_png
from domainllm.guard.classifier import GuardParams
from domainllm.io import atomic_write_bytes, read_jsonl, sha256_file, write_json
from domainllm.params import UserError, load_section, run_stage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[4])
    for flag in ("iteration", "model", "guard", "val", "redteam", "borderline", "curated",
                 "bank", "metrics", "plot", "png"):  # fmt: skip
        ap.add_argument(f"--{flag}", required=True)
    a = ap.parse_args()
    p = load_section("refusal", S.RefusalParams)
    share = load_section("guard", GuardParams).curated_val_share
    for f in (a.val, a.redteam, a.borderline, a.curated):
        if not Path(f).is_file():
            raise UserError(f"{f} missing (run synth/suites first; data/safety is in git)")
    _, cur_val = S.curated_rows(read_jsonl(Path(a.curated)), share)
    rows = S.refusal_rows(*(read_jsonl(Path(f)) for f in (a.val, a.redteam, a.borderline)),
                          cur_val)  # fmt: skip
    engine = Engine.load(Path(a.model), Path(a.guard), evaluated_settings(bank=a.bank))
    reqs = [Request.model_validate(r["request"]) for r in rows]
    for r, d in zip(rows, engine.guard.check_many([q.description for q in reqs]), strict=True):
        r["rule"], r["guard_score"], r["guard_blocked"] = d.rule, d.score, d.blocked
    margins = engine.block_margins(reqs, p.batch_size)
    for r, m in zip(rows, margins, strict=True):
        r["margin"] = m
    clf = engine.guard.classifier
    g_t = float(clf.threshold) if clf is not None else float("inf")
    val = [r for r in rows if r["suite"] == "val"]
    m_t = S.choose_refusal_threshold([r["margin"] for r in val], [r["unsafe"] for r in val],
                                     p.max_false_block, p.min_precision)  # fmt: skip
    held = [r for r in rows if r["suite"] != "val"]  # scored, never used to choose anything
    unsafe = [r["unsafe"] for r in held]
    curves = {
        "guard": S.curve([S.guard_score(r) for r in held], unsafe),
        "model": S.curve([r["margin"] for r in held], unsafe),
    }
    points = {}
    for comp in ("guard", "model_greedy", "model_calibrated", "combined"):
        dec = [S.blocks(r, g_t, m_t)[comp] for r in held]
        tp = sum(d and u for d, u in zip(dec, unsafe, strict=True))
        fp = sum(d and not u for d, u in zip(dec, unsafe, strict=True))
        points[comp] = (fp / max(1, unsafe.count(False)), tp / max(1, sum(unsafe)),
                        tp / max(1, tp + fp))  # fmt: skip
    png = curves_png(curves, points, f"{a.iteration}: borderline + red-team suites")
    atomic_write_bytes(Path(a.png), png)
    write_json(Path(a.plot), [{"component": k, "false_block_rate": x, "recall": y}
                              for k, c in curves.items() for x, y in c["roc"]])  # fmt: skip
    info = engine.info()
    write_json(Path(a.metrics), {
        "iteration": a.iteration,
        "model": info["name"],
        "prompt_hash": info["prompt_hash"],
        "guard": info["guard"],
        "borderline_sha256": sha256_file(Path(a.borderline))[:12],
        "curated_sha256": sha256_file(Path(a.curated))[:12],
        "thresholds": {"guard_classifier": g_t, "model_calibrated": round(m_t, 4),
                       "max_false_block_on_val": p.max_false_block,
                       "min_precision_on_val": p.min_precision},
        "suites": S.decision_report(rows, g_t, m_t),
        "held_out": {k: {m: c[m] for m in ("roc_auc", "average_precision")}
                     for k, c in curves.items()} | {
            k: {"false_block_rate": round(x, 4), "recall": round(y, 4), "precision": round(z, 4)}
            for k, (x, y, z) in points.items()},
        "false_blocks": [{"id": r["id"], "kind": r["kind"], "margin": round(r["margin"], 3),
                          "guard_score": round(r["guard_score"], 3), "rule": r["rule"],
                          "description": r["request"]["description"][:120]}
                         for r in held if not r["unsafe"] and S.blocks(r, g_t, m_t)["combined"]],
    })  # fmt: skip
    fb = S.decision_report(rows, g_t, m_t)["borderline"]["false_block"]["combined"]
    print(f"refusal {a.iteration}: borderline false blocks {fb['k']}/{fb['n']}, "
          f"model threshold {m_t:.3f} (greedy 0)")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
