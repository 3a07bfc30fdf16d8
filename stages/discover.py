"""python stages/discover.py --iteration baseline --predict data/predict/baseline \
--judge data/judge/baseline.jsonl --out-md reports/edge_cases_baseline.md \
--out-metrics metrics/discover/baseline.json

Edge-case discovery for one iteration: joins predict rows with judge rows, classifies every
failure (domainllm/discovery.py), counts them by kind, request group and template, and lists
the worst items. synth@v2 reads the baseline's metrics to upweight failing groups/templates.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from domainllm.discovery import DiscoverParams, analyse, provenance, render_markdown
from domainllm.io import atomic_write_text, read_json, read_jsonl, write_json
from domainllm.params import UserError, load_section, run_stage


def read_predict(folder: Path) -> list[dict]:
    """Every suite file of an iteration's predictions, in a stable order."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise UserError(f"{folder}: no <suite>.jsonl prediction files (run the predict stage)")
    return [row for f in files for row in read_jsonl(f)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iteration", required=True)
    ap.add_argument("--predict", type=Path, required=True, help="data/predict/<iteration>/")
    ap.add_argument("--judge", type=Path, required=True, help="data/judge/<iteration>.jsonl")
    ap.add_argument("--predict-metrics", type=Path, help="metrics/predict/<iteration>.json")
    ap.add_argument("--judge-metrics", type=Path, help="metrics/judge/<iteration>.json")
    ap.add_argument("--out-md", type=Path, required=True)
    ap.add_argument("--out-metrics", type=Path, required=True)
    args = ap.parse_args()
    params = load_section("discover", DiscoverParams)
    rows = read_predict(args.predict)
    if not args.judge.is_file():
        raise UserError(f"{args.judge}: not found (run the judge stage for {args.iteration})")
    judge_rows = read_jsonl(args.judge)
    prov: dict[str, str] = {"iteration": args.iteration}
    for prefix, path in (("predict", args.predict_metrics), ("judge", args.judge_metrics)):
        if path is not None and path.is_file():
            prov.update(provenance(read_json(path), prefix))
    summary = analyse(rows, judge_rows, params)
    write_json(args.out_metrics, {**summary, "provenance": prov})
    atomic_write_text(
        args.out_md, render_markdown(args.iteration, summary, prov, params.top_templates)
    )
    print(
        f"discover {args.iteration}: {summary['n_failed']}/{summary['n']} items failed; "
        + ", ".join(f"{k} {v}" for k, v in summary["by_failure"].items() if v)
    )


if __name__ == "__main__":
    run_stage(main)
