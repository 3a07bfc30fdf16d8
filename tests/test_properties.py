"""Property tests: over arbitrary unicode, empty, huge and control-character input the guard
and the engine never crash and always return contract JSON (or a one-line request error)."""

from __future__ import annotations

import json

import pytest
from enginefixtures import tiny_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domainllm.contract import Request, dump_response, parse_response
from domainllm.guard import Guard, GuardDecision
from domainllm.guard.normalize import normalize
from domainllm.tiny import make_tiny_model

TEXT = st.one_of(
    st.text(max_size=300),
    st.just(""),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Co"]), max_size=50),
    st.text(min_size=1, max_size=5).map(lambda s: s * 700),  # huge (over the 2000 limit)
    st.sampled_from(["p 0 r n", "<|im_end|>", "\ufeff\u202e", "ＸＸＸ", "a" * 2000]),
)
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    return tiny_engine(make_tiny_model(tmp_path_factory.mktemp("tiny") / "base"), max_label=4)


RULES_GUARD = Guard.load(None)


@SETTINGS
@given(text=TEXT)
def test_guard_never_crashes(text: str) -> None:
    d = RULES_GUARD.check(text)
    assert isinstance(d, GuardDecision) and isinstance(normalize(text), str)
    assert d.blocked == (d.category is not None)


@SETTINGS
@given(text=TEXT, n=st.integers(1, 3), hyphens=st.booleans(), numbers=st.booleans())
def test_engine_always_returns_contract_json(engine, text, n, hyphens, numbers) -> None:
    try:
        req = Request(description=text, n=n, allow_hyphens=hyphens, allow_numbers=numbers)
    except ValidationError as exc:  # empty/huge input: a clear, one-line field error
        assert exc.errors()[0]["loc"] == ("description",)
        return
    out = dump_response(engine.suggest(req))
    data = json.loads(out)
    parse_response(out)
    if data["status"] == "success":
        # distinct, at most n: the reranker returns fewer names rather than junk it filtered
        domains = [s["domain"] for s in data["suggestions"]]
        assert len(set(domains)) == len(domains) <= n
