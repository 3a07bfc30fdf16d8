"""python stages/suites.py --out data/suites

Build the held-out evaluation suites (params.yaml `suites`; `synth.seed` and `synth.splits`
decide the test hash bucket): data/suites/{edge,redteam}.jsonl, the same for every iteration.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from domainllm.io import write_jsonl
from domainllm.params import load_yaml, run_stage, validate_section
from domainllm.synth.builder import to_row
from domainllm.synth.config import SuitesParams, SynthParams
from domainllm.synth.suites import build_suites, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--params", default="params.yaml")
    a = ap.parse_args()
    raw = load_yaml(a.params)
    params = validate_section(raw.get("suites"), "suites", SuitesParams)
    synth = validate_section(raw.get("synth"), "synth", SynthParams)
    suites = build_suites(params, synth.seed, synth.splits)
    for name, rows in suites.items():
        write_jsonl(a.out / f"{name}.jsonl", (to_row(e) for e in rows))
    print(f"suites: {summary(suites)} -> {a.out}")


if __name__ == "__main__":
    run_stage(main)
