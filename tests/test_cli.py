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


def test_suggest_answers_a_multi_label_suffix(tiny, capsys) -> None:
    argv = ["suggest", "bakery in Leeds", "--tlds", ".co.uk", "-n", "2", "--threads", "1"]
    assert main([*argv, "--model", tiny]) == 0
    resp = parse_response(capsys.readouterr().out.strip())
    assert resp.status == "blocked" or (
        answer_problems(resp, Request(description="x", tlds=[".co.uk"], n=2)) == []
        and all(s.domain.endswith(".co.uk") for s in resp.suggestions)
    )


def test_suggest_blocks_unsafe_without_a_model_run(tiny, capsys) -> None:
    assert main(["suggest", "p.o.r.n site", "--model", tiny, "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "blocked"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["suggest", "   "], "description"),
        (["suggest", "cafe", "--tlds", ".c_m"], "tlds"),
        (["suggest", "cafe", "--tlds", ".co.uk."], "tlds"),
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


def test_predict_answers_good_lines_and_turns_malformed_lines_into_error_rows(
    tiny, tmp_path, capsys
) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"id": "a", "description": "bakery in Leeds", "tlds": ".co.uk", "n": 1}\n'
        "{not json\n"
        "\n"
        '{"id": "c", "description": "tea room", "tlds": [".c"]}\n'
        "[1, 2]\n"
        '{"id": "e", "request": {"description": "surf shop", "n": 1}}\n'
    )
    out = tmp_path / "out.jsonl"
    rc = main(["predict", "--model", tiny, "--in", str(inp), "--out", str(out), "--threads", "1"])
    err = capsys.readouterr().err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rc == 1 and "Traceback" not in err
    assert [r["id"] for r in rows] == ["a", 2, "c", 5, "e"]  # input order, every line accounted
    where = [r.get("error", "").split(":")[0] for r in rows]
    assert where == ["", "line 2", "line 4", "line 5", ""]
    assert rows[1]["error"].startswith("line 2: not valid JSON")
    assert "tlds" in rows[2]["error"] and "forms like .com, .io or .co.uk" in rows[2]["error"]
    assert "valid dictionary" in rows[3]["error"]
    assert {rows[0]["status"], rows[4]["status"]} <= {"success", "blocked"}
    if rows[0]["status"] == "success":
        assert rows[0]["suggestions"][0]["domain"].endswith(".co.uk")
    assert json.loads(err.strip().splitlines()[-1]) == {"answered": 2, "invalid_rows": 3}
    # a file of bad lines only is reported without loading a model
    inp.write_text("{not json\n")
    assert main(["predict", "--model", "no-such-model", "--in", str(inp), "--out", str(out)]) == 1
    assert json.loads(out.read_text())["error"].startswith("line 1: not valid JSON")


