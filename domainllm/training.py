"""Pure pieces of LoRA/QLoRA fine-tuning: the SFT dataset, dtype and quantization choice, the
peft config, the run config and its hash, and a resumable trainer.

The training text is the model's chat template applied to ``render_messages(request)`` (the same
prompt the engine uses) with ``render_answer(target)`` (the compact answer) as the assistant
turn. Only the answer tokens carry loss: ``completion_mask`` marks them and TRL's collator sets
the rest to -100.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from domainllm.hints import Hint
from domainllm.io import sha256_file, sha256_text
from domainllm.params import UserError
from domainllm.prompting import PromptSet, render_answer, render_messages
from domainllm.refusal import OPENINGS, first_difference
from domainllm.schema import Example
from domainllm.train_config import LoraParams, RunParams, TrainParams

ADAPTER = "adapter_model.safetensors"


def encode_example(ex: Example, tok: Any, prompts: PromptSet, max_len: int) -> dict[str, list]:
    """Token ids of prompt + answer and a mask that is 1 on the answer (and its end token)."""
    messages = render_messages(ex.request, prompts, Hint.from_dict(ex.hint))
    answer = {"role": "assistant", "content": render_answer(ex.target)}
    prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tok.apply_chat_template([*messages, answer], tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("chat template does not extend the generation prompt with the answer")
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tok(full[len(prompt) :].rstrip("\n"), add_special_tokens=False)["input_ids"]
    ids = (p_ids + c_ids)[:max_len]
    mask = ([0] * len(p_ids) + [1] * len(c_ids))[:max_len]
    return {"input_ids": ids, "completion_mask": mask}


def rebalance(examples: list[Example], share: float, seed: int, spread: bool) -> list[Example]:
    """The training rows in training order, with ``share`` of them refusals (0 = as they are).

    Refusals are repeated until they are ``share`` of the rows; every safe row stays (an epoch
    sees all of the data), so the set grows by the repeats. A split that already has ``share``
    refusals or more is left as it is. ``spread`` spaces the refusals evenly through the order
    (trained with a sequential sampler), so every batch holds the same share of them; otherwise
    the rows are shuffled.
    """
    import random

    if not share and not spread:
        return examples
    rng = random.Random(seed)
    blocked = [e for e in examples if e.target.status == "blocked"]
    safe = [e for e in examples if e.target.status != "blocked"]
    if share and not blocked:
        raise ValueError("train.blocked_share > 0 but the split has no blocked rows")
    k = max(len(blocked), round(share * len(safe) / (1 - share))) if share else len(blocked)
    picked = [blocked[i % len(blocked)] for i in range(k)]
    rng.shuffle(safe)
    if not spread:
        rows = picked + safe
        rng.shuffle(rows)
        return rows
    rng.shuffle(picked)  # repeats apart
    return interleave(picked, safe)


def interleave(few: list[Example], many: list[Example]) -> list[Example]:
    """``few`` spaced evenly among ``many``: row i is from ``few`` when i*k/n crosses an integer.

    With random batches a 4-row batch has no refusal one time in three and two the next; the
    status token's bias then swings from "block everything" to "block nothing" between steps
    instead of learning which requests to refuse.
    """
    n, k = len(few) + len(many), len(few)
    out, a, b = [], iter(few), iter(many)
    for i in range(n):
        out.append(next(a) if (i + 1) * k // n > i * k // n else next(b))
    return out


def build_dataset(
    examples: Iterable[Example], tok: Any, prompts: PromptSet, max_len: int
) -> tuple[Any, dict[str, int]]:
    """A tokenized ``datasets.Dataset`` and counts (rows, truncated, answer-less rows dropped)."""
    from datasets import Dataset

    rows, truncated, dropped = [], 0, 0
    for ex in examples:
        enc = encode_example(ex, tok, prompts, max_len=10**9)
        if len(enc["input_ids"]) > max_len:
            truncated += 1
            enc = {k: v[:max_len] for k, v in enc.items()}
        if sum(enc["completion_mask"]) == 0:  # prompt alone fills max_len: nothing to learn
            dropped += 1
            continue
        rows.append(enc)
    stats = {"rows": len(rows), "truncated": truncated, "dropped": dropped}
    stats["tokens"] = sum(len(r["input_ids"]) for r in rows)
    return Dataset.from_list(rows), stats


def pick_dtype(choice: str) -> str:
    """'bf16' when asked, or on 'auto' when the GPU or CPU supports it; else 'fp32'."""
    import torch

    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    # Without native bf16 (avx512_bf16 / amx) CPU bf16 matmuls are emulated and slower than fp32.
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "fp32"


def quantization_config(mode: str, compute_dtype: str) -> Any:
    """A bitsandbytes config for 4bit (nf4, QLoRA) or 8bit; None for 'none'."""
    if mode == "none":
        return None
    import torch
    from transformers import BitsAndBytesConfig

    dt = torch.bfloat16 if compute_dtype == "bf16" else torch.float32
    if mode == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dt,
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def load_base(model_dir: Path, train: TrainParams, dtype: str) -> Any:
    """The base model in the chosen dtype, quantized when asked, ready for a LoRA adapter."""
    import torch
    from transformers import AutoModelForCausalLM

    qc = quantization_config(train.quantization, dtype)
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch_dtype, quantization_config=qc
    )
    if qc is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model.config.use_cache = False
    return model


def lora_config(lora: LoraParams, n_layers: int) -> Any:
    """The peft LoraConfig for a causal LM with ``n_layers`` decoder layers."""
    from peft import LoraConfig

    last = min(lora.layers, n_layers) if lora.layers else n_layers
    return LoraConfig(
        layers_to_transform=list(range(n_layers - last, n_layers)) if lora.layers else None,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )


def run_config(
    run: RunParams, base_dir: str, base_info: dict, data_hash: str, prompt: str, init: dict
) -> dict:
    """Every input that defines the run (written to run_config.json and hashed for resume)."""
    return {
        "iteration": run.iteration,
        "init": init,
        "base_model_dir": base_dir,
        "base_model": {"name": base_info.get("name"), "sha256": base_info.get("sha256")},
        "data_version": run.data,
        "data_hash": data_hash,
        "prompt_hash": prompt,
        "train": run.train.model_dump(),
        "lora": run.lora.model_dump(),
    }


def config_hash(cfg: dict) -> str:
    """Short hash of a run config (checkpoints are only resumed under the same hash)."""
    return sha256_text(json.dumps(cfg, sort_keys=True))[:16]


def resume_checkpoint(ckpt_dir: Path, cfg_hash: str) -> str | None:
    """The newest unfinished checkpoint in ``ckpt_dir`` written under ``cfg_hash``; else None.

    A checkpoint at ``max_steps`` is not resumed: the trainer would run one step past it.
    """
    marker = ckpt_dir / "run_config.hash"
    if not marker.is_file() or marker.read_text().strip() != cfg_hash:
        return None
    ckpts = [p for p in ckpt_dir.glob("checkpoint-*") if _unfinished(p / "trainer_state.json")]
    if not ckpts:
        return None
    return str(max(ckpts, key=lambda p: int(p.name.split("-")[1])))


def _unfinished(state_file: Path) -> bool:
    if not state_file.is_file():
        return False
    state = json.loads(state_file.read_text())
    return not 0 < state.get("max_steps", 0) <= state.get("global_step", 0)


def sft_config(train: TrainParams, out_dir: Path, dtype: str, has_eval: bool) -> Any:
    """TRL SFTConfig from the train params (checkpoint every eval; keep the best)."""
    import torch
    from trl import SFTConfig

    strategy = "steps" if has_eval else "no"
    return SFTConfig(
        output_dir=str(out_dir),
        learning_rate=train.learning_rate,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps or -1,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.batch_size,
        gradient_accumulation_steps=train.grad_accum,
        # build_dataset truncates to max_seq_length; TRL refuses max_length with padding_free
        max_length=None if train.padding_free else train.max_seq_length,
        warmup_steps=train.warmup_ratio,
        weight_decay=train.weight_decay,
        lr_scheduler_type="cosine",
        seed=train.seed,
        data_seed=train.seed,
        # rebalance() already ordered the rows (refusals spread evenly); keep that order.
        train_sampling_strategy="sequential" if train.spread_refusals else "random",
        bf16=dtype == "bf16",
        use_cpu=not torch.cuda.is_available(),
        eval_strategy=strategy,
        eval_steps=train.eval_steps,
        save_strategy="steps",
        save_steps=train.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=train.logging_steps,
        completion_only_loss=True,
        packing=False,
        # one packed row per batch, rows kept apart by position_ids: no compute on padding
        padding_free=train.padding_free,
        report_to="none",
        disable_tqdm=False,
        dataloader_num_workers=0,
        save_only_model=False,
        gradient_checkpointing=train.gradient_checkpointing,
    )


class Throughput:
    """Counts trained tokens so metrics can report tokens per second."""

    def __init__(self) -> None:
        self.tokens = 0
        self.start = time.perf_counter()

    def rate(self) -> float:
        return self.tokens / max(time.perf_counter() - self.start, 1e-9)


def decision_offset(tok: Any) -> int:
    """Index, among the answer tokens, of the token where blocked and success answers part."""
    a, b = (tok(o, add_special_tokens=False)["input_ids"] for o in OPENINGS)
    return first_difference(a, b)


def _decision_trainer(base: Any) -> Any:
    """``base`` (SFTTrainer) whose training loss projects only the answer tokens through the LM
    head, plus ``decision_weight`` x the mean NLL of the status token.

    Answer-only head: the prompt is ~85% of a row's tokens and its logits carry no loss, but
    TRL's fused head scores every position on CPU (it compacts only on Triton devices); with a
    151k-token vocabulary the head is a quarter of the forward compute and more of the backward.
    Decision weight: the refusal decision is the answer's first token; under the plain
    token-mean loss a short run learns its base rate, not when to refuse. The extra term makes
    every row's decision count as much as its whole answer. Eval loss stays TRL's plain SFT loss.
    """
    import torch
    import torch.nn.functional as F

    class DecisionWeighted(base):
        def __init__(self, *a: Any, offset: int, weight: float, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.decision = (offset, weight)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not model.training or "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            offset, weight = self.decision
            lm = model.get_base_model() if hasattr(model, "get_base_model") else model
            # padding-free batches come as one packed row with position_ids (rows restart at 0)
            packed = inputs.get("position_ids")
            hidden = lm.get_decoder()(
                input_ids=inputs["input_ids"],
                attention_mask=None if packed is not None else inputs.get("attention_mask"),
                position_ids=packed,
            ).last_hidden_state[:, :-1]
            labels = inputs["labels"][:, 1:]
            mask = labels != -100
            logits = lm.get_output_embeddings()(hidden[mask]).float()
            nll = F.cross_entropy(logits, labels[mask], reduction="none")
            denom = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
            loss = nll.sum() / denom
            # tokens/s and TRL's num_tokens log count every token read, as TRL does
            read = inputs["input_ids"] if packed is not None else inputs["attention_mask"]
            self._total_train_tokens += int(read.numel() if packed is not None else read.sum())
            self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
            if weight:
                # the status token: each answer's first position + offset, in nll's order (an
                # answer is a run of labelled positions; rows, packed or not, start with a prompt)
                flat = mask.flatten()
                starts = flat & ~torch.cat([flat.new_zeros(1), flat[:-1]])
                idx = (torch.cumsum(flat.long(), 0) - 1)[starts] + offset
                extra = nll[idx[idx < len(nll)]].mean() if len(idx) else nll.sum() * 0
                # Trainer does not divide a loss normalised by num_items_in_batch by the
                # accumulation steps; this per-micro-batch mean must be.
                if num_items_in_batch is not None:
                    extra = extra / self.args.gradient_accumulation_steps
                loss = loss + weight * extra
            return (loss, None) if return_outputs else loss

    return DecisionWeighted


def init_adapter(init_dir: Path, base_dir: Path, lora: LoraParams) -> dict[str, Any]:
    """Where a run starts: ``{"from": "base"}`` or the adapter it continues, with its checksum.

    A continued adapter keeps its own LoRA shape, so ``lora`` must match it.
    """
    if init_dir.resolve() == base_dir.resolve():
        return {"from": "base"}
    cfg_path = init_dir / "adapter_config.json"
    if not cfg_path.is_file():
        raise UserError(f"--init {init_dir}: no LoRA adapter there (train that iteration first)")
    cfg = json.loads(cfg_path.read_text())
    for key, mine in (("r", lora.r), ("lora_alpha", lora.alpha)):
        if cfg.get(key) != mine:
            raise UserError(
                f"--init {init_dir}: its adapter has {key}={cfg.get(key)} but this iteration's "
                f"lora asks for {mine}; give both iterations the same lora params"
            )
    return {"from": str(init_dir), "adapter_sha256": sha256_file(init_dir / ADAPTER)}


def make_trainer(
    model: Any,
    tok: Any,
    train_ds: Any,
    eval_ds: Any | None,
    run: RunParams,
    ckpt_dir: Path,
    dtype: str,
    callbacks: list[Any],
    init: Path | None = None,
) -> Any:
    """An SFTTrainer with a fresh LoRA adapter (or the one in ``init``, trained further), early
    stopping and the given callbacks."""
    from transformers import EarlyStoppingCallback
    from trl import SFTTrainer

    peft_config = lora_config(run.lora, model.config.num_hidden_layers)
    if init is not None:
        from peft import PeftModel

        model, peft_config = PeftModel.from_pretrained(model, init, is_trainable=True), None

    cbs = list(callbacks)
    if eval_ds is not None and run.train.patience:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=run.train.patience))
    return _decision_trainer(SFTTrainer)(
        offset=decision_offset(tok),
        weight=run.train.decision_weight,
        model=model,
        args=sft_config(run.train, ckpt_dir, dtype, eval_ds is not None),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tok,
        peft_config=peft_config,
        callbacks=cbs,
    )


def trainable_params(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
