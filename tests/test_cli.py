"""The `domainllm` CLI: suggest prints contract JSON, predict keeps ids and ignores extra
fields, bad input is one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from domainllm.cli import main
from domainllm.contract import Request, answer_problems, parse_response
from domainllm.tiny import make_tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_tiny_model(tmp_path_factory.mktemp("tiny") / "base"))


@pytest.fixture(autouse=True)
def rules_only_guard(tmp_path, monkeypatch) -> None:
    """Run from an empty folder: no trained guard there, so the policy rules alone apply."""
    monkeypatch.chdir(tmp_path)


def test_suggest_prints_contract_json_satisfying_the_flags(tiny, capsys) -> None:
    rc = main(
        [
            "suggest",
            "organic coffee shop in Portland",
            "--tlds",
            ".com,.co",
            "--no-hyphens",
            "-n",
            "2",
            "--model",
            tiny,
            "--threads",
            "1",
        ]
    )
    out = capsys.readouterr().out.strip()
    assert rc == 0 and len(out.splitlines()) == 1
    resp = parse_response(out)
    req = Request(description="x", tlds=".com,.co", n=2)
    # The random model may choose either branch; a success must obey every constraint.
    assert resp.status == "blocked" or answer_problems(resp, req) == []


def test_suggest_blocks_unsafe_without_a_model_run(tiny, capsys) -> None:
    assert main(["suggest", "p.o.r.n site", "--model", tiny, "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "blocked"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["suggest", "   "], "description"),
        (["suggest", "cafe", "--tlds", ".c_m"], "tlds"),
        (["suggest", "cafe", "-n", "11"], "n"),
        (["predict", "--in", "nope.jsonl", "--out", "o"], "--in"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tiny, capsys, argv, field) -> None:
    assert main([*argv, "--model", tiny]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and field in err


def test_predict_keeps_ids_ignores_extra_fields_and_reports_bad_rows(tiny, tmp_path) -> None:
    inp = tmp_path / "in.jsonl"
    rows = [
        {"id": "a1", "description": "bakery in Leeds", "n": 1, "colour": "blue"},
        {"id": "b2", "request": {"description": "porn site", "tlds": "io"}, "meta": {}},
        {"id": "c3", "description": "", "n": 2},
    ]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    rc = main(["predict", "--model", tiny, "--in", str(inp), "--out", str(out), "--threads", "1"])
    got = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rc == 1  # one bad row: counted and reported, not swallowed
    assert set(got) == {"a1", "b2", "c3"}
    assert got["b2"]["status"] == "blocked"
    assert got["a1"]["status"] in ("success", "blocked") and "colour" not in got["a1"]
    assert "description" in got["c3"]["error"]


def test_entry_point_help_runs() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "domainllm.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "suggest" in r.stdout and "predict" in r.stdout
