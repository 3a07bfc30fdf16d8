"""python stages/judge_validate.py --gold data/gold/judge_gold.jsonl --model-dir models/judge ...

Fit the name judge's calibration on the team's gold labels and measure its agreement honestly:
every gold row is judged by a model fitted on the other folds (grouped by request), so the
figures in metrics/judge_validation.json are out-of-fold. The ablation refits without each
feature group. The final weights, fitted on every row, go to models/judge_calibration.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from domainllm.io import sha256_file, write_json
from domainllm.judge.calibrate import fit, out_of_fold
from domainllm.judge.namejudge import NameJudge
from domainllm.judge.params import JudgeParams, JudgeValidateParams
from domainllm.judge.validate import agreement, load_gold
from domainllm.params import UserError, load_section, run_stage

KEEP = ("accuracy", "kappa", "spearman", "pairwise_accuracy", "bad_below_good")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, required=True, help="checklist model folder")
    ap.add_argument("--prompts", type=Path, required=True)
    ap.add_argument("--bank", type=Path, required=True, help="naming bank folder (filler words)")
    ap.add_argument("--cache", type=Path, required=True, help="checklist answer cache folder")
    ap.add_argument("--out", type=Path, required=True, help="calibration weights (JSON)")
    ap.add_argument("--metrics", type=Path, required=True)
    args = ap.parse_args()
    jp = load_section("judge", JudgeParams)
    vp = load_section("judge_validate", JudgeValidateParams)
    if not args.gold.is_file():
        raise UserError(f"{args.gold}: not found (the gold set is committed to git)")
    rows, items, errors = load_gold(args.gold)
    if errors:
        raise UserError(f"{errors[0]} ({len(errors)} unusable gold row(s); fix the file)")
    judge = NameJudge.load(args.prompts, jp, args.model_dir, args.cache, args.bank)
    feats, run = judge.features(items, "gold")
    labels = [r["label"] for r in rows]
    groups = [r["request"]["description"] for r in rows]
    names = judge.feature_names()

    def oof(features: list[str]) -> list[dict]:
        return out_of_fold(feats, labels, groups, features, vp.folds, vp.seed, vp.C, vp.bins)

    main_fit = agreement(rows, oof(names))
    ablation = {"all": {k: main_fit[k] for k in KEEP}}
    for group, fs in judge.groups().items():
        res = agreement(rows, oof([f for f in names if f not in fs]))
        ablation[f"without {group}"] = {k: res[k] for k in KEEP}
    cal = fit(feats, labels, names, vp.C, vp.bins)
    provenance = {"gold_sha256": sha256_file(args.gold)[:12], "n_gold": len(rows),
                  "n_requests": len(set(groups)), "checklist": jp.checklist,
                  "checklist_model": judge.model_id, **judge.hashes()}  # fmt: skip
    write_json(args.out, cal.to_dict() | {"provenance": provenance})
    write_json(
        args.metrics,
        provenance
        | {
            "out_of_fold": main_fit,
            "folds": vp.folds,
            "ablation": ablation,
            "checklist_run": run.as_dict(),
            "failures": judge.failures.as_dict(),
            "note": "Out-of-fold: each gold row judged by a calibration fitted on other "
            "requests' rows. Labels are the team's, never the judge's.",
        },
    )
    print(f"judge_validate: n={main_fit['n']} kappa={main_fit['kappa']} "
          f"spearman={main_fit['spearman']} pairwise={main_fit['pairwise_accuracy']} "
          f"bad<good={main_fit['bad_below_good']}")  # fmt: skip
    for name, m in ablation.items():
        print(f"  {name:<24} kappa={m['kappa']} spearman={m['spearman']} "
              f"pairwise={m['pairwise_accuracy']}")  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
