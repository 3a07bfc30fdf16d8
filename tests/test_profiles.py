"""Profiles: key validation against params.yaml and the dvc exp run command (nothing is run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from domainllm.params import ParamsError, load_yaml
from domainllm.profiles import check_keys, command, load_profile, set_arg

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"models": {"base": "qwen"}, "train": {"max_steps": 36, "mods": ["q", "v"]}}


def test_known_leaf_keys_pass() -> None:
    check_keys({"models.base": "smollm2", "train.max_steps": 3, "train.mods": ["q"]}, PARAMS, "p")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("train.max_stepz", "'max_stepz' not under train; it has: max_steps, mods"),
        ("trian.max_steps", "'trian' not under the top level"),
        ("models.base.name", "'name' not under models.base; it has: no keys"),
        ("train", "'train' is a section in params.yaml"),
    ],
)
def test_unknown_or_section_keys_fail_with_one_line(key: str, message: str) -> None:
    with pytest.raises(ParamsError) as exc:
        check_keys({key: 1}, PARAMS, "profiles/x.yaml")
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert str(exc.value).startswith("profiles/x.yaml: ")


def test_profile_file_must_be_flat(tmp_path: Path) -> None:
    (tmp_path / "nested.yaml").write_text("train:\n  max_steps: 3\n")
    with pytest.raises(ParamsError, match="not a section"):
        load_profile(tmp_path / "nested.yaml")
    with pytest.raises(Exception, match=r"no such profile \(available: nested\)"):
        load_profile(tmp_path / "missing.yaml")


def test_set_args_round_trip_through_dvc_override_parser(tmp_path: Path) -> None:
    from dvc.utils.hydra import apply_overrides

    values = {"a.s": "smollm2-135m-instruct", "a.f": 0.001, "a.l": ["q_proj", "v_proj"],
              "a.t": True, "a.n": "1e-3", "a.p": "hf:/models/x y", "a.b": "true"}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"a": dict.fromkeys("sflntpb", 0)}))
    apply_overrides(str(tmp_path / "params.yaml"), [set_arg(k, v) for k, v in values.items()])
    got = yaml.safe_load((tmp_path / "params.yaml").read_text())["a"]
    assert got == {k.split(".")[1]: v for k, v in values.items()}


def test_shipped_profiles_name_only_real_keys() -> None:
    params = load_yaml(ROOT / "params.yaml")
    for path in sorted((ROOT / "profiles").glob("*.yaml")):
        check_keys(load_profile(path), params, str(path))


def test_cli_dry_run_prints_command_and_bad_key_exits_2(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "q.yaml").write_text("train.max_steps: 2\n")
    (tmp_path / "profiles" / "bad.yaml").write_text("train.steps: 2\n")
    run = [sys.executable, "-m", "domainllm.profiles"]
    ok = subprocess.run([*run, "q", "--dry-run", "--", "--name", "q1"], cwd=tmp_path,
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "dvc exp run -S train.max_steps=2 --name q1"
    assert command({"x.y": 1}, []) == ["dvc", "exp", "run", "-S", "x.y=1"]
    bad = subprocess.run([*run, "bad"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "'train.steps' is not in params.yaml" in bad.stderr
