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
import io
from pathlib import Path
from typing import Any

from domainllm.io import atomic_write_bytes, read_json, read_jsonl, write_json
from domainllm.params import UserError, load_section, run_stage
from domainllm.safety import SafetyParams, confusion_rows, safety_metrics


def confusion_png(records: list[dict[str, str]], title: str) -> bytes:
    """A labelled confusion-matrix heatmap as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    actual = sorted({r["actual"] for r in records})
    pred = sorted({r["predicted"] for r in records})
    grid = [
        [sum(r["actual"] == a and r["predicted"] == p for r in records) for p in pred]
        for a in actual
    ]
    fig, ax = plt.subplots(figsize=(1.2 * len(pred) + 3, 0.6 * len(actual) + 2))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(pred)), pred, rotation=40, ha="right")
    ax.set_yticks(range(len(actual)), actual)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center")
    ax.set_xlabel("predicted (final decision)")
    ax.set_ylabel("actual category")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


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
