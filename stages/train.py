"""python stages/train.py --iteration baseline --base models/base --init models/base \
    --data data/synth/v1 --out models/baseline --metrics metrics/train/baseline.json \
    --live dvclive/train/baseline --checkpoints cache/train/baseline

LoRA (or QLoRA with ``train.quantization``) fine-tuning of the base model on one synth data
version with TRL's SFTTrainer; the loss covers the answer tokens only. ``--init`` is the base
folder (a fresh adapter) or another iteration's adapter, trained further
(``iterations.<it>.init``). Checkpoints go to ``--checkpoints`` (outside DVC outputs): a
killed run resumes from its last checkpoint when the run config is unchanged. Multi-GPU:
``accelerate launch stages/train.py <same args>``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from domainllm import refusal as R
from domainllm import training as T
from domainllm.hints import Hint
from domainllm.io import (
    atomic_write_text,
    read_json,
    read_jsonl,
    sha256_file,
    sha256_text,
    write_json,
)
from domainllm.params import UserError, run_stage
from domainllm.prompting import load_prompts
from domainllm.schema import Example
from domainllm.train_config import RunParams, load_run_params


def load_split(data_dir: Path, split: str) -> list[Example]:
    path = data_dir / f"{split}.jsonl"
    if not path.is_file():
        raise UserError(f"{path}: not found (run the synth stage first)")
    return [Example.model_validate(r) for r in read_jsonl(path)]


def sample(rows: list, n: int, seed: int) -> list:
    """``n`` rows drawn with a fixed seed (all rows when n is 0 or larger than the split)."""
    return rows if not n or n >= len(rows) else random.Random(seed).sample(rows, n)


def _throughput_callback() -> Any:
    from transformers import TrainerCallback

    class Throughput(TrainerCallback):
        """Adds tokens/s (since this process started training) to each training log."""

        def on_train_begin(self, args, state, control, **kw):
            self.t0, self.tok0 = time.perf_counter(), None

        def on_log(self, args, state, control, logs=None, **kw):
            if logs is not None and "num_tokens" in logs:
                self.tok0 = logs["num_tokens"] if self.tok0 is None else self.tok0
                dt = max(time.perf_counter() - self.t0, 1e-9)
                logs["tokens_per_s"] = round((logs["num_tokens"] - self.tok0) / dt, 1)
                self.rate = logs["tokens_per_s"]

    return Throughput()


def train(
    run: RunParams,
    base: Path,
    data: Path,
    out: Path,
    metrics: Path,
    live_dir: Path,
    ckpt_dir: Path,
    extra_callbacks: list[Any] = (),
    init: Path | None = None,
) -> dict[str, Any]:
    """Train one iteration (a fresh adapter, or the adapter in ``init`` further) and write the
    adapter folder and metrics; return the metrics."""
    import torch
    from transformers import AutoTokenizer, set_seed
    from transformers.integrations import DVCLiveCallback

    from dvclive import Live

    t0 = time.perf_counter()
    if run.train.threads:
        torch.set_num_threads(run.train.threads)
    base_info = read_json(base / "base_info.json")
    prompts = load_prompts()
    data_hash = sha256_text(sha256_file(data / "train.jsonl") + sha256_file(data / "val.jsonl"))
    start = T.init_adapter(init or base, base, run.lora)
    if (start["from"] == "base") != (run.init == "base"):
        raise UserError(f"--init {init}: iterations.{run.iteration}.init is '{run.init}'")
    cfg = T.run_config(run, str(base), base_info, data_hash[:16], prompts.hash, start)
    cfg_hash = T.config_hash(cfg)

    tok = AutoTokenizer.from_pretrained(base)
    train_rows = sample(load_split(data, "train"), run.train.train_rows, run.train.seed)
    train_rows = T.rebalance(
        train_rows, run.train.blocked_share, run.train.seed, run.train.spread_refusals
    )
    val_all = load_split(data, "val")
    val_rows = sample(val_all, run.train.eval_rows, run.train.seed)
    train_ds, train_stats = T.build_dataset(train_rows, tok, prompts, run.train.max_seq_length)
    eval_ds = T.build_dataset(val_rows, tok, prompts, run.train.max_seq_length)[0]
    eval_ds = eval_ds if len(eval_ds) else None

    resume = T.resume_checkpoint(ckpt_dir, cfg_hash)
    if resume is None and ckpt_dir.exists():  # another config's checkpoints: never mix them
        shutil.rmtree(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ckpt_dir / "run_config.hash", cfg_hash)
    print(f"{run.iteration}: {train_stats} ; resume from {resume or 'scratch'}", flush=True)

    set_seed(run.train.seed)
    dtype = T.pick_dtype(run.train.dtype)
    model = T.load_base(base, run.train, dtype)
    live = Live(str(live_dir), dvcyaml=False, resume=resume is not None, save_dvc_exp=False)
    thr = _throughput_callback()
    callbacks = [thr, DVCLiveCallback(live=live), *extra_callbacks]
    adapter = init if start["from"] != "base" else None
    trainer = T.make_trainer(
        model, tok, train_ds, eval_ds, run, ckpt_dir, dtype, callbacks, init=adapter
    )
    trainer.train(resume_from_checkpoint=resume)
    if not trainer.is_world_process_zero():  # under `accelerate launch` rank 0 writes outputs
        return {}

    # The best checkpoint is loaded (load_best_model_at_end); save its adapter atomically.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        trainer.model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        write_json(tmp / "run_config.json", {**cfg, "dtype": dtype, "config_hash": cfg_hash})
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    refusal = probe_refusal(trainer.model, tok, val_all, run, prompts)
    st = trainer.state
    losses = [h["loss"] for h in st.log_history if "loss" in h]
    n_train, n_total = T.trainable_params(trainer.model)
    result = {
        "iteration": run.iteration,
        "base_model": cfg["base_model"],
        "data_version": run.data,
        "data_hash": cfg["data_hash"],
        "init": run.init,
        "prompt_hash": prompts.hash,
        "train_loss_first": losses[0] if losses else None,
        "train_loss_final": losses[-1] if losses else None,
        "eval_loss_best": st.best_metric,
        "best_checkpoint_step": _step(st.best_model_checkpoint),
        "steps": st.global_step,
        "max_steps": st.max_steps,
        "stopped_early": st.global_step < st.max_steps,
        "resumed_from_step": _step(resume),
        "tokens_per_s": getattr(thr, "rate", None),
        "wall_s": round(time.perf_counter() - t0, 1),
        "trainable_params": n_train,
        "total_params": n_total,
        "dtype": dtype,
        "quantization": run.train.quantization,
        "train_rows": train_stats["rows"],
        "truncated_rows": train_stats["truncated"],
        "dropped_rows": train_stats["dropped"],
        "eval_rows": len(eval_ds) if eval_ds is not None else 0,
        "refusal": refusal,
    }
    write_json(metrics, result)
    # Checkpoints only serve a killed run; a finished one must not be resumed by a forced rerun.
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return result


def probe_refusal(
    model: Any, tok: Any, val: list[Example], run: RunParams, prompts: Any
) -> dict[str, Any] | None:
    """Does the trained model refuse unsafe val requests on its own? (None when probe_rows=0)."""
    if not run.train.probe_rows:
        return None
    rows = R.probe_set(val, run.train.probe_rows, run.train.seed)
    model.eval()
    hints = [Hint.from_dict(r.hint) for r in rows]
    margins = R.block_margins(
        model, tok, [r.request for r in rows], prompts, run.train.batch_size, hints
    )
    return R.refusal_metrics(margins, [r.target.status == "blocked" for r in rows])


def _step(ckpt: str | None) -> int | None:
    return int(Path(ckpt).name.split("-")[1]) if ckpt else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iteration", required=True)
    ap.add_argument("--base", required=True, type=Path)
    ap.add_argument(
        "--init", type=Path, help="adapter folder to train further (default: a fresh adapter)"
    )
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--metrics", required=True, type=Path)
    ap.add_argument("--live", required=True, type=Path)
    ap.add_argument("--checkpoints", required=True, type=Path)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    run = load_run_params(args.iteration, args.params)
    if not (args.base / "base_info.json").is_file():
        raise UserError(f"{args.base}/base_info.json: not found (run `dvc repro base` first)")
    res = train(
        run,
        args.base,
        args.data,
        args.out,
        args.metrics,
        args.live,
        args.checkpoints,
        (),
        args.init,
    )
    print(
        f"{run.iteration}: {res['steps']} steps, loss {res['train_loss_first']} -> "
        f"{res['train_loss_final']}, best eval {res['eval_loss_best']}, {res['wall_s']} s"
    )


if __name__ == "__main__":
    run_stage(main)
