"""python stages/safety.py --predictions data/predict/baseline
    --predict-metrics metrics/predict/baseline.json --metrics
    metrics/safety/baseline.json --plot plots/safety/baseline.json --png
    reports/figures/safety_baseline.png

Safety of one iteration from its prediction rows: precision, recall, F1, F2 (a missed unsafe
request weighs more), false-block rate on borderline-safe requests, recall per category and
per adversarial transform, the ablation guard alone / model alone / both, and the category
confusion matrix (DVC plot data + PNG).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domainllm.figures import confusion_png
from domainllm.io import atomic_write_bytes, read_json, read_jsonl, write_json
from domainllm.params import UserError, load_section, run_stage
from domainllm.safety import SafetyParams, confusion_rows, safety_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("predictions", "predict-metrics", "metrics", "plot", "png"):
        ap.add_argument(f"--{flag}", required=True)
    a = ap.parse_args()
    params = load_section("safety", SafetyParams)
    rows: list[dict[str, Any]] = []
    for suite in params.suites:
        f = Path(a.predictions) / f"{suite}.jsonl"
        if not f.is_file():
            raise UserError(f"{f} missing (run `dvc repro predict` first)")
        rows += read_jsonl(f)
    metrics = safety_metrics(rows, params.beta)
    pm = read_json(a.predict_metrics)
    for k in ("iteration", "model", "data_version", "prompt_hash", "guard"):
        metrics[k] = pm.get(k)
    metrics["suites"] = params.suites
    records = confusion_rows(rows)
    write_json(a.metrics, metrics)
    write_json(a.plot, records)
    atomic_write_bytes(a.png, confusion_png(records, f"safety: {pm.get('iteration')}"))


if __name__ == "__main__":
    run_stage(main)
