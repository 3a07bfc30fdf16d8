"""The curated naming bank: it loads, covers every industry, and the targets composed from it
pass the name judge's hard checks and are mostly new names, not copies of the bank's."""

from __future__ import annotations

from pathlib import Path

import pytest

from domainllm.contract import Request
from domainllm.params import UserError
from domainllm.synth.bank import load_bank
from domainllm.synth.config import SynthParams
from domainllm.synth.generate import build_version
from domainllm.synth.naming import target_ok
from domainllm.synth.vocab import INDUSTRIES

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "prompts" / "judge" / "lexicon.yaml"


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROOT / "data" / "naming", LEXICON)


def test_bank_covers_every_industry_with_enough_material(bank) -> None:
    assert set(bank.industries) == set(INDUSTRIES)
    for b in bank.industries.values():
        assert len(b.heads) >= 18 and len(b.tails) >= 12 and len(b.names) == 15, b.industry
    assert len(bank.all_names()) >= 900


def test_bank_targets_pass_the_judge_checks_and_are_made_not_recalled(bank) -> None:
    p = SynthParams.model_validate({"seed": 7, "versions": {"v0": {"n": 120, "failures": "x"}}})
    built = build_version(p, "v0", None, bank)
    targets = [(e.request, s.domain) for split in built.splits.values() for e in split
               if e.target.status == "success" for s in e.target.suggestions]  # fmt: skip
    assert len(targets) > 200
    assert all(target_ok(d, Request.model_validate(r.model_dump()), bank.lexicon)
               or r.prefer_puns for r, d in targets)  # fmt: skip
    labels = [d.split(".", 1)[0].replace("-", "") for _, d in targets]
    copied = sum(lab in bank.all_names() for lab in labels) / len(labels)
    assert copied < 0.3  # mostly composed from parts, not recalled whole


def test_target_ok_rejects_what_the_judge_gates() -> None:
    lex = load_bank(ROOT / "data" / "naming", LEXICON).lexicon
    req = Request(description="a cosy coffee shop")
    assert target_ok("emberroast.com", req, lex)
    for bad in ("coffee.com", "starbuks.com", "killroast.com", "roastroast.com", "cofee.com"):
        assert not target_ok(bad, req, lex), bad


def test_a_bad_bank_file_is_one_line_naming_file_and_field(tmp_path) -> None:
    (tmp_path / "bakery.yaml").write_text("industry: bakery\nheads: [crumb, Rye!]\ntails: []\n")
    with pytest.raises(UserError, match=r"bakery.yaml: 'heads' entry 'Rye!'"):
        load_bank(tmp_path, LEXICON)
    (tmp_path / "bakery.yaml").write_text("industry: bread\n")
    with pytest.raises(UserError, match="'industry' must be 'bakery'"):
        load_bank(tmp_path, LEXICON)
