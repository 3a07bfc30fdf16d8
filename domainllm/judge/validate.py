"""Agreement of the name judge with labelled names: the gold format, its loader and the metrics.

A gold row: ``{"id", "request": {...}, "domain", "label": good|ok|bad, "kind"}``. A row that
cannot be used (bad JSON, a missing field, an invalid request, an unknown label) becomes one
error line naming the file, line and field; the other rows are still scored (the CLI exits 1,
the ``judge_validate`` stage stops with the first error: its gold set must be clean).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domainllm.contract import Request
from domainllm.io import iter_jsonl_lines
from domainllm.judge.calibrate import LABELS, RANK
from domainllm.judge.checklist import JudgeItem


def load_gold(path: Path) -> tuple[list[dict[str, Any]], list[JudgeItem], list[str]]:
    """Usable rows, their items, and one error line (file, line, field) per unusable row."""
    rows: list[dict[str, Any]] = []
    items: list[JudgeItem] = []
    errors: list[str] = []
    for n, row, problem in iter_jsonl_lines(path):
        where = f"{path}:{n}"
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        bad = _row_problem(row)
        if bad:
            errors.append(f"{where}: {bad}")
            continue
        try:
            req = Request.model_validate(row["request"])
        except ValidationError as exc:
            e = exc.errors()[0]
            field = ".".join(map(str, ("request", *e["loc"])))
            errors.append(f"{where}: {field}: {e['msg']}")
            continue
        row.setdefault("id", f"line-{n}")
        row.setdefault("kind", row["label"])
        rows.append(row)
        items.append(JudgeItem(str(row["id"]), "gold", req, row["domain"].strip().lower()))
    return rows, items, errors


def _row_problem(row: Any) -> str | None:
    """What makes a parsed gold row unusable, besides its request (None when nothing)."""
    if not isinstance(row, dict):
        return "a row must be a JSON object"
    # isinstance first: a list or object label would otherwise crash the lookup
    if not isinstance(row.get("label"), str) or row["label"] not in RANK:
        return f"label must be one of {list(LABELS)}"
    if not isinstance(row.get("domain"), str) or not row["domain"].strip():
        return "domain must be a non-empty string"
    if "kind" in row and not isinstance(row["kind"], str):
        return "kind must be a string (the name's category, e.g. 'good')"
    if "request" not in row:
        return "request is missing (the request object the name answers)"
    return None


def pairwise_accuracy(groups: list[str], gold: list[int], scores: list[float]) -> float | None:
    """Share of (same request, different label) pairs ordered like the labels (ties count 1/2)."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by[g].append(i)
    right = total = 0.0
    for idx in by.values():
        for i in idx:
            for j in idx:
                if gold[i] > gold[j]:
                    total += 1
                    right += 1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0
    return round(right / total, 4) if total else None


def agreement(rows: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """accuracy, kappa, quadratic kappa, Spearman, pairwise accuracy, confusion, per-kind scores."""
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    gold = [r["label"] for r in rows]
    pred = [v["label"] for v in verdicts]
    scores = [v["score"] for v in verdicts]
    g = [RANK[x] for x in gold]
    confusion = {a: {b: 0 for b in LABELS} for a in LABELS}
    for a, b in zip(gold, pred, strict=True):
        confusion[a][b] += 1
    kinds: dict[str, list[float]] = defaultdict(list)
    kind_label: dict[str, str] = {}
    for r, s in zip(rows, scores, strict=True):
        kinds[r["kind"]].append(s)
        kind_label[r["kind"]] = r["label"]
    by_kind = {k: {"label": kind_label[k], "n": len(v), "mean_score": round(sum(v) / len(v), 4)}
               for k, v in sorted(kinds.items())}  # fmt: skip
    return {
        "n": len(rows),
        "accuracy": round(sum(a == b for a, b in zip(gold, pred, strict=True)) / len(rows), 4),
        "kappa": round(float(cohen_kappa_score(gold, pred, labels=list(LABELS))), 4),
        "kappa_quadratic": round(
            float(cohen_kappa_score(g, [RANK[x] for x in pred], weights="quadratic")), 4
        ),
        "spearman": round(float(spearmanr(g, scores).statistic), 4),
        "pairwise_accuracy": pairwise_accuracy(
            [json.dumps(r["request"], sort_keys=True) for r in rows], g, scores
        ),
        "bad_below_good": _separated(by_kind),
        "confusion_gold_to_pred": confusion,
        "by_kind": by_kind,
    }


def _separated(by_kind: dict[str, dict[str, Any]]) -> bool | None:
    """Every bad kind's mean score below every good kind's (None without both)."""
    bad = [v["mean_score"] for v in by_kind.values() if v["label"] == "bad"]
    good = [v["mean_score"] for v in by_kind.values() if v["label"] == "good"]
    return max(bad) < min(good) if bad and good else None
