"""Training throughput: `python benchmarks/bench_train.py [--base models/base] [--steps 6]`.

Same process, same base model, same v1 training rows, same LoRA shape, the same number of
optimizer steps for each configuration:

- ``plain_trl``: TRL's SFTTrainer as it comes (its own loss: the LM head scores every position;
  padded batches; LoRA on every layer);
- ``answer_head``: this project's trainer (the LM head projects only the answer tokens);
- ``answer_head_layers``: the same, LoRA on the last ``--layers`` decoder layers only (backward
  stops there);
- ``ours``: the same, padding-free (each batch packed into one row): what params.yaml trains
  with.

Prints, per configuration, seconds per step, rows/s and tokens/s, then as its last line JSON
with the speed-up of each over ``plain_trl`` (a ratio within this one run). Also prints the
mean tokens per training row, which the compact answer format and the short system prompt set.
Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from domainllm import training as T
from domainllm.io import read_json, read_jsonl
from domainllm.prompting import load_prompts
from domainllm.schema import Example
from domainllm.train_config import LoraParams, RunParams, TrainParams


def run_config(name: str, base: Path, rows: list[Example], steps: int, layers: int) -> dict:
    """Train ``steps`` steps in one configuration; seconds per step after a warm-up step."""
    from transformers import AutoTokenizer, TrainerCallback, set_seed
    from trl import SFTTrainer

    tok = AutoTokenizer.from_pretrained(base)
    ds, stats = T.build_dataset(rows, tok, load_prompts(), 512)
    train = TrainParams(
        max_steps=steps, batch_size=4, eval_steps=steps, eval_rows=0, patience=0,
        warmup_ratio=0.0, logging_steps=1, probe_rows=0, decision_weight=1.0,
        padding_free=name == "ours",
    )  # fmt: skip
    lora = LoraParams(layers=layers if name in ("answer_head_layers", "ours") else 0)
    run = RunParams(iteration="bench", data="v1", init="base", train=train, lora=lora)
    set_seed(0)
    dtype = T.pick_dtype("auto")
    model = T.load_base(base, train, dtype)
    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    with tempfile.TemporaryDirectory() as tmp:
        if name == "plain_trl":
            trainer = SFTTrainer(
                model=model,
                args=T.sft_config(train, Path(tmp), dtype, False),
                train_dataset=ds,
                processing_class=tok,
                peft_config=T.lora_config(lora, model.config.num_hidden_layers),
                callbacks=[Timer()],
            )
        else:
            trainer = T.make_trainer(model, tok, ds, None, run, Path(tmp), dtype, [Timer()])
        trainer.train()
    per_step = sum(times[1:]) / max(1, len(times) - 1)  # the first step warms up
    tokens_per_row = stats["tokens"] / max(1, stats["rows"])
    return {
        "s_per_step": round(per_step, 2),
        "rows_per_s": round(4 / per_step, 3),
        "tokens_per_s": round(4 * tokens_per_row / per_step, 1),
        "tokens_per_row": round(tokens_per_row, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, default=Path("models/base"))
    ap.add_argument("--data", type=Path, default=Path("data/synth/v1"))
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--layers", type=int, default=0, help="default: lora.layers of params.yaml")
    a = ap.parse_args()
    if not (a.base / "base_info.json").is_file() or not (a.data / "train.jsonl").is_file():
        raise SystemExit(f"{a.base} or {a.data}: run `dvc repro base@base synth@v1` first")
    from domainllm.train_config import load_run_params

    layers = a.layers or load_run_params("baseline").lora.layers or 8
    rows = [Example.model_validate(r) for r in read_jsonl(a.data / "train.jsonl")][: 4 * a.steps]
    out = {}
    for name in ("plain_trl", "answer_head", "answer_head_layers", "ours"):
        out[name] = run_config(name, a.base, rows, a.steps, layers)
        print(name, out[name], flush=True)
    ref = out["plain_trl"]["s_per_step"]
    print(
        json.dumps(
            {
                "base": read_json(a.base / "base_info.json").get("name"),
                "steps": a.steps,
                "layers": layers,
                "tokens_per_row": out["plain_trl"]["tokens_per_row"],
                **{f"speedup_{k}": round(ref / v["s_per_step"], 2) for k, v in out.items()},
                **{f"{k}_s_per_step": v["s_per_step"] for k, v in out.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
