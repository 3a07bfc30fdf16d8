"""Reference vs fast engine: `python benchmarks/bench_engine.py --model models/improved`.

One process, the same requests for both paths (safe rows of a test split, the first ``--rows`` by
hashed id, as ``predict`` selects them), the settings the pipeline evaluated (``params.yaml``:
``predict.engine`` and ``hints``), each path with its own copy of the model:

- reference: today's path before the fast loop (transformers ``generate``, fp32 weights);
- fast: ``backend: fast`` with the ``quantize`` setting of params.yaml (``--quantize`` overrides).

Batch 8: the rows in batches of 8 (``Engine.answer_batch``, as ``predict`` runs them); batch 1:
``--single`` rows one at a time (as the server answers one client). Both paths alternate batch by
batch so load on the machine hits both alike. Quality: every returned name is labelled by the
validated judge (deterministic features and ``models/judge_calibration.json``); the share good
and bad per path with 95% Wilson intervals. The last line is JSON:
``{"batch1_speedup", "batch8_speedup", "valid_rate", "full_rate", "full_rate_reference",
"good_share", "good_share_reference", "quality_within_interval", "quality_not_below"}``
(valid_rate: the fast path's
answers that are contract JSON and meet every constraint of their request; full_rate: those
that also hold all ``n`` names, since the reranker may return fewer rather than junk).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_constrained import DESCRIPTIONS  # run as a script: benchmarks/ is on sys.path

from domainllm.contract import Request
from domainllm.engine import Engine, evaluated_settings
from domainllm.guard import Guard
from domainllm.io import read_json, read_jsonl
from domainllm.loading import load_model
from domainllm.predict import select
from domainllm.safety import ci95

FALLBACK = DESCRIPTIONS  # before `make run`: the constrained-decoding benchmark's requests


def timed(engine: Engine, reqs: list[Request], batch: int) -> tuple[float, list[Any]]:
    """Seconds spent and answers, ``batch`` requests per call."""
    t0 = time.perf_counter()
    out: list[Any] = []
    for i in range(0, len(reqs), batch):
        out += engine.answer_batch(reqs[i : i + batch])
    return time.perf_counter() - t0, out


def judged(answers: list[Any], reqs: list[Request], calibration: Path) -> dict[str, Any]:
    """Share of returned names the validated judge labels good and bad, with intervals."""
    from domainllm.judge.calibrate import Calibration
    from domainllm.judge.embed import default_embedder
    from domainllm.judge.features import add_relevance, load_lexicon, name_features
    from domainllm.moderation import DEFAULT_LEXICON

    lex = load_lexicon(DEFAULT_LEXICON)
    pairs = [(r, s.domain) for a, r in zip(answers, reqs, strict=True)
             for s in a.response.suggestions]  # fmt: skip
    rows = [{"description": r.description, "domain": d, "features": name_features(d, r, lex)}
            for r, d in pairs]  # fmt: skip
    add_relevance(rows, default_embedder())
    labels = [v["label"] for v in Calibration.from_dict(read_json(calibration)).judge(
        [r["features"] for r in rows])]  # fmt: skip
    n, good, bad = len(labels), labels.count("good"), labels.count("bad")
    return {"names": n, "good": round(good / max(1, n), 4), "good_ci": ci95(good, n),
            "bad": round(bad / max(1, n), 4), "bad_ci": ci95(bad, n)}  # fmt: skip


def _short(problem: str) -> bool:
    """The count problem (``4 suggestions, 5 requested``): the reranker returns fewer names
    rather than junk when too few candidates pass its filter, by design (README)."""
    return problem.endswith(" requested")


def valid_rate(answers: list[Any]) -> float:
    """Share of answers that are contract JSON and meet every constraint of their request
    (parsed; requested suffixes, hyphens, digits; valid labels; no duplicate). A short answer
    counts as valid here and is reported apart by ``full_rate``."""
    ok = [a.model is None or (a.model.status != "invalid"
                              and not [p for p in a.model.problems if not _short(p)])
          for a in answers]  # fmt: skip
    return sum(ok) / max(1, len(ok))


def full_rate(answers: list[Any]) -> float:
    """Share of answers that are valid and also hold as many names as requested."""
    ok = [a.model is None or (a.model.status != "invalid" and not a.model.problems)
          for a in answers]  # fmt: skip
    return sum(ok) / max(1, len(ok))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="default: models/improved; 'tiny': random model")
    ap.add_argument("--guard", type=Path, default=Path("models/guard"))
    ap.add_argument("--data", type=Path, default=Path("data/synth/v1/test.jsonl"))
    ap.add_argument("--calibration", type=Path, default=Path("models/judge_calibration.json"))
    ap.add_argument("--rows", type=int, default=48, help="requests answered in batches of 8")
    ap.add_argument("--single", type=int, default=8, help="requests answered one at a time")
    ap.add_argument("--quantize", choices=["none", "int8"], help="fast path (default: params)")
    a = ap.parse_args()
    if a.model is None and Path("models/improved/adapter_config.json").is_file():
        a.model = Path("models/improved")
    if a.model is None or str(a.model) == "tiny":  # a fresh clone: the code path, not speed
        import tempfile

        from domainllm.tiny import make_tiny_model

        a.model = make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    if a.data.is_file():
        safe = [r for r in read_jsonl(a.data)
                if r.get("meta", {}).get("safety_category", "safe") == "safe"]  # fmt: skip
        reqs = [Request.model_validate(r["request"]) for r in select(safe, a.rows)]
    else:  # before `make run`: a few fixed requests
        reqs = [Request(description=d, n=3) for d in FALLBACK][: a.rows]
    guard = Guard.load(a.guard if a.guard.is_dir() else None)
    ref_set = evaluated_settings(backend="reference", quantize="none")
    quant = {"quantize": a.quantize} if a.quantize else {}
    fast_set = evaluated_settings(backend="fast", **quant)
    paths = {
        "reference": Engine(load_model(a.model, ref_set.dtype), guard, ref_set),
        "fast": Engine(load_model(a.model, fast_set.dtype), guard, fast_set),
    }
    for eng in paths.values():  # warm-up: first-call allocations, regex compiles
        eng.answer_batch(reqs[:2])
    res: dict[str, dict[str, Any]] = {k: {"s8": 0.0, "s1": 0.0, "answers": []} for k in paths}
    for i in range(0, len(reqs), 8):
        for name, eng in paths.items():
            s, ans = timed(eng, reqs[i : i + 8], 8)
            res[name]["s8"] += s
            res[name]["answers"] += ans
    for req in reqs[: a.single]:
        for name, eng in paths.items():
            res[name]["s1"] += timed(eng, [req], 1)[0]
    report: dict[str, Any] = {"model": str(a.model), "rows": len(reqs), "single": a.single,
                              "fast_settings": {"backend": "fast",
                                                "quantize": fast_set.quantize}}  # fmt: skip
    for name, r in res.items():
        report[name] = {
            "batch8_s_per_request": round(r["s8"] / len(reqs), 3),
            "batch1_s_per_request": round(r["s1"] / max(1, a.single), 3),
            "valid_rate": valid_rate(r["answers"]),
            "full_rate": full_rate(r["answers"]),
            "judge": judged(r["answers"], reqs, a.calibration) if a.calibration.is_file() else {},
        }
        print(name, json.dumps(report[name]))
    ref, fast = report["reference"], report["fast"]
    lo, hi = ref["judge"].get("good_ci") or [0.0, 1.0]
    print(json.dumps({
        "batch1_speedup": round(ref["batch1_s_per_request"] / fast["batch1_s_per_request"], 2),
        "batch8_speedup": round(ref["batch8_s_per_request"] / fast["batch8_s_per_request"], 2),
        "valid_rate": fast["valid_rate"],
        "full_rate": fast["full_rate"],
        "full_rate_reference": ref["full_rate"],
        "good_share": fast["judge"].get("good"),
        "good_share_reference": ref["judge"].get("good"),
        "quality_within_interval": lo <= fast["judge"].get("good", lo) <= hi,
        # the "quality does not drop": not below the reference's interval
        "quality_not_below": fast["judge"].get("good", lo) >= lo,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
