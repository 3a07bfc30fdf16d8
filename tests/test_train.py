"""LoRA/QLoRA training on the tiny random model: adapter changes, base frozen, loss falls,
4-bit step, resume after interruption, answer-only loss mask, params validation."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from domainllm import refusal as R
from domainllm import training as T
from domainllm.contract import Request, Response, Suggestion, blocked
from domainllm.io import read_json, write_jsonl
from domainllm.params import ParamsError, UserError
from domainllm.prompting import load_prompts, render_messages
from domainllm.schema import Example, Meta
from domainllm.tiny import make_tiny_model
from domainllm.train_config import run_params

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stages import train as train_stage  # noqa: E402

torch.set_num_threads(1)


def make_examples(n: int, seed: int = 0) -> list[Example]:
    """Small safe/unsafe rows in the Example schema (no synth stage needed)."""
    words = ["bean", "leaf", "nova", "pixel", "harbor", "bloom", "forge", "spark"]
    rows = []
    for i in range(n):
        w = words[(i + seed) % len(words)]
        unsafe = i % 4 == 3
        meta = Meta(
            industry="test",
            complexity="L1",
            group="unsafe" if unsafe else "plain",
            safety_category="adult_sexual" if unsafe else "safe",
            template=f"t{i % 3}",
        )
        target = (
            blocked()
            if unsafe
            else Response(
                status="success",
                suggestions=[Suggestion(domain=f"{w}hub.com", confidence=0.9)],
            )
        )
        desc = f"explicit adult content site {i}" if unsafe else f"{w} shop number {i}"
        rows.append(
            Example(id=f"r{i}", request=Request(description=desc, n=1), meta=meta, target=target)
        )
    return rows


def write_data(folder: Path, n_train: int = 16, n_val: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", [e.model_dump() for e in make_examples(n_train)])
    write_jsonl(folder / "val.jsonl", [e.model_dump() for e in make_examples(n_val, seed=3)])
    return folder


def make_base(folder: Path) -> Path:
    make_tiny_model(folder)
    (folder / "base_info.json").write_text('{"name": "tiny", "sha256": "0"}')
    return folder


def params(**train) -> dict:
    base = {
        "learning_rate": 0.03,
        "max_steps": 8,
        "batch_size": 4,
        "max_seq_length": 1024,
        "eval_steps": 4,
        "eval_rows": 4,
        "logging_steps": 1,
        "threads": 1,
        "dtype": "fp32",
    }
    return {
        "train": {**base, **train},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"},
        "iterations": {"baseline": {"data": "v1"}},
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return make_base(root / "base"), write_data(root / "data")


def run(tmp: Path, tiny: tuple[Path, Path], p: dict, callbacks=()) -> dict:
    rp = run_params(p, "baseline")
    base, data = tiny
    return train_stage.train(
        rp,
        base,
        data,
        tmp / "out",
        tmp / "metrics.json",
        tmp / "live",
        tmp / "ckpt",
        list(callbacks),
    )


def test_answer_only_mask(tiny: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny[0])
    ex = make_examples(1)[0]
    enc = T.encode_example(ex, tok, load_prompts(), max_len=10_000)
    ids, mask = enc["input_ids"], enc["completion_mask"]
    answer = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert answer == "success\nbeanhub.com<|im_end|>"  # the compact answer, no JSON
    assert enc["completion_mask"][0] == 0 and len(enc["input_ids"]) == len(enc["completion_mask"])
    ds, stats = T.build_dataset(make_examples(4), tok, load_prompts(), max_len=20)
    assert stats["dropped"] == 4 and len(ds) == 0  # the prompt alone exceeds 20 tokens


def test_adapter_changes_base_frozen_loss_falls(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    res = run(
        tmp_path,
        tiny,
        params(max_steps=16, eval_steps=8, patience=0, blocked_share=0.5, decision_weight=1.0),
    )
    # A random model starts near ln(vocab); 16 steps on 16 rows must cut the loss clearly.
    assert res["steps"] == 16 and res["train_loss_final"] < res["train_loss_first"] - 0.25
    out = tmp_path / "out"
    cfg = read_json(out / "run_config.json")
    assert cfg["lora"]["r"] == 4 and cfg["data_version"] == "v1"
    assert cfg["base_model_dir"] == str(tiny[0]) and len(cfg["prompt_hash"]) == 12
    base = AutoModelForCausalLM.from_pretrained(tiny[0])
    before = {k: v.clone() for k, v in base.state_dict().items()}
    adapter = load_file(out / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero
    model = PeftModel.from_pretrained(base, out)
    for k, v in model.get_base_model().state_dict().items():
        name = k.replace(".base_layer", "")
        if "lora_" not in k:
            assert torch.equal(v, before[name]), k
    m = read_json(tmp_path / "metrics.json")
    assert m["trainable_params"] < m["total_params"] and m["tokens_per_s"] > 0
    assert (tmp_path / "live" / "metrics.json").is_file()
    # Half the rows were refusals: the model now leans to refuse unsafe rows more than safe ones.
    probe = m["refusal"]
    assert probe["unsafe_rows"] == 2 and probe["safe_rows"] == 6
    assert probe["mean_margin_unsafe"] > probe["mean_margin_safe"]


def test_resume_after_interruption(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    from transformers import TrainerCallback

    class Boom(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 6:
                raise KeyboardInterrupt("simulated kill")

    p = params(max_steps=8, eval_steps=4)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, tiny, p, [Boom()])
    assert (tmp_path / "ckpt" / "checkpoint-4").is_dir() and not (tmp_path / "out").exists()
    res = run(tmp_path, tiny, p)
    assert res["resumed_from_step"] == 4 and res["steps"] == 8
    assert not (tmp_path / "ckpt").exists()  # a finished run leaves nothing to resume
    # A changed config must not resume from the old checkpoints.
    res2 = run(tmp_path, tiny, params(max_steps=4, eval_steps=4))
    assert res2["resumed_from_step"] is None and res2["steps"] == 4


def test_resume_skips_finished_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "run_config.hash").write_text("h")
    for step in (4, 8):
        (tmp_path / f"checkpoint-{step}").mkdir()
        state = {"global_step": step, "max_steps": 8}
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))
    assert T.resume_checkpoint(tmp_path, "h") == str(tmp_path / "checkpoint-4")
    assert T.resume_checkpoint(tmp_path, "other") is None


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="no bitsandbytes")
def test_qlora_4bit_step(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    res = run(tmp_path, tiny, params(max_steps=2, eval_steps=2, quantization="4bit"))
    assert res["steps"] == 2 and res["quantization"] == "4bit"
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"train": {"quantization": "2bit"}}, "train.quantization"),
        ({"train": {"learning_rate": -1}}, "train.learning_rate"),
        ({"train": {"lr": 0.1}}, "unknown key 'train.lr'"),
        ({"lora": {"r": 0}}, "lora.r"),
        ({"iterations": {"baseline": {"data": "v1", "train": {"batch": 2}}}}, "baseline.train"),
        ({"iterations": {"baseline": {"data": "latest"}}}, "iterations.baseline.data"),
        ({"train": {"max_steps": 2, "eval_steps": 5}}, "eval_steps"),
        ({"iterations": {"baseline": {"data": "v1", "init": "v0"}}}, "iterations.baseline.init"),
        (
            {"iterations": {"baseline": {"data": "v1", "init": "b"}, "b": {"init": "baseline"}}},
            "cycle baseline -> b -> baseline",
        ),
    ],
)
def test_params_validation(patch: dict, needle: str) -> None:
    p = params()
    for sec, val in patch.items():
        p[sec] = {**p[sec], **val} if sec != "iterations" else val
    with pytest.raises(ParamsError) as err:
        run_params(p, "baseline")
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_iteration_override_and_unknown_iteration() -> None:
    p = params()
    p["iterations"]["improved"] = {"data": "v2", "lora": {"r": 16}, "train": {"max_steps": 12}}
    rp = run_params(p, "improved")
    assert rp.lora.r == 16 and rp.train.max_steps == 12 and rp.train.batch_size == 4
    assert run_params(p, "baseline").lora.r == 4
    with pytest.raises(ParamsError, match="no iteration 'other'"):
        run_params(p, "other")


def test_dtype_and_quant_choice() -> None:
    assert T.pick_dtype("fp32") == "fp32" and T.pick_dtype("auto") in {"bf16", "fp32"}
    assert T.quantization_config("none", "fp32") is None
    assert T.quantization_config("4bit", "bf16").bnb_4bit_quant_type == "nf4"
    assert T.quantization_config("8bit", "fp32").load_in_8bit


def test_lora_config_last_layers() -> None:
    from domainllm.train_config import LoraParams

    assert T.lora_config(LoraParams(), 24).layers_to_transform is None
    assert T.lora_config(LoraParams(layers=8), 24).layers_to_transform == list(range(16, 24))
    assert T.lora_config(LoraParams(layers=99), 2).layers_to_transform == [0, 1]


def test_rebalance_repeats_refusals_to_the_share() -> None:
    rows = make_examples(16)  # 4 refusals
    out = T.rebalance(rows, 0.5, seed=1, spread=False)
    # every safe row stays (a full epoch); refusals repeat to half of the rows
    assert len(out) == 24 and sum(r.target.status == "blocked" for r in out) == 12
    assert {r.id for r in rows} == {r.id for r in out}
    assert [r.id for r in out] == [r.id for r in T.rebalance(rows, 0.5, 1, False)]  # seeded
    assert T.rebalance(rows, 0.0, seed=1, spread=False) is rows
    with pytest.raises(ValueError, match="no blocked rows"):
        T.rebalance([r for r in rows if r.target.status != "blocked"], 0.3, 1, False)


@pytest.mark.parametrize("share", [0.25, 0.0])
def test_spread_puts_the_same_share_of_refusals_in_every_batch(share: float) -> None:
    rows = make_examples(40)  # 10 refusals: 25% with or without rebalancing
    out = T.rebalance(rows, share, seed=3, spread=True)
    assert len(out) == 40
    assert len(out) == 40 and len({r.id for r in out}) == 40  # 10 refusals: none repeated
    blocked = [r.target.status == "blocked" for r in out]
    assert [sum(blocked[i : i + 4]) for i in range(0, 40, 4)] == [1] * 10  # batch 4: one each
    shuffled = T.rebalance(rows, share or 0.25, seed=3, spread=False)
    assert [
        sum(r.target.status == "blocked" for r in shuffled[i : i + 4]) for i in range(0, 40, 4)
    ] != [1] * 10


def test_interleave_keeps_every_row_in_order() -> None:
    rows = make_examples(11)
    few, many = rows[:3], rows[3:][::-1]
    ids = [r.id for r in T.interleave(few, many)]
    assert [i for i in ids if i in {r.id for r in few}] == [r.id for r in few]
    assert [i for i in ids if i in {r.id for r in many}] == [r.id for r in many]
    assert T.interleave([], many) == many and T.interleave(few, []) == few


def test_probe_set_is_half_refusals() -> None:
    rows = make_examples(40)  # 10 refusals
    got = R.probe_set(rows, 8, seed=0)
    assert len(got) == 8 and sum(r.target.status == "blocked" for r in got) == 4
    few = R.probe_set(rows, 30, seed=0)  # only 10 refusals exist: the rest are safe rows
    assert len(few) == 30 and sum(r.target.status == "blocked" for r in few) == 10


def test_block_margins_match_an_unpadded_forward(tiny: tuple[Path, Path]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny[0])
    model = AutoModelForCausalLM.from_pretrained(tiny[0]).eval()
    prompts = load_prompts()
    reqs = [e.request for e in make_examples(5)]
    # Descriptions of different lengths: batching pads, and padding must not change a margin.
    reqs[1] = Request(description="a much longer description " * 6, n=1)
    batched = R.block_margins(model, tok, reqs, prompts, batch_size=4)
    prompt = tok.apply_chat_template(
        render_messages(reqs[1], prompts), add_generation_prompt=True, tokenize=False
    )
    shared, blk, suc = R.decision_ids(tok, prompt)
    ids = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"] + shared])
    with torch.inference_mode():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), -1)
    assert batched[1] == pytest.approx(float(logp[blk] - logp[suc]), abs=1e-4)
    single = R.block_margins(model, tok, reqs, prompts, batch_size=1)
    assert batched == pytest.approx(single, abs=1e-4)
    assert tok.decode([blk]) != tok.decode([suc])


def test_refusal_metrics_counts() -> None:
    m = R.refusal_metrics([1.0, -2.0, 0.5, -1.0, 3.0], [True, True, False, False, False])
    assert m["block_recall"] == 0.5 and m["false_block_rate"] == pytest.approx(0.6667, abs=1e-4)
    assert m["unsafe_rows"] == 2 and m["mean_margin_unsafe"] == -0.5


@pytest.mark.parametrize("spread", [True, False])
def test_trainer_batches_follow_the_spread_order(
    tmp_path: Path, tiny: tuple[Path, Path], spread: bool
) -> None:
    """TRL's dataloader must keep rebalance's order: one refusal in every batch of 4."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rp = run_params(params(blocked_share=0.25, spread_refusals=spread), "baseline")
    tok = AutoTokenizer.from_pretrained(tiny[0])
    rows = T.rebalance(make_examples(32), 0.25, seed=5, spread=spread)
    ds, _ = T.build_dataset(rows, tok, load_prompts(), max_len=1024)
    model = AutoModelForCausalLM.from_pretrained(tiny[0])
    trainer = T.make_trainer(model, tok, ds, None, rp, tmp_path, "fp32", [])
    per_batch = []
    for batch in trainer.get_train_dataloader():
        # padding-free: one packed row per batch; each refusal answer is "blocked<|im_end|>"
        answers = "".join(tok.decode(ids[ids != -100]) for ids in batch["labels"])
        per_batch.append(answers.count("blocked<|im_end|>"))
    assert len(per_batch) == 8 and sum(per_batch) == 8
    assert (per_batch == [1] * 8) is spread  # random batches: some get none, some two


