"""python stages/report.py --predict-root data/predict --judge-root data/judge \
--discover-root metrics/discover --metrics-root metrics --train-root dvclive/train \
--out-md reports/comparison.md --plots-dir reports --out-metrics metrics/report.json

Compares the iterations listed in params.yaml `report.iterations` (same test set): every
metric with its interval, paired bootstrap tests of the judge scores, McNemar tests of the
safety decisions, PNG plots, and a small metrics file for `dvc metrics diff`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from domainllm.discovery import provenance
from domainllm.io import atomic_write_text, read_json, read_jsonl, write_json
from domainllm.params import UserError, load_section, run_stage
from domainllm.report import Iteration, ReportParams, compare, criteria_of, iteration_metrics
from domainllm.report_render import (
    HEADLINE,
    plot_confusion,
    plot_failures,
    plot_loss,
    plot_scores,
    read_loss_curves,
    render_markdown,
)


def need(path: Path, stage: str) -> Path:
    """A required input, or a one-line error saying which stage makes it."""
    if not path.exists():
        raise UserError(f"{path}: not found (run the {stage} stage first)")
    return path


def load(name: str, a: argparse.Namespace) -> Iteration:
    """Read one iteration's predictions, judgements, discovery and training logs."""
    pdir = need(a.predict_root / name, f"predict@{name}")
    predict = [r for f in sorted(pdir.glob("*.jsonl")) for r in read_jsonl(f)]
    judge = read_jsonl(need(a.judge_root / f"{name}.jsonl", f"judge@{name}"))
    discover = read_json(need(a.discover_root / f"{name}.json", f"discover@{name}"))
    prov = dict(discover.get("provenance", {}))
    for area in ("predict", "judge", "train"):
        path = a.metrics_root / area / f"{name}.json"
        if path.is_file():
            prov.update(provenance(read_json(path), area))
    prov.pop("iteration", None)
    return Iteration(name, predict, judge, discover, prov, read_loss_curves(a.train_root / name))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("predict-root", "judge-root", "discover-root", "metrics-root", "train-root"):
        ap.add_argument(f"--{opt}", type=Path, required=True)
    ap.add_argument("--compare", type=Path, help="metrics/compare.json (pairwise judgements)")
    ap.add_argument("--out-md", type=Path, required=True)
    ap.add_argument("--plots-dir", type=Path, required=True)
    ap.add_argument("--out-metrics", type=Path, required=True)
    args = ap.parse_args()
    p = load_section("report", ReportParams)
    its = [load(name, args) for name in p.iterations]
    crit = criteria_of(its)
    metrics = {it.name: iteration_metrics(it, crit, p) for it in its}
    tests = {}
    for i, a in enumerate(its):
        for b in its[i + 1 :]:
            tests[f"{a.name} vs {b.name}"] = compare(a, b, crit, p)
    args.plots_dir.mkdir(parents=True, exist_ok=True)
    plot_scores(args.plots_dir / "scores.png", metrics, crit)
    plot_failures(args.plots_dir / "failures.png", metrics)
    plot_confusion(args.plots_dir / "confusion.png", its)
    plot_loss(args.plots_dir / "loss.png", its)
    pairwise = read_json(args.compare) if args.compare and args.compare.is_file() else None
    md = render_markdown(its, metrics, tests, p.alpha, p.confidence, pairwise)
    atomic_write_text(args.out_md, md)
    headline = {
        n: {k: round(m[k]["value"], 4) for k in HEADLINE if k in m} for n, m in metrics.items()
    }
    pw = {k: v["b_score_ties_half"]["mean"] for k, v in (pairwise or {}).get("pairs", {}).items()}
    write_json(args.out_metrics, {"iterations": headline, "tests": tests, "pairwise_b_score": pw})
    print(f"report: {len(its)} iterations, {len(tests)} comparisons -> {args.out_md}")


if __name__ == "__main__":
    run_stage(main)
