"""End to end: `dvc repro` of base + train@baseline + train@improved on a tiny profile (the tiny
random model through an hf:<folder> catalogue entry) in a temporary copy of the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from domainllm.io import read_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_train import make_base, write_data  # noqa: E402

BIN = Path(sys.executable).parent


def _dvc(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(repo),  # the copy's package, not the editable install
        "OMP_NUM_THREADS": "1",
        "DVC_NO_ANALYTICS": "1",
    }
    return subprocess.run(
        [str(BIN / "dvc"), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_dvc_repro_base_and_train(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for rel in ["domainllm", "prompts", "stages/base.py", "stages/train.py"]:
        src, dst = ROOT / rel, repo / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    for req in ("requirements-models.txt", "requirements-models-quick.txt"):
        shutil.copy2(ROOT / req, repo)
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    dvc_yaml = {"stages": {k: stages[k] for k in ("base", "train")}}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml, sort_keys=False))
    tiny = make_base(tmp_path / "tiny")
    write_data(repo / "data/synth/v1")
    write_data(repo / "data/synth/v2", n_train=12)
    train = {"learning_rate": 0.03, "max_steps": 2, "batch_size": 2, "max_seq_length": 1024}
    train |= {"eval_steps": 2, "eval_rows": 2, "threads": 1, "dtype": "fp32"}
    params = {
        "models": {"base": f"hf:{tiny}"},
        "base": {"save_dtype": "float32"},
        "train": train,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "iterations": {
            "baseline": {"data": "v1", "init": "base"},
            # improved trains baseline's adapter further, on other data with its own lr
            "improved": {"data": "v2", "init": "baseline", "train": {"learning_rate": 0.01}},
        },
    }
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    (repo / ".gitignore").write_text("/cache/\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    assert _dvc(repo, "init", "-q").returncode == 0
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)  # DVCLive needs a rev

    res = _dvc(repo, "repro", "train")
    assert res.returncode == 0, res.stderr[-3000:]
    info = read_json(repo / "models/base/base_info.json")
    assert info["name"] == f"hf:{tiny}" and info["arch"] == "llama"
    for it, r in [("baseline", 4), ("improved", 4)]:
        m = read_json(repo / f"metrics/train/{it}.json")
        assert m["steps"] == 2 and m["base_model"]["sha256"] == info["sha256"]
        cfg = read_json(repo / f"models/{it}/run_config.json")
        assert cfg["lora"]["r"] == r and cfg["data_version"] == m["data_version"]
        assert (repo / f"models/{it}/adapter_model.safetensors").is_file()
        assert (repo / f"dvclive/train/{it}/plots/metrics/train/loss.tsv").is_file()
        # a finished run drops its checkpoints, so `dvc repro -f` retrains rather than resumes
        assert not (repo / f"cache/train/{it}").exists()
    assert read_json(repo / "models/baseline/run_config.json")["init"] == {"from": "base"}
    start = read_json(repo / "models/improved/run_config.json")["init"]
    assert start["from"] == "models/baseline" and len(start["adapter_sha256"]) == 64
    assert read_json(repo / "models/improved/run_config.json")["train"]["learning_rate"] == 0.01
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert lock["train@improved"]["params"]["params.yaml"]["lora"]["r"] == 4  # section as read
    assert "eval_loss_best" in _dvc(repo, "metrics", "show").stdout

    # An experiment on a LoRA param reruns training only (not base), and `dvc exp show` lists it
    # with its metrics beside the workspace.
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline run"], cwd=repo, check=True)
    res = _dvc(repo, "exp", "run", "-n", "r8", "-S", "lora.r=8")
    assert res.returncode == 0, res.stderr[-3000:]
    ran = res.stdout + res.stderr
    assert "Running stage 'train@baseline'" in ran and "Running stage 'base@base'" not in ran
    assert "Running stage 'train@improved'" in ran  # it continues baseline's (new) adapter
    assert yaml.safe_load((repo / "params.yaml").read_text())["lora"]["r"] == 8
    show = json.loads(_dvc(repo, "exp", "show", "--json").stdout)
    exps = [e for rev in show for e in (rev.get("experiments") or [])]
    r8 = [e for e in exps if e.get("name") == "r8"]
    assert r8, show
    data = r8[0]["revs"][0]["data"]
    assert data["params"]["params.yaml"]["data"]["lora"]["r"] == 8
    train_m = data["metrics"]["metrics/train/baseline.json"]["data"]
    assert train_m["steps"] == 2 and "refusal" in train_m
    params["lora"]["r"] = 8

    # A bad param stops the stage with one line and writes nothing new.
    params["train"]["quantization"] = "2bit"
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    res = _dvc(repo, "repro", "train@baseline")
    assert res.returncode != 0 and "error: params.yaml: 'train.quantization'" in res.stderr
