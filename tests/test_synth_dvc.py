"""End to end: a real `dvc repro synth@v0` in a temporary copy of the repo; then a no-op."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DVC = Path(sys.executable).with_name("dvc")


@pytest.mark.slow
def test_dvc_repro_synth_v0(tmp_path):
    for d in ("domainllm", "stages", "prompts", "data/naming"):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "params.yaml", tmp_path)
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"synth": stages["synth"]}}))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(tmp_path),
    }
    for cmd in (["git", "init", "-q"], [str(DVC), "init", "-q"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    repro = [str(DVC), "repro", "synth@v0"]
    p = subprocess.run(repro, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "data/synth/v0/test.jsonl").stat().st_size > 0
    again = subprocess.run(repro, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "didn't change" in again.stdout or "up to date" in again.stdout
