"""Pure logic of the predict stage: params, row selection, prediction rows and structure metrics."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from domainllm.calibration import Calibrator, expected_calibration_error, is_relevant
from domainllm.contract import Request, constraint_problems, domain_problems
from domainllm.engine import Answer, EngineSettings
from domainllm.params import Strict

SUITES = ("test", "edge", "redteam")


class PredictIteration(Strict):
    """One entry of ``predict.iterations``: the model folder and the data version it answers."""

    model: str
    data: str


class PredictParams(Strict):
    """The `predict` section of params.yaml."""

    engine: EngineSettings = EngineSettings()
    # Rows answered per file (0 = all): sized so an iteration fits ~2 min on 2 CPU cores.
    val_rows: int = 12
    test_rows: int = 24
    edge_rows: int = 12
    redteam_rows: int = 24
    iterations: dict[str, PredictIteration]


def select(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """A stable pseudo-random subset of ``k`` rows (by hashed id), in file order; 0 = all."""
    if k <= 0 or k >= len(rows):
        return rows
    key = sorted(rows, key=lambda r: hashlib.sha256(str(r["id"]).encode()).hexdigest())[:k]
    keep = {id(r) for r in key}
    return [r for r in rows if id(r) in keep]


def prediction_row(ex: dict[str, Any], suite: str, ans: Answer) -> dict[str, Any]:
    """The interface row of data/predict/<iteration>/<suite>.jsonl."""
    unsafe = ex.get("meta", {}).get("safety_category", "safe") != "safe"
    return {
        "id": ex["id"],
        "suite": suite,
        "request": Request.model_validate(ex["request"]).model_dump(),
        "meta": ex.get("meta", {}),
        "expected": "blocked" if unsafe else "success",
        "response": ans.response.to_dict(),
        "guard": ans.guard.to_dict(),
        "model": ans.model.to_dict() if ans.model else None,
        "latency_s": round(ans.latency_s, 4),
    }


def calibration_points(rows: list[dict[str, Any]], answers: list[Answer]) -> tuple[list, list]:
    """(raw confidence, relevant?) for every suggestion the model made on successful rows."""
    raw: list[float] = []
    labels: list[bool] = []
    for ex, a in zip(rows, answers, strict=True):
        if a.model is None or a.model.status != "success":
            continue
        refs = [s["domain"] for s in ex.get("target", {}).get("suggestions", [])]
        for dom, p in a.model.raw_conf.items():
            raw.append(p)
            labels.append(is_relevant(dom, ex["request"]["description"], refs))
    return raw, labels


def structure_metrics(
    rows: list[dict[str, Any]], answers: list[Answer], cal: Calibrator, wall_s: float
) -> dict[str, Any]:
    """JSON validity, constraint adherence, domain validity, duplicates, counts, speed, ECE."""
    models = [a.model for a in answers if a.model is not None]
    n = len(models)
    succ = [m for m in models if m.status == "success"]
    n_sugg = n_bad_constraint = n_bad_domain = 0
    for ex, a in zip(rows, answers, strict=True):
        if a.model is None or a.model.status != "success" or a.model.response is None:
            continue
        req = Request.model_validate(ex["request"])
        for s in a.model.response.suggestions:
            n_sugg += 1
            n_bad_domain += bool(domain_problems(s.domain))
            n_bad_constraint += bool(constraint_problems(s.domain, req))
    problems = [p for m in succ for p in m.problems]
    raw, labels = calibration_points(rows, answers)
    calibrated = [cal(p) for p in raw]

    def rate(k: int, d: int) -> float | None:
        return round(k / d, 4) if d else None

    return {
        "rows": n,
        "json_valid": rate(sum(m.status != "invalid" for m in models), n),
        "model_blocked": rate(sum(m.status == "blocked" for m in models), n),
        "answers_fully_valid": rate(sum(not m.problems for m in succ), len(succ)),
        "constraint_adherence": rate(n_sugg - n_bad_constraint, n_sugg),
        "domain_validity": rate(n_sugg - n_bad_domain, n_sugg),
        "duplicates": sum(p.endswith("duplicate") for p in problems),
        "wrong_count_rows": sum(any("requested" in p for p in m.problems) for m in succ),
        "cut_off_rows": sum(m.cut_off for m in models),
        "retried_rows": sum(m.attempts > 1 for m in models),
        "suggestions_per_request": rate(n_sugg, len(succ)),
        "suggestions_per_second": round(n_sugg / wall_s, 3) if wall_s > 0 else None,
        "wall_s": round(wall_s, 2),
        "ece_raw": round(expected_calibration_error(raw, labels), 4) if raw else None,
        "ece": round(expected_calibration_error(calibrated, labels), 4) if raw else None,
        "relevant_rate": rate(sum(labels), len(labels)),
        **rerank_metrics(models),
    }


def rerank_metrics(models: list[Any]) -> dict[str, Any]:
    """Candidates the model wrote per answer, why the filter dropped them, names moderated."""
    cands = [c for m in models if m.status == "success" for c in m.candidates]
    drops = Counter(c.drop for c in cands if c.drop)
    answered = sum(m.status == "success" for m in models)
    return {
        "candidates_per_request": round(len(cands) / answered, 2) if answered else None,
        "candidate_drop_rate": round(sum(drops.values()) / len(cands), 4) if cands else None,
        "candidate_drops": dict(sorted(drops.items())),
        "moderated_names": sum(len(m.moderated) for m in models),
    }


def reuse_metrics(rows: list[dict[str, Any]], targets: set[str], bank: set[str]) -> dict[str, Any]:
    """Share of returned names (by label) found verbatim among the training targets and the
    curated bank: names are made, not recalled."""
    labels = [
        s["domain"].split(".", 1)[0]
        for r in rows
        for s in r["response"]["suggestions"]
        if r["response"]["status"] == "success"
    ]

    def share(pool: set[str]) -> float | None:
        return round(sum(lab in pool for lab in labels) / len(labels), 4) if labels else None

    return {
        "names": len(labels),
        "verbatim_train_targets": share(targets),
        "verbatim_bank": share(bank),
        "verbatim_either": share(targets | bank),
    }
