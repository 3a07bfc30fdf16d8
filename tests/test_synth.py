"""Synthetic data: schema, valid targets, shares, stratified splits, determinism, no leakage."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from domainllm.contract import answer_problems, dump_response
from domainllm.schema import EDGE_GROUPS, SAFETY_CATEGORIES, Example
from domainllm.synth.builder import norm, to_row
from domainllm.synth.config import SuitesParams, SynthParams
from domainllm.synth.generate import build_version
from domainllm.synth.suites import build_suites

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = {
    "v0": {"n": 50, "failures": "x"},
    "v1": {"n": 1000, "failures": "x"},
    "v2": {"n": 1000, "failures": "x", "base": "v1", "augment": {"n": 300}},
}
PARAMS = SynthParams.model_validate({"seed": 42, "versions": VERSIONS})
FAILS = {"by_group": {"non_english": 5, "borderline": 2}, "by_template": {"amb.3": 4}, "n": 20}


@pytest.fixture(scope="module")
def built():
    return {v: build_version(PARAMS, v, FAILS if v == "v2" else None) for v in VERSIONS}


@pytest.fixture(scope="module")
def suites():
    return build_suites(SuitesParams(), PARAMS.seed, PARAMS.splits)


def rows(b):
    return [e for s in b.splits.values() for e in s]


def held_out(template: str) -> bool:
    return any(p.startswith(("ho_", "xl.it")) for p in template.split("/"))


def test_rows_valid_and_targets_satisfy_requests(built, suites):
    for ex in [*rows(built["v2"]), *rows(built["v0"]), *suites["edge"], *suites["redteam"]]:
        again = Example.model_validate(to_row(ex))  # the written row parses back
        assert dump_response(again.target) == dump_response(ex.target)
        assert answer_problems(ex.target, ex.request) == []
        assert (ex.target.status == "blocked") == ex.is_unsafe


def test_v1_shares_and_variety(built):
    rs = rows(built["v1"])
    groups = Counter(e.meta.group for e in rs)
    assert 0.10 <= sum(e.is_unsafe for e in rs) / len(rs) <= 0.14
    assert {e.meta.safety_category for e in rs if e.is_unsafe} == set(SAFETY_CATEGORIES)
    assert groups["adversarial"] / len(rs) >= 0.02 and groups["borderline"] / len(rs) >= 0.05
    assert sum(groups[g] for g in EDGE_GROUPS) / len(rs) >= 0.05
    assert len({e.meta.industry for e in rs if e.meta.group == "plain"}) >= 40
    assert len({e.meta.transform for e in rs if e.meta.transform}) >= 6
    assert {e.meta.complexity for e in rs} == {"L1", "L2", "L3"}
    assert len({norm(e.request.description) for e in rs}) == len(rs)


def test_paraphrase_no_template_wording_repeats_often(built):
    # skeleton = template with its alternatives chosen, slots unfilled; ignore 1-2 word ones
    skel = [s for s in built["v2"].skeletons if len(re.sub(r"\{\w+\}", "", s).split()) >= 3]
    assert Counter(skel).most_common(1)[0][1] <= 8


@pytest.mark.parametrize("version", ["v0", "v1", "v2"])
def test_every_split_has_unsafe_borderline_edge(built, version):
    for split, rs in built[version].splits.items():
        gs = {e.meta.group for e in rs}
        assert any(e.is_unsafe for e in rs), split
        assert "borderline" in gs and gs & set(EDGE_GROUPS), split


def test_no_test_description_in_any_train_split(built, suites):
    train = {norm(e.request.description) for b in built.values() for e in b.splits["train"]}
    tests = {norm(e.request.description) for b in built.values() for e in b.splits["test"]}
    suite = {norm(e.request.description) for s in suites.values() for e in s}
    assert not (tests | suite) & train
    assert not any(held_out(e.meta.template) for b in built.values() for e in rows(b))
    assert all(
        held_out(e.meta.template)
        for e in suites["redteam"]
        if e.is_unsafe or e.meta.group == "borderline"
    )


def test_v2_keeps_v1_test_and_contains_v1_train_val(built):
    v1, v2 = built["v1"].splits, built["v2"].splits
    assert [to_row(e) for e in v2["test"]] == [to_row(e) for e in v1["test"]]
    for s in ("train", "val"):
        assert v2[s][: len(v1[s])] == v1[s] and len(v2[s]) > len(v1[s])
    aug = built["v2"].augmentation
    assert aug["n"] == 300 and aug["weights"]["non_english"] > 1.0  # failures raised it


def test_stage_is_byte_identical_across_runs(tmp_path):
    for run in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "stages/synth.py"),
                "--version",
                "v0",
                "--failures",
                "none",
                "--out",
                str(tmp_path / run),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    for f in ("train.jsonl", "val.jsonl", "test.jsonl", "card.md"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert "## Counts per split" in (tmp_path / "a/card.md").read_text()


def test_missing_failures_file_is_one_line_error(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            str(ROOT / "stages/synth.py"),
            "--version",
            "v2",
            "--failures",
            str(tmp_path / "nope.json"),
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "--failures" in p.stderr and len(p.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_v2_survives_failures_in_a_small_group_and_reports_the_shortfall() -> None:
    # One-word descriptions run out: the augmentation must skip and say so, not crash.
    fails = {"by_group": {"short": 5}, "by_template": {}}
    v2 = build_version(PARAMS, "v2", fails)
    aug = v2.augmentation
    assert aug["shortfall_by_group"].get("short", 0) > 0
    assert aug["n"] == sum(aug["added_by_group"].values())
    assert len(v2.splits["train"]) + len(v2.splits["val"]) > 0
