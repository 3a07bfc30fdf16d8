"""Tests of the shared core: atomic I/O, params validation, the contract and prompt rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from domainllm.contract import (
    BLOCKED_MESSAGE,
    Request,
    Response,
    answer_problems,
    blocked,
    constraint_problems,
    domain_problems,
    dump_response,
    parse_response,
    split_domain,
)
from domainllm.io import (
    atomic_write_text,
    iter_jsonl_lines,
    read_jsonl,
    sha256_tree,
    write_jsonl,
)
from domainllm.params import ParamsError, Strict, load_section, run_stage
from domainllm.prompting import load_prompts, render_messages


def test_atomic_write_leaves_no_temp_and_replaces(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "out.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [q.name for q in p.parent.iterdir()] == ["out.txt"]


def test_jsonl_roundtrip_and_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl"
    assert write_jsonl(p, [{"a": 1}, {"b": "é"}]) == 2
    assert read_jsonl(p) == [{"a": 1}, {"b": "é"}]
    p.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ValueError, match=r"rows.jsonl:2"):
        read_jsonl(p)


def test_tree_hash_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    h1 = sha256_tree(tmp_path)
    (tmp_path / "a.txt").write_text("y")
    assert sha256_tree(tmp_path) != h1


class _Demo(Strict):
    steps: int
    lr: float = 1e-3


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("demo: {steps: 3, lrr: 1}", "unknown key 'demo.lrr'"),
        ("demo: {steps: many}", "'demo.steps'"),
        ("other: {}", "missing section 'demo'"),
        ("demo: [1", "not valid YAML"),
    ],
)
def test_params_errors_are_one_line(tmp_path: Path, yaml_text: str, needle: str) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(yaml_text)
    with pytest.raises(ParamsError) as exc:
        load_section("demo", _Demo, p)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_run_stage_exits_2_on_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    def bad() -> None:
        raise ParamsError("params.yaml: 'x.y' must be > 0")

    with pytest.raises(SystemExit) as exc:
        run_stage(bad)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "error: params.yaml: 'x.y' must be > 0"


def test_request_normalises_and_validates() -> None:
    r = Request(description="  cafe  ", tlds="COM, io", n=3, id="x1")
    assert r.description == "cafe" and r.tlds == [".com", ".io"] and r.n == 3
    for bad in ({"description": "   "}, {"description": "x" * 2001}, {"description": "a", "n": 0}):
        with pytest.raises(ValidationError):
            Request(**bad)
    with pytest.raises(ValidationError, match="not a domain suffix"):
        Request(description="a", tlds=[".c_m"])


@pytest.mark.parametrize(
    ("raw", "tld"),
    [
        (".co.uk", ".co.uk"),
        ("CO.UK", ".co.uk"),
        (" .com.au ", ".com.au"),
        (".co.jp", ".co.jp"),
        (".com.br", ".com.br"),
        (".org.uk", ".org.uk"),
        (".act.edu.au", ".act.edu.au"),
        (".xn--p1ai", ".xn--p1ai"),
        (".io", ".io"),
    ],
)
def test_request_accepts_multi_label_suffixes(raw: str, tld: str) -> None:
    assert Request(description="bakery", tlds=[raw]).tlds == [tld]


@pytest.mark.parametrize(
    "raw",
    [".", "..com", ".c", ".-com", ".com-", ".co uk", ".com.", ".co..uk", ".c.uk", ".co.u",
     ".co.1k", ".1com", ".aa.bb.cc.dd", ".ab--cd", ".co_.uk", "co/uk"],
)  # fmt: skip
def test_request_rejects_suffix_garbage_naming_the_field_and_the_fix(raw: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Request(description="bakery", tlds=[raw])
    e = exc.value.errors()[0]
    assert e["loc"] == ("tlds",) and "forms like .com, .io or .co.uk" in e["msg"]


def test_jsonl_lines_report_bad_lines_and_go_on(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'{"a": 1}\n\n{oops\n\xff\xfe\n[2]\r\n')
    got = list(iter_jsonl_lines(p))
    assert [(n, v) for n, v, _ in got] == [(1, {"a": 1}), (3, None), (4, None), (5, [2])]
    assert got[1][2].startswith("not valid JSON") and got[2][2].startswith("not UTF-8")


def test_dump_and_parse_roundtrip() -> None:
    ok = Response(status="success", suggestions=[{"domain": "beanhaven.com", "confidence": 0.914}])
    text = dump_response(ok)
    assert (
        text == '{"status":"success","suggestions":[{"domain":"beanhaven.com","confidence":0.91}]}'
    )
    assert parse_response(text).suggestions[0].domain == "beanhaven.com"
    assert json.loads(dump_response(blocked()))["message"] == BLOCKED_MESSAGE
    for bad in (
        '{"status":"success"',
        '{"status":"maybe","suggestions":[]}',
        '{"status":"blocked","message":"no","suggestions":[]}',
    ):
        with pytest.raises(ValueError):
            parse_response(bad)


@pytest.mark.parametrize(
    ("domain", "ok"),
    [
        ("beanhaven.com", True),
        ("bean-haven.io", True),
        ("-bean.com", False),
        ("bean-.com", False),
        ("xn--abc.com", False),
        ("a" * 64 + ".com", False),
        ("bean_haven.com", False),
        ("beanhaven", False),
        ("bakery.co.uk", True),
        ("bakery.xn--p1ai", True),  # an internationalised TLD; the name itself may not be one
        ("bakery..uk", False),
    ],
)
def test_domain_syntax(domain: str, ok: bool) -> None:
    assert (domain_problems(domain) == []) is ok


def test_constraints_and_answer_problems() -> None:
    req = Request(description="cafe", tlds=[".com"], n=2)
    assert constraint_problems("cafe-1.io", req) == [
        "TLD not in ['.com']",
        "hyphen not allowed",
        "digit not allowed",
    ]
    resp = Response(
        status="success",
        suggestions=[{"domain": "cafe.com", "confidence": 0.5}] * 2,
    )
    assert answer_problems(resp, req) == ["cafe.com: duplicate"]


def test_a_domain_answers_a_suffix_when_it_is_one_label_under_it() -> None:
    uk = Request(description="bakery", tlds=[".co.uk", ".com"])
    assert split_domain("bean-haven.co.uk") == ("bean-haven", ".co.uk")
    assert constraint_problems("bakery.co.uk", uk) == []
    assert constraint_problems("bakery.com", uk) == []
    for wrong in ("bakery.uk", "shop.bakery.co.uk", "bakery.co", "x.bakery.com"):
        assert constraint_problems(wrong, uk) == ["TLD not in ['.co.uk', '.com']"], wrong
    # '.uk' is answered by 'bakery.uk', not by 'bakery.co.uk' (that would be the label 'bakery.co')
    assert constraint_problems("bakery.co.uk", Request(description="b", tlds=[".uk"])) != []
    assert constraint_problems("bakery.uk", Request(description="b", tlds=[".uk"])) == []


def test_prompt_render_is_stable() -> None:
    prompts = load_prompts()
    msgs = render_messages(Request(description="organic coffee", tlds=".com,.co"), prompts)
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "organic coffee" in msgs[1]["content"] and ".com, .co" in msgs[1]["content"]
    assert len(prompts.hash) == 12