def test_continue_an_iterations_adapter(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    """``init: baseline`` starts from baseline's trained adapter, trains it, leaves the base."""
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    first = run(tmp_path / "a", tiny, params(max_steps=4, eval_steps=4))
    assert first["init"] == "base"
    saved = load_file(tmp_path / "a/out" / T.ADAPTER)
    lora_b = sorted(k for k in saved if "lora_B" in k)
    p = params(max_steps=4, eval_steps=4)
    p["iterations"]["improved"] = {"data": "v1", "init": "baseline"}

    class Start(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kw):
            self.b = {n: t.detach().clone() for n, t in model.named_parameters() if "lora_B" in n}

    start = Start()
    base, data = tiny
    rp = run_params(p, "improved")
    out = tmp_path / "b"
    res = train_stage.train(
        rp,
        base,
        data,
        out / "out",
        out / "m.json",
        out / "live",
        out / "ck",
        [start],
        init=tmp_path / "a/out",
    )
    # The run began from baseline's (non-zero) lora_B, not a fresh zero one, and moved on.
    began = sorted(start.b.values(), key=lambda t: t.numel())
    assert len(began) == len(lora_b) and all(t.abs().sum() > 0 for t in began)
    assert sorted(float(t.abs().sum()) for t in began) == pytest.approx(
        sorted(float(saved[k].abs().sum()) for k in lora_b), rel=1e-5
    )
    after = load_file(out / "out" / T.ADAPTER)
    assert any(not torch.equal(after[k], saved[k]) for k in lora_b)
    cfg = read_json(out / "out/run_config.json")
    assert res["init"] == "baseline" and cfg["init"]["adapter_sha256"]
    # A LoRA shape other than the adapter's is refused in one line.
    p["lora"]["r"] = 2
    with pytest.raises(UserError, match=r"r=4 but this iteration's lora asks for 2"):
        train_stage.train(
            run_params(p, "improved"),
            base,
            data,
            out / "o2",
            out / "m2.json",
            out / "l2",
            out / "c2",
            init=tmp_path / "a/out",
        )
