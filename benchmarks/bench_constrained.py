"""Constrained vs free generation: `python benchmarks/bench_constrained.py [--model DIR]`.

Same process, same model, same 8 requests, batched with left padding: unconstrained, with the
contract regex mask + duplicate ban (outlines_core), and with the mask but no ban (all record
token log-probs for confidence). Prints seconds per generated token for each, the ratio
constrained/free (the overhead of constrained decoding), the regex compile time, and the share
of answers that were valid (parseable, every constraint met, n distinct) in each mode.
Without --model it uses models/base when present; `--model tiny` uses the random model.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from domainllm.contract import Request
from domainllm.engine import Engine, EngineSettings
from domainllm.guard import Guard
from domainllm.loading import load_model

DESCRIPTIONS = [
    "organic coffee shop in downtown Portland",
    "mobile app that helps dog owners find walkers",
    "family-run sourdough bakery",
    "boutique yoga studio by the beach",
    "consulting firm helping small farms sell online",
    "bike repair and rental in Amsterdam",
    "children's science tutoring centre",
    "vintage vinyl record store",
]


def run(engine: Engine, reqs: list[Request], repeats: int) -> dict[str, float]:
    """Seconds per generated token over ``repeats`` batched runs, and the valid-answer rate."""
    tokens = 0
    valid = 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        answers = engine._generate(reqs, sample=False, long=False)
        tokens += sum(len(a.raw) and max(1, len(engine.tok(a.raw)["input_ids"])) for a in answers)
        valid += sum(a.status != "invalid" and not a.problems for a in answers)
    wall = time.perf_counter() - t0
    return {
        "s_per_token": wall / max(1, tokens),
        "tokens": tokens,
        "wall_s": round(wall, 2),
        "valid_rate": valid / (len(reqs) * repeats),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model folder, or 'tiny' for the random model")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    model = a.model or (Path("models/base") if Path("models/base/config.json").is_file() else None)
    if model is None or str(model) == "tiny":
        from domainllm.tiny import make_tiny_model

        model = make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    loaded = load_model(model)
    reqs = [Request(description=d, tlds=".com,.io", n=5) for d in DESCRIPTIONS]
    common = {"threads": a.threads, "max_new_tokens": 128, "retries": 0}
    free = Engine(loaded, Guard(None, None), EngineSettings(constrained=False, **common))
    cons = Engine(loaded, Guard(None, None), EngineSettings(constrained=True, **common))
    noban = Engine(loaded, Guard(None, None), EngineSettings(ban_duplicates=False, **common))
    t0 = time.perf_counter()
    for r in reqs:
        cons.compiler.index(r)
    compile_s = time.perf_counter() - t0
    run(cons, reqs[:2], 1)  # warm-up (first-call allocations) for both paths
    f = run(free, reqs, a.repeats)
    c = run(cons, reqs, a.repeats)
    nb = run(noban, reqs, a.repeats)
    print(
        json.dumps(
            {
                "model": str(model),
                "batch": len(reqs),
                "compile_s": round(compile_s, 2),
                "free": f,
                "constrained": c,
                "constrained_no_duplicate_ban": nb,
                "overhead_ratio": round(c["s_per_token"] / f["s_per_token"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
