"""The committed blind reviews: their READMEs' tables are what the tally script computes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT / "data" / "reviews"


def _tally():
    spec = importlib.util.spec_from_file_location("tally", REVIEWS / "tally.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "review", ["2026-12-03-trade", "2026-12-03-bank", "2026-12-03-final", "2026-12-03-steer"]
)
def test_review_readme_matches_the_tally(review: str, capsys) -> None:
    _tally().main(REVIEWS / review)
    out = capsys.readouterr().out
    readme = (REVIEWS / review / "README.md").read_text()
    rows = re.findall(
        r"^(\w+): (\d+) names, good ([\d.]+)%, ok ([\d.]+)%, bad ([\d.]+)%", out, re.M
    )
    assert {r[0] for r in rows} >= {"improved", "previous", "bank"}
    for _, n, good, ok, bad in rows:
        # each source's row of the README table: names | good | ok | bad
        assert re.search(rf"\| {n} \| \**{good}%\** \| {ok}% \| \**{bad}%\** \|", readme), (
            review, n, good, ok, bad)  # fmt: skip


def test_sign_test_is_exact_and_two_sided() -> None:
    sign_p = _tally().sign_p
    assert sign_p(20, 8) == pytest.approx(0.0357, abs=1e-4)  # scipy binomtest(8, 28).pvalue
    assert sign_p(5, 5) == 1.0 and sign_p(0, 0) == 1.0
