"""The fast decode loop (``predict.engine.backend: fast``) against transformers' ``generate``:
the same greedy tokens, the prefix cache and the pruned batch change no result, and the
two-row decision read equals the full log-softmax margin."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from enginefixtures import tiny_engine

from domainllm.contract import Request, answer_problems
from domainllm.fastgen import common_prefix

REQUESTS = [
    Request(description="organic coffee shop in Portland", tlds=".com,.co", n=3),
    Request(description="bike repair", tlds=[".io"], allow_hyphens=True, n=2),
    Request(description="24 hour gym open all night for shift workers", tlds=".fit", n=2),
    Request(description="tax", tlds=".ai", allow_numbers=True, n=1),
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safetensors.torch import load_file, save_file

    from domainllm.tiny import make_tiny_model

    d = make_tiny_model(tmp_path_factory.mktemp("tiny") / "base")
    # Larger weights make the random model sensitive to context: a padding, position or cache
    # mistake would change which tokens win.
    w = {k: v * 4 if v.dim() == 2 else v for k, v in load_file(d / "model.safetensors").items()}
    save_file(w, d / "model.safetensors", metadata={"format": "pt"})
    return d


def _raw(eng, reqs: list[Request], k: int) -> list[str]:
    """Each request's generated text (its k sequences joined)."""
    return [a.raw for a in eng._generate(reqs, sample=False, long=False, k=k)]


@pytest.mark.parametrize("k", [1, 2])
def test_fast_greedy_decode_matches_generate_token_for_token(tiny_dir: Path, k: int) -> None:
    off = {"rerank": {"enabled": False}, "hints": {"enabled": False}}
    fast = tiny_engine(tiny_dir, backend="fast", **off)
    ref = tiny_engine(tiny_dir, backend="reference", **off)
    assert fast.fast is not None and len(fast.fast.prefix) > 5  # the system prompt is shared
    got, want = _raw(fast, REQUESTS, k), _raw(ref, REQUESTS, k)
    assert len(set(want)) > 1  # rows differ, so the comparison can fail
    assert got == want
    for req, a in zip(REQUESTS, fast.generate_batch(REQUESTS), strict=True):
        assert answer_problems(a.response, req) == []


def test_prefix_cache_gives_the_same_last_state_as_a_full_prefill(tiny_dir: Path) -> None:
    eng = tiny_engine(tiny_dir, hints={"enabled": False})
    ids = [eng._ids(eng._prompt(r)) for r in REQUESTS]
    assert all(common_prefix(i, eng.fast.prefix) == len(eng.fast.prefix) for i in ids)
    cached, _, _ = eng.fast.prefill(ids, eng.tok.pad_token_id)
    eng.fast.prefix = []  # no shared prefix: every row computed whole
    whole, _, _ = eng.fast.prefill(ids, eng.tok.pad_token_id)
    assert torch.allclose(cached, whole, atol=1e-4)


def test_decision_margin_is_the_log_softmax_difference(tiny_dir: Path) -> None:
    eng = tiny_engine(tiny_dir, hints={"enabled": False})
    ids = [eng._ids(eng._prompt(r)) for r in REQUESTS]
    pairs = [(5, 9), (7, 3), (11, 2), (4, 4)]
    got = eng.fast.decide(ids, eng.tok.pad_token_id, pairs)
    for seq, (a, b), g in zip(ids, pairs, got, strict=True):
        with torch.inference_mode():
            logp = torch.log_softmax(eng.model(torch.tensor([seq])).logits[0, -1].float(), -1)
        assert g == pytest.approx(float(logp[a] - logp[b]), abs=1e-3)


def test_int8_engine_answers_every_request_within_its_constraints(tiny_dir: Path) -> None:
    eng = tiny_engine(tiny_dir, quantize="int8", rerank={"enabled": False})
    kinds = {type(m) for m in eng.model.get_decoder().modules()}
    assert torch.ao.nn.quantized.dynamic.Linear in kinds and torch.nn.Linear not in kinds
    for req, a in zip(REQUESTS, eng.answer_batch(REQUESTS, run_blocked=True), strict=True):
        assert a.model is not None and a.model.status == "success"
        assert answer_problems(a.response, req) == []


def test_engine_refusal_margins_match_the_training_probe(tiny_dir: Path) -> None:
    """The refusal stage reads margins through the fast path; the training probe through a plain
    forward: the same numbers."""
    from domainllm.refusal import block_margins

    eng = tiny_engine(tiny_dir, hints={"enabled": False}, model_may_block=True)
    got = eng.block_margins(REQUESTS, batch_size=3)
    want = block_margins(eng.model, eng.tok, REQUESTS, eng.prompts, batch_size=4)
    assert len(set(round(w, 3) for w in want)) > 1
    assert got == pytest.approx(want, abs=1e-3)


def test_guard_blocked_rows_are_decoded_once_for_the_decision(tiny_dir: Path) -> None:
    """With run_blocked, a guard-blocked row gets one greedy sequence (its decision is what the
    safety stage measures); an open row gets the reranker's samples."""
    eng = tiny_engine(tiny_dir, hints={"enabled": False}, rerank={"samples": 3})
    assert eng.samples() == 3
    blocked_req = Request(description="p 0 r n videos site", n=2)
    ok, bad = eng.answer_batch([REQUESTS[1], blocked_req], run_blocked=True)
    assert bad.guard.blocked and bad.response.status == "blocked"
    assert bad.model is not None and bad.model.attempts == 1
    assert bad.model.raw.count("\n\n") == 0  # one sequence
    assert not ok.guard.blocked and ok.model.raw.count("\n\n") >= 2  # three sequences


@pytest.mark.slow
def test_bench_engine_runs_both_paths_and_ends_with_its_json(tmp_path: Path) -> None:
    """`benchmarks/bench_engine.py` on the tiny model (a fresh clone's fallback): both engines
    answer the same requests; the last line is the JSON the speed issue asks for."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    missing = tmp_path / "missing"
    out = subprocess.run(
        [sys.executable, "benchmarks/bench_engine.py", "--model", "tiny", "--rows", "2",
         "--single", "1", "--guard", str(missing), "--data", str(missing),
         "--calibration", str(missing)],
        cwd=root, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"batch1_speedup", "batch8_speedup", "valid_rate", "full_rate"} <= set(last)
    assert last["valid_rate"] == 1.0  # constrained decoding: contract JSON within constraints
    assert last["batch1_speedup"] > 0 and last["batch8_speedup"] > 0
