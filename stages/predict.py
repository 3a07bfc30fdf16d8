"""python stages/predict.py --iteration baseline --model models/baseline --data data/synth/v1
    --suites data/suites --guard models/guard --bank data/naming
    --refusal metrics/refusal/baseline.json --out data/predict/baseline
    --metrics metrics/predict/baseline.json

Answers the iteration's test split and the edge and red-team suites with the guarded,
constrained, reranking engine, and reports the share of returned names found verbatim among
the training targets and the curated bank. The model runs on every row (also guard-blocked
ones) so the safety stage can compare guard alone, model alone and both. The model refuses at
the threshold the refusal stage chose on val (``--refusal``). Confidence is calibrated on val
rows first.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from domainllm.calibration import Calibrator
from domainllm.contract import Request, Response
from domainllm.engine import Answer, Engine, evaluated_settings, refusal_threshold
from domainllm.io import read_json, read_jsonl, sha256_file, sha256_tree, write_json, write_jsonl
from domainllm.moderation import DEFAULT_LEXICON
from domainllm.params import UserError, load_section, run_stage
from domainllm.predict import (
    PredictParams,
    calibration_points,
    prediction_row,
    reuse_metrics,
    select,
    structure_metrics,
)
from domainllm.synth.bank import load_bank


def answer_all(engine: Engine, rows: list[dict[str, Any]], desc: str) -> list[Answer]:
    """Answer rows in batches, in input order. Batched by requested count, then description
    length: a batch decodes until its longest answer ends and pads to its longest prompt."""
    reqs = [Request.model_validate(r["request"]) for r in rows]
    order = sorted(range(len(reqs)), key=lambda i: (reqs[i].n, len(reqs[i].description)))
    out: dict[int, Answer] = {}
    bs = engine.settings.batch_size
    for start in tqdm(range(0, len(order), bs), desc=desc, unit="batch"):
        chunk = order[start : start + bs]
        for i, a in zip(chunk, engine.answer_batch([reqs[i] for i in chunk], True), strict=True):
            out[i] = a
    return [out[i] for i in range(len(rows))]


def model_hash(model_dir: Path) -> str:
    """Adapter folders hash their files; a base folder uses its recorded GGUF sha256."""
    info = model_dir / "base_info.json"
    if info.is_file() and not (model_dir / "adapter_config.json").is_file():
        return str(read_json(info).get("sha256", ""))[:12]
    return sha256_tree(model_dir)[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("iteration", "model", "data", "suites", "guard", "bank", "refusal", "out",
                 "metrics"):  # fmt: skip
        ap.add_argument(f"--{flag}", required=True)
    a = ap.parse_args()
    params = load_section("predict", PredictParams)
    if a.iteration not in params.iterations:
        raise UserError(f"params.yaml: predict.iterations has no '{a.iteration}'")
    files = {
        "val": Path(a.data) / "val.jsonl",
        "test": Path(a.data) / "test.jsonl",
        "edge": Path(a.suites) / "edge.jsonl",
        "redteam": Path(a.suites) / "redteam.jsonl",
    }
    for name, f in files.items():
        if not f.is_file():
            raise UserError(f"{f} missing ({name} rows; run the synth/suites stages first)")
    limits = {
        "val": params.val_rows,
        "test": params.test_rows,
        "edge": params.edge_rows,
        "redteam": params.redteam_rows,
    }
    rows = {k: select(read_jsonl(f), limits[k]) for k, f in files.items()}
    # predict.engine plus the top-level `hints` section: what the CLI and the server use too
    if not Path(a.refusal).is_file():
        raise UserError(f"{a.refusal} missing (run the refusal stage first)")
    settings = evaluated_settings(bank=a.bank, block_threshold=refusal_threshold(Path(a.refusal)))
    engine = Engine.load(Path(a.model), Path(a.guard), settings)

    # Calibrate on safe val rows, then answer the evaluated suites with calibrated confidence.
    val = [r for r in rows["val"] if r.get("meta", {}).get("safety_category", "safe") == "safe"]
    cal = Calibrator.fit(*calibration_points(val, answer_all(engine, val, "val (calibration)")))
    engine.calibrator = cal
    out = Path(a.out)
    cal.save(out / "calibration.json")

    metrics: dict[str, Any] = {"by_suite": {}}
    all_rows: list[dict[str, Any]] = []
    all_answers: list[Answer] = []
    answers_by: dict[str, list[Answer]] = {}
    t_total = 0.0
    for suite in ("test", "edge", "redteam"):
        t0 = time.perf_counter()
        answers = answer_all(engine, rows[suite], suite)
        wall = time.perf_counter() - t0
        t_total += wall
        write_jsonl(
            out / f"{suite}.jsonl",
            [prediction_row(r, suite, x) for r, x in zip(rows[suite], answers, strict=True)],
        )
        metrics["by_suite"][suite] = structure_metrics(rows[suite], answers, cal, wall)
        answers_by[suite] = answers
        all_rows += rows[suite]
        all_answers += answers
    info = engine.info()
    metrics.update(structure_metrics(all_rows, all_answers, cal, t_total))
    targets = {
        s.domain.split(".", 1)[0]
        for r in read_jsonl(Path(a.data) / "train.jsonl")
        for s in Response.model_validate(r["target"]).suggestions
    }
    answered = [
        prediction_row(r, suite, x)
        for suite in ("test", "edge")
        for r, x in zip(rows[suite], answers_by[suite], strict=True)
    ]
    bank = load_bank(Path(a.bank), DEFAULT_LEXICON).all_names()
    metrics["reuse"] = reuse_metrics(answered, targets, bank)
    metrics.update(
        {
            "iteration": a.iteration,
            "model": {
                "dir": a.model,
                "base": info["base"],
                "adapter": info["adapter"],
                "hash": model_hash(Path(a.model)),
            },
            "data_version": Path(a.data).name,
            "data_hash": sha256_file(files["test"])[:12],
            "suites_hash": (sha256_file(files["edge"])[:6] + sha256_file(files["redteam"])[:6]),
            "prompt_hash": info["prompt_hash"],
            "guard": info["guard"],
            "engine": engine.settings.model_dump(),
            "decoding_stats": engine.stats,
            "calibration_points": len(cal.xs),
        }
    )
    write_json(a.metrics, metrics)


if __name__ == "__main__":
    run_stage(main)
