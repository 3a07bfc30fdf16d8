"""params.yaml errors for synth/suites: one line naming the key, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"seed": 42, "versions": {"v0": {"n": 50, "failures": "none"}}}


def run(tmp_path: Path, synth: dict) -> subprocess.CompletedProcess:
    # synth reads its own section and `hints` (the naming hints its rows carry)
    params = {"synth": synth, "hints": {"enabled": True}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "stages/synth.py"),
            "--version",
            "v0",
            "--failures",
            "none",
            "--out",
            str(tmp_path / "out"),
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"colour": 1}, "synth.colour"),
        ({"seed": "forty"}, "synth.seed"),
        ({"versions": {"v0": {"n": 5, "failures": "none"}}}, "synth.versions.v0.n"),
        ({"splits": {"train": 0.7, "val": 0.15, "test": 1.5}}, "synth.splits.test"),
    ],
)
def test_bad_params_stop_before_writing(tmp_path, change, key):
    p = run(tmp_path, {**GOOD, **change})
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and key in p.stderr
    assert not (tmp_path / "out").exists()


def test_good_params_write(tmp_path):
    assert run(tmp_path, GOOD).returncode == 0
    assert (tmp_path / "out/train.jsonl").is_file()
