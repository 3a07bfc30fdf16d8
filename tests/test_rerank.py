"""Overgenerate-filter-rerank and output moderation: what is dropped, what is picked, and that
no returned name ever carries a blocked term (CLI, API and predict all answer through Engine)."""

from __future__ import annotations

import numpy as np
import pytest
from enginefixtures import tiny_engine

from domainllm.contract import Request
from domainllm.judge.features import load_lexicon
from domainllm.moderation import DEFAULT_LEXICON, Moderator
from domainllm.rerank import Candidate, Reranker, RerankSettings, mmr, similarity
from domainllm.tiny import make_tiny_model


class BagEmbedder:
    """A deterministic stand-in for MiniLM: unit vectors of letter counts (no model load)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 26))
        for i, t in enumerate(texts):
            for c in t.lower():
                if "a" <= c <= "z":
                    out[i, ord(c) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator.load()


@pytest.mark.parametrize(
    "domain",
    ["killzone.com", "k1llzone.io", "pornhub.com", "xxxdeals.shop", "sexshop.com",
     "murder-hub.net", "hitlers.com", "fuckboy.app", "weedkiller.com"],
)  # fmt: skip
def test_moderation_blocks_terms_after_normalisation(moderator: Moderator, domain: str) -> None:
    assert moderator.blocked_term(domain)


@pytest.mark.parametrize(
    "domain",
    ["therapist.com", "skillshare.io", "grapevine.com", "essexyarn.co", "cocktailcorner.com",
     "methodworks.com", "scampi.shop", "beanhaven.com", "analytics.ai", "scunthorpe.co"],
)  # fmt: skip
def test_moderation_keeps_words_that_only_contain_a_term(moderator: Moderator, domain: str) -> None:
    assert moderator.blocked_term(domain) is None


def reranker(**kw: object) -> Reranker:
    return Reranker(RerankSettings(**kw), load_lexicon(DEFAULT_LEXICON), BagEmbedder())


def test_filter_drops_what_no_expert_shortlists_and_keeps_good_names() -> None:
    req = Request(description="artisan coffee roaster in Portland", tlds=[".com"], n=3)
    names = {
        "beanharbor.com": None,
        "roastcove.com": None,
        "emberbean.com": None,
        "coffee.com": "taken",  # a dictionary word on .com
        "starbucks.com": "brand",
        "coffe.com": "misspelling",
        "ai.com": "bare",
        "name.com": "placeholder",
        "roastroast.com": "repeated",
        "hyphensno.com": "placeholder",  # the request's instructions copied into a name
    }
    cands = [Candidate(d, -1.0) for d in names]
    picked = reranker().pick(req, cands)
    assert {c.domain for c in picked} == {d for d, why in names.items() if why is None}
    assert {c.domain: c.drop for c in cands} == names


def test_too_few_pass_refills_from_soft_drops_never_from_invalid() -> None:
    req = Request(description="coffee shop", tlds=[".com"], n=3)
    cands = [Candidate("beanharbor.com", -1.0), Candidate("coffee.com", -0.1),
             Candidate("bean.io", -0.1)]  # fmt: skip
    picked = [c.domain for c in reranker().pick(req, cands)]
    assert picked == ["beanharbor.com", "coffee.com"]  # .io breaks the request: never returned


def test_mmr_prefers_a_new_idea_over_a_variant_of_the_first() -> None:
    a, b, c = (Candidate(d, 0) for d in ("brewhaven.com", "brewnest.com", "roastcove.com"))
    a.score, b.score, c.score = 1.0, 0.95, 0.8
    assert similarity(a.domain, b.domain) > similarity(a.domain, c.domain)
    assert [x.domain for x in mmr([a, b, c], 2, 0.7)] == ["brewhaven.com", "roastcove.com"]
    assert [x.domain for x in mmr([a, b, c], 2, 1.0)] == ["brewhaven.com", "brewnest.com"]


UNSAFE_RAW = "success\nkillzone.com\nbeanharbor.com\np0rnhub.com\nroastcove.com\nsexyshop.com"


@pytest.mark.parametrize(
    "description",
    ["🔥🔥 coffee ☕☕ shop 🚀", "shop", "pest control that kills termites", "coffee"],
)
def test_no_returned_name_carries_a_blocked_term(tmp_path, description: str) -> None:
    """Whatever the model writes, moderation removes names with a blocked term before they are
    returned: the model's text is replaced by one full of unsafe names for emoji-laden,
    one-word and borderline requests."""
    eng = tiny_engine(make_tiny_model(tmp_path / "tiny"), retries=0)
    req = Request(description=description, tlds=[".com"], n=2)
    ans = eng._parse(req, [(UNSAFE_RAW, False, _trace())], eng.compiler.strings)
    got = [s.domain for s in ans.response.suggestions]
    assert got and not any(eng.moderator.blocked_term(d) for d in got), got
    assert set(ans.moderated) == {"killzone.com", "p0rnhub.com", "sexyshop.com"}
    # and end to end: every name the tiny model returns for such requests passes moderation
    for a in eng.answer_batch([req], run_blocked=True):
        assert not any(eng.moderator.blocked_term(s.domain) for s in a.response.suggestions)


def _trace():
    from domainllm.decoding import RowTrace

    return RowTrace()


def test_sampled_sequences_share_the_greedy_refusal_decision(tmp_path) -> None:
    """Names are sampled, the first token (blocked/success) is not: every sequence of a request
    opens with the same word, so the refusal does not depend on the sampling seed."""
    eng = tiny_engine(make_tiny_model(tmp_path / "tiny"), model_may_block=True, retries=0)
    reqs = [Request(description=d, tlds=[".com"], n=2) for d in ("bakery", "bike shop", "gym")]
    for seed in (0, 1):
        eng.settings = eng.settings.model_copy(update={"seed": seed})
        for a in eng.generate_batch(reqs):
            firsts = {seq.split("\n", 1)[0] for seq in a.raw.split("\n\n")}
            assert len(firsts) == 1 and a.raw.count("\n\n") == eng.samples() - 1, a.raw


def test_candidates_pool_every_sequence_and_skip_cut_off_ones(tmp_path) -> None:
    eng = tiny_engine(make_tiny_model(tmp_path / "tiny"), retries=0)
    req = Request(description="coffee roaster", tlds=[".com"], n=2)
    seqs = [("success\nbeanharbor.com\nroastcove.com", False, _trace()),
            ("success\nemberbean.com\nbeanharbor.com", False, _trace()),
            ("success\nzzzz", True, _trace())]  # fmt: skip
    ans = eng._parse(req, seqs, eng.compiler.strings)
    assert [c.domain for c in ans.candidates] == [
        "beanharbor.com",
        "roastcove.com",
        "emberbean.com",
    ]
    assert ans.status == "success" and len(ans.response.suggestions) == 2
    cut = eng._parse(req, [("success\nbe", True, _trace())], eng.compiler.strings)
    assert cut.status == "invalid" and cut.cut_off


def test_hard_drops_never_refill_an_answer_that_is_short() -> None:
    """A placeholder, a stutter or a misspelling is never returned, even to fill the count."""
    req = Request(description="coffee shop", tlds=[".com"], n=4)
    cands = [Candidate("beanharbor.com", -1.0), Candidate("name.com", -0.1),
             Candidate("roastroast.com", -0.1), Candidate("coffe.com", -0.1)]  # fmt: skip
    assert [c.domain for c in reranker().pick(req, cands)] == ["beanharbor.com"]


def test_a_retry_adds_candidates_to_the_first_answers_pool(tmp_path) -> None:
    eng = tiny_engine(make_tiny_model(tmp_path / "tiny"), retries=0)
    eng.reranker = reranker()
    req = Request(description="coffee roaster", tlds=[".com"], n=3)
    first = eng._parse(req, [("success\nbeanharbor.com\nname.com", False, _trace())],
                       eng.compiler.strings)  # fmt: skip
    assert [s.domain for s in first.response.suggestions] == ["beanharbor.com"]
    again = eng._parse(req, [("success\nroastcove.com\nbeanharbor.com", False, _trace())],
                       eng.compiler.strings)  # fmt: skip
    pooled = eng._pool(req, first, again)
    assert {s.domain for s in pooled.response.suggestions} == {"beanharbor.com", "roastcove.com"}
    assert [c.domain for c in pooled.candidates] == ["beanharbor.com", "name.com",
                                                     "roastcove.com"]  # fmt: skip


def test_names_of_the_hints_words_rank_first_and_extra_parts_or_non_words_sink() -> None:
    """With the hint weight, a name of two shown words outranks a fluent one of none; a third
    part and letters no word explains cost score; without the hint nothing changes."""
    from domainllm.hints import Hint
    from domainllm.judge.features import label_parts
    from domainllm.rerank import hint_share

    hint = Hint("bakery", 0.7, heads=("clover", "copper"), tails=("crumb", "loaf"))
    shown = set(hint.heads) | set(hint.tails)
    assert hint_share(label_parts("clovercrumb.com"), shown) == 1.0
    assert hint_share(label_parts("cloverhaven.com"), shown) == 0.5
    assert hint_share(label_parts("tumblewell.com"), shown) == 0.0
    assert hint_share(label_parts("clovercrumb.com"), set()) == 0.0
    req = Request(description="artisan bakery in Leeds", tlds=[".com"], n=1)
    names = ["tumblewell.com", "clovercrumb.com"]
    on = reranker(hint=0.5)
    assert [c.domain for c in on.pick(req, [Candidate(d, -1.0) for d in names], hint)] == [
        "clovercrumb.com"
    ]
    off = [Candidate(d, -1.0) for d in names]
    reranker(hint=0.5).pick(req, off, None)  # no hint shown: the hint feature is 0 for all
    assert {c.features["hint"] for c in off} == {0.0}
    pen = reranker(parts=0.3, unknown=0.3)
    three, two, odd = (Candidate(d, -1.0) for d in ("cloudbuildstudio.com", "cloudbuild.com",
                                                    "cloudzq.com"))  # fmt: skip
    pen.pick(req, [three, two, odd])
    base = reranker()
    b3, b2, bo = (Candidate(d, -1.0) for d in (three.domain, two.domain, odd.domain))
    base.pick(req, [b3, b2, bo])
    assert three.score == pytest.approx(b3.score - 0.3 * (three.features["segments"] - 2))
    assert three.features["segments"] >= 3 and two.score == pytest.approx(b2.score)
    assert odd.features["segments"] <= 2 and odd.features["unknown_chars"] > 0
    assert odd.score == pytest.approx(bo.score - 0.3)


def test_a_shown_start_word_then_a_shown_end_word_gets_the_head_tail_bonus() -> None:
    """Only the exact shape head + tail scores ``head_tail``: two end words, a start word with
    another ending or the words the other way round do not; weight 0 changes nothing."""
    from domainllm.hints import Hint
    from domainllm.judge.features import label_parts
    from domainllm.rerank import head_tail

    heads, tails = {"clover", "copper"}, {"crumb", "loaf"}
    assert head_tail(label_parts("clovercrumb.com"), heads, tails) == 1.0
    for d in ("crumbloaf.com", "cloverhaven.com", "crumbclover.com", "clovercrumbloaf.com"):
        assert head_tail(label_parts(d), heads, tails) == 0.0, d
    hint = Hint("bakery", 0.7, heads=tuple(heads), tails=tuple(tails))
    req = Request(description="artisan bakery in Leeds", tlds=[".com"], n=1)
    with_bonus = [Candidate(d, -1.0) for d in ("clovercrumb.com", "crumbloaf.com")]
    without = [Candidate(d, -1.0) for d in ("clovercrumb.com", "crumbloaf.com")]
    reranker(head_tail=1.0).pick(req, with_bonus, hint)
    reranker().pick(req, without, hint)
    assert with_bonus[0].score == pytest.approx(without[0].score + 1.0)
    assert with_bonus[1].score == pytest.approx(without[1].score)


def test_digit_and_hyphen_names_come_back_only_when_too_few_others_pass() -> None:
    req = Request(description="coffee roaster", tlds=[".com"], n=2, allow_hyphens=True,
                  allow_numbers=True)  # fmt: skip
    names = ["beanharbor.com", "roast-cove.com", "brew4u.com", "emberroast.com"]
    on = reranker(drop_digits=True, drop_hyphens=True)
    assert {c.domain for c in on.pick(req, [Candidate(d, -1.0) for d in names])} == {
        "beanharbor.com", "emberroast.com"}  # fmt: skip
    # one clean name only: a soft drop refills the second place
    few = on.pick(req, [Candidate(d, -1.0) for d in names[:3]])
    assert few[0].domain == "beanharbor.com" and few[1].drop in ("digits", "hyphen")
    off = reranker().pick(req, [Candidate(d, -1.0) for d in names])
    assert all(c.drop is None for c in off)  # the defaults keep today's behaviour
