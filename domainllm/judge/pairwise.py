"""Pairwise comparison of two iterations on the same requests, asked in both orders.

For each request both iterations answered, the judge model is asked whether the first list of
names is better than the second, once with A first and once with B first
(``prompts/judge/pairwise.yaml``). A list wins only when both orders prefer it; when they
disagree it is a tie (position bias shows up as ties, not as wins), as in MT-Bench.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domainllm.contract import Request
from domainllm.io import sha256_text
from domainllm.judge.checklist import Checklist
from domainllm.report import rate
from domainllm.stats import bootstrap_ci


@dataclass(frozen=True)
class PairItem:
    """One ordered question: the request, the first list and the second list."""

    id: str
    request: Request
    first: tuple[str, ...]
    second: tuple[str, ...]

    def key(self) -> str:
        """Content identity (request and both lists in order)."""
        body = {"request": self.request.model_dump(), "first": self.first, "second": self.second}
        return sha256_text(json.dumps(body, sort_keys=True, ensure_ascii=False))


class PairPrompt(Checklist):
    """The pairwise question file: a checklist of one question over two lists."""

    def user_tail(self, item: PairItem) -> str:  # type: ignore[override]
        """Nothing of the user turn is shared between pairs: all of it is the tail."""
        return self.user(item)

    def user(self, item: PairItem) -> str:  # type: ignore[override]
        """The user turn: description, allowed endings and both lists."""
        return self.user_template.format(
            description=self._description(item),
            tlds=", ".join(item.request.tlds),
            first=", ".join(item.first),
            second=", ".join(item.second),
        )


def pair_items(a: dict[str, dict], b: dict[str, dict]) -> list[tuple[PairItem, PairItem]]:
    """(A first, B first) questions for every request both answered, by (suite, id) key."""
    out = []
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        req = Request.model_validate(ra["request"])
        da = tuple(n["domain"] for n in ra["names"])
        db = tuple(n["domain"] for n in rb["names"])
        out.append((PairItem(key, req, da, db), PairItem(key, req, db, da)))
    return out


def decide(p_ab: float, p_ba: float) -> str:
    """'a', 'b' or 'tie' from P(first better) in the A-first and the B-first order."""
    if p_ab > 0.5 and p_ba < 0.5:
        return "a"
    if p_ab < 0.5 and p_ba > 0.5:
        return "b"
    return "tie"


def summarize(
    outcomes: list[str], confidence: float, n_boot: int, seed: int,
    probs: list[tuple[float, float]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Wins, losses, ties; B's win rate over decided pairs (Wilson interval) and B's score with
    ties as half (bootstrap interval over requests); position consistency (the share of
    requests where both orders named the same winner). With ``probs`` ((P(A first better),
    P(B first better)) per request) also B's position-debiased preference: the share of
    requests where B-first got the higher P(first better) than A-first, a weaker reading for a
    judge whose position bias makes every strict verdict a tie."""
    wins, losses = outcomes.count("b"), outcomes.count("a")
    n = len(outcomes)
    score = [1.0 if o == "b" else 0.0 if o == "a" else 0.5 for o in outcomes]
    extra = {}
    if probs:
        pref = [1.0 if pb > pa else 0.0 if pb < pa else 0.5 for pa, pb in probs]
        extra["b_pref_debiased"] = bootstrap_ci(pref, n_boot, seed, confidence)
        extra["mean_p_first_better"] = round(sum(a + b for a, b in probs) / (2 * len(probs)), 4)
    return extra | {
        "n": n,
        "b_wins": wins,
        "a_wins": losses,
        "ties": outcomes.count("tie"),
        "b_win_rate_decided": rate(wins, wins + losses, confidence),
        "b_score_ties_half": bootstrap_ci(score, n_boot, seed, confidence),
        "position_consistency": round((wins + losses) / n, 4) if n else None,
    }
