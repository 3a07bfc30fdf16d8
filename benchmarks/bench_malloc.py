"""Malloc tuning for CPU training: `python benchmarks/bench_malloc.py [--model DIR|tiny]`.

Runs the same LoRA training steps (batch 4 x 220 random tokens, AdamW) in two fresh processes:
glibc's default malloc (``DOMAINLLM_MALLOC=default``) and with ``runtime.keep_freed_memory``,
which every stage applies. Prints the steady-state seconds per step (first step dropped), the
kernel (sys) CPU time of each process and the ratio default / tuned. Without ``--model`` it
uses models/base when present, else the tiny random model (measures the code path only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = "--child"


def child(model: str, steps: int) -> None:
    """Time ``steps`` training steps in this process; print one JSON line."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from domainllm.runtime import keep_freed_memory

    tuned = keep_freed_memory()
    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.bfloat16)
    cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    m = get_peft_model(m, cfg)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
    x = torch.randint(0, min(1000, m.config.vocab_size), (4, 220))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        m(input_ids=x, labels=x).loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    t = os.times()
    print(json.dumps({"tuned": tuned, "steps": times, "user": t.user, "sys": t.system}))


def run(model: str, steps: int, default: bool) -> dict:
    env = {**os.environ, "DOMAINLLM_MALLOC": "default" if default else "tuned"}
    out = subprocess.run(
        [sys.executable, __file__, CHILD, model, str(steps)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args()
    model = args.model or (Path("models/base") if Path("models/base").is_dir() else None)
    if model is None or str(model) == "tiny":
        from domainllm.tiny import make_tiny_model

        model = make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    res = {}
    for name, default in [("default", True), ("tuned", False), ("default again", True)]:
        r = run(str(model), args.steps, default)
        step = sum(r["steps"][1:]) / max(1, len(r["steps"]) - 1)
        res[name] = step
        print(f"{name:>13}: {step:6.2f} s/step  sys {r['sys']:6.1f} s  user {r['user']:6.1f} s")
    base = (res["default"] + res["default again"]) / 2
    print(f"model {model}: default / tuned = {base / res['tuned']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
