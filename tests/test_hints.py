"""Naming hints: the request is matched to the bank's industry, the prompt shows its words, the
synthetic targets are built from them, and the engine shows the same words as training did."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from enginefixtures import tiny_engine

from domainllm.contract import Request
from domainllm.hints import Hint, Hinter, HintSettings, topic_words
from domainllm.params import UserError
from domainllm.prompting import load_prompts, render_user
from domainllm.synth.bank import load_bank
from domainllm.synth.config import SynthParams
from domainllm.synth.generate import build_version
from domainllm.tiny import make_tiny_model

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "prompts" / "judge" / "lexicon.yaml"


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROOT / "data" / "naming", LEXICON)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def hinter(bank):
    from domainllm.judge.embed import default_embedder

    return Hinter(bank, default_embedder(), HintSettings())


def test_requests_match_their_industry_in_words_people_use(hinter, bank) -> None:
    cases = {
        "We sell bouquets and deliver flowers for weddings in Leeds": "florist",
        "mobile dog groomer, nail trims and baths": "pet_grooming",
        "a small firm doing bookkeeping and tax returns for freelancers": "accounting",
        "Rooftop solar panels and battery storage for homes": "solar_energy",
    }
    hints = hinter.hints(list(cases))
    for (desc, industry), h in zip(cases.items(), hints, strict=True):
        assert h is not None and h.industry == industry, (desc, h)
        b = bank.industries[industry]
        assert len(h.heads) == 8 and set(h.heads) <= set(b.heads)
        assert len(h.tails) == 6 and set(h.tails) <= set(b.tails)


def test_words_are_stable_per_request_and_vary_between_requests(hinter) -> None:
    a = "We sell bouquets and deliver flowers for weddings in Leeds"
    b = "Florist in Bristol: dried-flower wreaths and same-day delivery"
    first, again, other = hinter.hints([a, a, b])
    assert first == again
    assert other is not None and (other.heads, other.tails) != (first.heads, first.tails)


def test_no_hint_when_no_industry_is_close_or_hints_are_off(bank, hinter) -> None:
    without = Hinter(replace(bank, general=None), hinter.embedder, HintSettings())
    assert without.hints(["zxqv plorbt 12345"]) == [None]
    off = Hinter(bank, hinter.embedder, HintSettings(enabled=False))
    assert off.hints(["florist in Leeds"]) == [None]


def test_a_request_no_industry_matches_gets_the_general_words_and_its_own(bank, hinter) -> None:
    (h,) = hinter.hints(["Youth archery club with certified coaches in Leeds"])
    assert h is not None and h.industry == "_general"
    assert set(h.heads) <= set(bank.general.heads) and len(h.heads) == 8
    # its topic words closest to the description come first; the place (capitalised
    # mid-sentence) and words of the request's own talk ('certified') never do
    assert h.tails[:2] == ("archery", "youth") and len(h.tails) == 4  # + two general endings
    assert set(h.tails[2:]) <= set(bank.general.tails)
    assert topic_words("Best domain ideas for a cozy bakery in Lyon", 3, bank.not_topic) == (
        "bakery",
    )
    assert topic_words("zxqv plorbt 12345", 2) == ()
    # a harm the business works against is never offered as a name part
    (shelter,) = hinter.hints(["shelter for survivors of domestic violence in Asheville"])
    assert not {"violence", "survivors", "domestic"} & set(shelter.tails)


def test_a_business_named_outright_beats_the_cosine_in_any_language(hinter) -> None:
    cases = {
        # the cosine alone matched these to veterinary and cybersecurity
        "I'm opening a law firm in Lisbon. The plan is to bring contract reviews to vets.": (
            "law_firm"
        ),
        "Our web design studio does accessibility audits and security reviews.": "web_design",
        "Vamos a abrir una panadería en Sevilla": "bakery",
        "toelettatura per cani a Santa Fe per studenti.": "pet_grooming",
        "Namensideen für eine Bäckerei, familiär": "bakery",
    }
    hints = hinter.hints(list(cases))
    assert [h.industry if h else None for h in hints] == list(cases.values())


def test_prompt_lists_the_words_only_with_a_hint() -> None:
    prompts = load_prompts()
    req = Request(description="florist in Leeds")
    hint = Hint("florist", 0.7, ("fern", "iris"), ("petal", "vase"))
    text = render_user(req, prompts, hint)
    assert text.endswith("5 names\nstart: fern iris\nend: petal vase")
    assert "start:" not in render_user(req, prompts) and "{" not in render_user(req, prompts)
    assert Hint.from_dict(hint.to_dict()) == Hint("florist", 0.7, ("fern", "iris"),
                                                  ("petal", "vase"))  # fmt: skip


def _uses_hint(domain: str, hint: dict) -> bool:
    label = re.sub(r"[^a-z]", "", domain.split(".")[0])
    return any(w in label for w in (*hint["heads"], *hint["tails"]))


def test_targets_are_built_from_the_hint_words(bank, hinter) -> None:
    p = SynthParams.model_validate({"seed": 3, "versions": {"v0": {"n": 120, "failures": "x"}}})
    rows = [e for s in build_version(p, "v0", None, bank, hinter).splits.values() for e in s]
    own = [e for e in rows if e.hint and e.hint["industry"] in (e.meta.industry, "_general")
           and e.target.status == "success"]  # fmt: skip
    assert any(e.hint["industry"] == "_general" for e in own)  # the fallback's rows too
    assert len(own) > 40
    names = [(s.domain, e.hint) for e in own for s in e.target.suggestions]
    used = sum(_uses_hint(d, h) for d, h in names) / len(names)
    # the same rows built without hints: their names rarely happen to use those 14 words
    plain = {e.id: e for s in build_version(p, "v0", None, bank).splits.values() for e in s}
    base = [(s.domain, e.hint) for e in own for s in plain[e.id].target.suggestions]
    used_plain = sum(_uses_hint(d, h) for d, h in base) / len(base)
    assert used >= 0.6 and used > used_plain + 0.25, (used, used_plain)


def test_engine_shows_the_same_hint_as_training_and_reports_it(tiny_dir, hinter) -> None:
    eng = tiny_engine(tiny_dir)
    desc = "We sell bouquets and deliver flowers for weddings in Leeds"
    [answer] = eng.answer_batch([Request(description=desc, n=2)])
    shown, trained = answer.model.hint, hinter.hints([desc])[0]  # same words (MiniLM floats
    assert (shown.industry, shown.heads, shown.tails) == (  # differ in the 7th digit by batch)
        trained.industry, trained.heads, trained.tails)  # fmt: skip
    assert answer.model.to_dict()["hint"]["industry"] == "florist"
    assert eng.info()["hints"]["bank_hash"] == hinter.bank.hash


def test_missing_bank_is_one_line_naming_the_fix(tiny_dir, tmp_path) -> None:
    with pytest.raises(UserError, match=r"hints\.enabled: false"):
        tiny_engine(tiny_dir, bank=str(tmp_path / "nope"))


def test_bank_about_must_be_phrases(tmp_path) -> None:
    src = (ROOT / "data" / "naming" / "florist.yaml").read_text(encoding="utf-8")
    bad = re.sub(r"^about: .*$", "about: florist", src, flags=re.M)
    (tmp_path / "florist.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(UserError, match="'about' must be a list"):
        load_bank(tmp_path, LEXICON)


def test_end_words_come_from_the_trade_specific_pool(bank, hinter) -> None:
    """With ``tail_pool`` the shown end words are the industry's most trade-specific ones:
    a bakery is shown 'oven' or 'dough' kinds of words, never the generic 'batch' or 'rise'."""
    pooled = Hinter(bank, hinter.embedder, HintSettings(tail_pool=6))
    bakery = pooled.tails["bakery"]
    assert len(bakery) == 6 and set(bakery) < set(bank.industries["bakery"].tails)
    assert {"loaf", "dough", "oven"} <= set(bakery)
    assert not {"rise", "proof", "batch", "roll"} & set(bakery)
    descs = [f"artisan bakery number {i} with sourdough loaves" for i in range(30)]
    shown = {w for h in pooled.hints(descs) for w in h.tails}
    assert shown <= set(bakery) and len(shown) > 3
    # without a pool every end word of the bank can be shown (the default)
    assert hinter.tails["bakery"] == bank.industries["bakery"].tails
