"""Load a model folder for inference: a plain base folder, or an iteration folder (a peft
adapter plus ``run_config.json`` naming its base), whose LoRA is merged into the weights."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domainllm.params import UserError


@dataclass
class Loaded:
    """A ready-to-generate model, its tokenizer (left padding) and where they came from."""

    model: Any
    tokenizer: Any
    info: dict[str, Any]


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 (avx512_bf16 or AMX): bf16 is then 2-4x faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_dtype(name: str) -> Any:
    """'auto' -> bf16 where the hardware supports it, else fp32; or 'bf16' / 'fp32'."""
    import torch

    if name == "auto":
        return torch.bfloat16 if cpu_has_bf16() or torch.cuda.is_available() else torch.float32
    return {"bf16": torch.bfloat16, "fp32": torch.float32}[name]


def resolve_base(model_dir: Path, base: str) -> Path:
    """``base_model_dir`` is repo-relative (models/base); also try relative to the iteration."""
    p = Path(base)
    for cand in (p, model_dir / p, model_dir.parent.parent / p, model_dir.parent / p.name):
        if (cand / "config.json").is_file():
            return cand
    raise UserError(f"{model_dir}/run_config.json: base_model_dir '{base}' has no config.json")


# bitsandbytes' CPU backend logs "Failed to load CPU gemm_4bit_forward from kernels-community"
# when it is imported on a CPU with avx512_bf16 and the optional `kernels` package is missing.
# peft and sentence-transformers import bitsandbytes whenever it is installed (training needs it
# for QLoRA), yet inference never runs a 4-bit kernel: there the notice is noise. That logger
# logs nothing else, so raising its level hides this notice and only it.
BNB_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"
# transformers 5 deprecated a method peft still calls while attaching an adapter; harmless.
PEFT_FUTURE_WARNING = r"`is_gradient_checkpointing` is deprecated"


def silence_4bit_kernel_notice() -> None:
    """Hide bitsandbytes' 4-bit kernel notice (call before anything imports bitsandbytes)."""
    logging.getLogger(BNB_CPU_LOGGER).setLevel(logging.ERROR)


@contextmanager
def quiet_inference_load() -> Iterator[None]:
    """Silence the known, harmless messages of loading weights for inference, and only those:
    the 4-bit kernel notice, peft's deprecated-call FutureWarning and the weight-loading
    progress bar (a CLI answer is then the only output)."""
    from transformers.utils import logging as hf_logging

    silence_4bit_kernel_notice()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=PEFT_FUTURE_WARNING, category=FutureWarning)
            yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def load_model(model_dir: str | Path, dtype: str = "auto") -> Loaded:
    """Load ``model_dir`` (iteration folder or base folder) for inference, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    torch_dtype = pick_dtype(dtype)
    run_cfg_path = model_dir / "run_config.json"
    is_adapter = (model_dir / "adapter_config.json").is_file()
    if is_adapter:
        if not run_cfg_path.is_file():
            raise UserError(f"{model_dir}: adapter without run_config.json (retrain the iteration)")
        run_cfg = json.loads(run_cfg_path.read_text())
        base_dir = resolve_base(model_dir, run_cfg["base_model_dir"])
    elif (model_dir / "config.json").is_file():
        run_cfg, base_dir = {}, model_dir
    else:
        raise UserError(f"--model {model_dir}: no config.json or adapter_config.json found there")
    with quiet_inference_load():
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch_dtype)
        if is_adapter:
            from peft import PeftModel

            # Merged weights: no adapter indirection per step at inference.
            model = PeftModel.from_pretrained(model, model_dir).merge_and_unload()
    model.eval()
    tok_dir = model_dir if (model_dir / "tokenizer_config.json").is_file() else base_dir
    tok = AutoTokenizer.from_pretrained(tok_dir)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    base_info_path = base_dir / "base_info.json"
    base_info = json.loads(base_info_path.read_text()) if base_info_path.is_file() else {}
    info = {
        "model_dir": model_dir.as_posix(),
        "base_dir": base_dir.as_posix(),
        "base": base_info.get("name", base_dir.name),
        "adapter": model_dir.as_posix() if is_adapter else None,
        "data_version": run_cfg.get("data_version"),
        "dtype": str(torch_dtype).removeprefix("torch."),
    }
    return Loaded(model=model, tokenizer=tok, info=info)
