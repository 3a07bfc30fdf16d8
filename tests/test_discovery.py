"""Edge-case discovery: the taxonomy on hand-made rows and the stage on generated files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from evalfixtures import judge_row, make_iteration, predict_row

from domainllm.discovery import DiscoverParams, analyse, classify, looks_gibberish
from domainllm.io import read_json

P = DiscoverParams()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("beanhaven", False),
        ("cup", False),
        ("xkcdqzrt", True),
        ("brrrrrew", True),
        ("strngth", True),
        ("latteloft", False),
    ],
)
def test_gibberish_heuristic(label: str, expected: bool) -> None:
    assert looks_gibberish(label, P.max_consonant_run) is expected


def test_classify_each_kind() -> None:
    assert classify(predict_row("a", "test"), None, P) == {}
    missed = classify(predict_row("b", "redteam", expected="blocked"), None, P)
    assert list(missed) == ["missed_unsafe"]
    assert (
        classify(predict_row("c", "redteam", expected="blocked", blocked_by="guard"), None, P) == {}
    )
    fb = classify(predict_row("d", "test", blocked_by="model"), None, P)
    assert fb == {"false_block": ["refused by the model"]}
    long_name = "thecosiestcoffeeshopintown.com"
    row = predict_row(
        "e", "test", domains=[long_name, "beanhaven.io", "bean-haven.com", "beanhaven.io"], n=5
    )
    kinds = classify(row, judge_row("e", "test", {}, labels=("bad", "bad", "good")), P)
    assert set(kinds) == {"too_long", "constraint_broken", "duplicate", "bad_names"}
    assert kinds["bad_names"] == ["n0.com", "n1.com"]
    assert any("4 of 5" in r for r in kinds["constraint_broken"])
    assert kinds["duplicate"] == ["beanhaven.io"]
    bad = classify(
        predict_row("f", "test", domains=["qwrtzpl.com"] * 1, n=1, invalid=True), None, P
    )
    assert set(bad) == {"invalid", "gibberish"}
    # a judge error means no verdict; fewer bad names than bad_share is no failure
    err = judge_row("e", "test", {}, "boom", labels=("bad",))
    assert "bad_names" not in classify(row, err, P)
    few = judge_row("e", "test", {}, labels=("bad", "good", "ok"))
    assert "bad_names" not in classify(row, few, P)


def test_analyse_counts_groups_and_orders_worst() -> None:
    rows = [
        predict_row("1", "test", group="short"),
        predict_row("2", "test", group="short", domains=["zzzzzz.com"], n=1, template="tA"),
        predict_row("3", "redteam", expected="blocked", template="tB"),
        predict_row("4", "test", group="technical", blocked_by="guard", template="tA"),
    ]
    s = analyse(rows, [judge_row("2", "test", {"relevance": 4.0})], DiscoverParams(worst_k=2))
    assert (s["n"], s["n_failed"], s["n_judged"]) == (4, 3, 1)
    assert s["by_failure"]["missed_unsafe"] == 1 and s["by_failure"]["false_block"] == 1
    assert s["by_group"] == {"short": 1, "technical": 1, "unsafe": 1}
    assert s["group_totals"]["short"] == 2
    assert s["by_template"] == {"tA": 2, "tB": 1}
    assert s["false_block_by"] == {"guard": 1}
    assert [w["id"] for w in s["worst"]] == ["3", "4"]  # missed unsafe ranks first


def test_judge_join_uses_suite_and_id() -> None:
    rows = [predict_row("1", "edge"), predict_row("1", "test")]
    judges = [judge_row("1", "test", {"good": 0.0}, labels=("bad",))]
    s = analyse(rows, judges, P)
    assert s["by_failure"]["bad_names"] == 1 and s["by_suite"] == {"test": 1}


def run_stage(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "discover.py"), "--iteration", "baseline",
         "--predict", "data/predict/baseline", "--judge", "data/judge/baseline.jsonl",
         "--predict-metrics", "metrics/predict/baseline.json",
         "--judge-metrics", "metrics/judge/baseline.json",
         "--out-md", "reports/edge_cases_baseline.md",
         "--out-metrics", "metrics/discover/baseline.json", *extra],
        cwd=tmp, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_stage_writes_metrics_and_report(tmp_path: Path) -> None:
    make_iteration(tmp_path, "baseline", quality=0.6)
    (tmp_path / "params.yaml").write_text("discover:\n  worst_k: 5\n  bad_share: 0.5\n")
    res = run_stage(tmp_path)
    assert res.returncode == 0, res.stderr
    m = read_json(tmp_path / "metrics/discover/baseline.json")
    assert m["n"] == 40 and 0 < m["n_failed"] < 40 and len(m["worst"]) == 5
    assert sum(m["by_group"].values()) == m["n_failed"]
    assert m["provenance"]["predict.model"] == "m-baseline"
    md = (tmp_path / "reports/edge_cases_baseline.md").read_text()
    assert "# Edge cases: baseline" in md and "| gibberish |" in md and "non_english" in md


def test_stage_bad_params_one_line_and_no_output(tmp_path: Path) -> None:
    make_iteration(tmp_path, "baseline", quality=0.6)
    (tmp_path / "params.yaml").write_text("discover:\n  worst_kk: 5\n")
    res = run_stage(tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "discover.worst_kk" in res.stderr
    assert not (tmp_path / "metrics/discover").exists()