def test_suggest_prints_only_the_answer(tiny, tmp_path) -> None:
    """No bitsandbytes kernel notice, FutureWarning or progress bar around the answer, with an
    iteration folder (peft, which imports bitsandbytes) as the model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    lora = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny),
        LoraConfig(r=2, target_modules=["q_proj", "v_proj"]),
    )
    it = tmp_path / "baseline"
    lora.save_pretrained(it)
    (it / "run_config.json").write_text(json.dumps({"base_model_dir": tiny}))
    r = subprocess.run(
        [sys.executable, "-m", "domainllm.cli", "suggest", "bakery", "--model", str(it),
         "--tlds", ".co.uk", "-n", "2", "--threads", "1"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    for noise in ("gemm_4bit", "Warning", "Loading weights", "Traceback"):
        assert noise not in r.stderr, r.stderr
    assert len(r.stdout.splitlines()) == 1 and parse_response(r.stdout).status in (
        "success",
        "blocked",
    )


def test_quiet_load_hides_only_the_known_messages(caplog) -> None:
    """The filters are narrow: the 4-bit kernel notice and peft's deprecated call are hidden
    (they cannot be provoked on every CPU), another FutureWarning or logger is not."""
    import logging
    import warnings

    from domainllm.loading import BNB_CPU_LOGGER, quiet_inference_load

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_inference_load():
            for msg in ("`is_gradient_checkpointing` is deprecated", "something else is old"):
                warnings.warn(msg, FutureWarning, stacklevel=1)
            logging.getLogger(BNB_CPU_LOGGER).warning("Failed to load CPU gemm_4bit_forward")
            logging.getLogger("bitsandbytes.cextension").warning("a real bitsandbytes problem")
    assert [str(w.message) for w in seen] == ["something else is old"]
    assert [r.getMessage() for r in caplog.records] == ["a real bitsandbytes problem"]


def test_entry_point_help_runs() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "domainllm.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "suggest" in r.stdout and "predict" in r.stdout


def test_judge_validate_scores_good_rows_and_reports_bad_ones(tmp_path, capsys) -> None:
    """`domainllm judge-validate`: deterministic judge (no checklist) with a calibration fitted
    here; malformed rows are one line each on stderr, the rest are scored, exit code 1."""
    from pathlib import Path

    import yaml

    from domainllm.judge.calibrate import fit
    from domainllm.judge.features import GROUPS
    from domainllm.judge.namejudge import NameJudge
    from domainllm.judge.params import JudgeParams
    from domainllm.judge.validate import load_gold

    root = Path(__file__).resolve().parents[1]
    jp = JudgeParams(checklist=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"judge": jp.model_dump()}))
    gold = (root / "data" / "gold" / "judge_gold.jsonl").read_text().splitlines()[:40]
    (tmp_path / "gold.jsonl").write_text("\n".join(gold) + "\n")
    rows, items, _ = load_gold(tmp_path / "gold.jsonl")
    judge = NameJudge.load(root / "prompts" / "judge", jp, None, tmp_path / "cache",
                           root / "data" / "naming")  # fmt: skip
    feats, _ = judge.features(items)
    names = [f for g in GROUPS.values() for f in g]
    cal = fit(feats, [r["label"] for r in rows], names)
    (tmp_path / "cal.json").write_text(json.dumps(cal.to_dict()))
    bad = ['{"id": "x", "request": {"description": "tea"}, "domain": "leaf.com"}', "{broken",
           '{"request": {"description": "tea"}, "domain": "leaf.com", "label": ["good"]}',
           '{"request": {"description": "tea", "tlds": [".uk."]}, "domain": "leaf.uk", '
           '"label": "good"}']  # fmt: skip
    uk = '{"request": {"description": "tea room in York", "tlds": [".co.uk"]}, ' \
         '"domain": "leafandlantern.co.uk", "label": "good"}'  # fmt: skip
    (tmp_path / "mixed.jsonl").write_text("\n".join(gold[:10] + bad + [uk] + gold[10:20]) + "\n")
    common = ["--calibration", "cal.json", "--prompts", str(root / "prompts" / "judge"),
              "--bank", str(root / "data" / "naming")]  # fmt: skip
    rc = main(["judge-validate", "--gold", "mixed.jsonl", "--out", "a.json", *common])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err
    assert [x for x in err.splitlines() if x.startswith("error")] == [
        "error: mixed.jsonl:11: label must be one of ['bad', 'ok', 'good']",
        "error: mixed.jsonl:12: not valid JSON (Expecting property name enclosed in double quotes)",
        "error: mixed.jsonl:13: label must be one of ['bad', 'ok', 'good']",
        "error: mixed.jsonl:14: request.tlds: Value error, '.uk.' is not a domain suffix (use "
        "forms like .com, .io or .co.uk: 1-3 labels of 2-63 letters, digits or inner hyphens, "
        "the last starting with a letter)",
    ]
    res = json.loads(out.strip().splitlines()[-1])
    assert res["n"] == 21 and res["errors"] == 4
    saved = json.loads((tmp_path / "a.json").read_text())
    assert {"n", "accuracy", "kappa", "spearman", "pairwise_accuracy", "by_kind"} <= set(saved)
    assert saved["accuracy"] > 0.5  # in-sample on rows the calibration was fitted on
    rc = main(["judge-validate", "--gold", "gold.jsonl", "--out", "b.json", "--calibration", "no"])
    assert rc == 2 and "--calibration no: not found" in capsys.readouterr().err
