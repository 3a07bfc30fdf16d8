"""python stages/synth.py --version v1 --failures FILE|none --bank data/naming --out data/synth/v1

Build one synthetic dataset version (params.yaml `synth`): train/val/test JSONL + card.md.
With a bank, each row carries the naming hint its prompt shows (params `hints`,
domainllm/hints.py) and its target is built from the hint's words.
`--failures` is the discover failures JSON that v2 upweights (`none`: no failures known).
With `synth.teacher.backend: openai` an OpenAI-compatible teacher names the safe rows
(cached under `--teacher-cache`); its names replace the bank targets where they pass the checks.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from domainllm.hints import Hinter, HintSettings, hint_report
from domainllm.io import atomic_write_text, read_json, write_jsonl
from domainllm.params import ParamsError, UserError, load_section, run_stage
from domainllm.synth.bank import load_bank
from domainllm.synth.builder import to_row
from domainllm.synth.card import render_card
from domainllm.synth.config import SynthParams
from domainllm.synth.generate import build_version
from domainllm.synth.teacher import Teacher, TeacherParams, apply_teacher


def load_failures(arg: str) -> dict[str, Any] | None:
    """The failures JSON, ``None`` for 'none'; a missing or malformed file is a UserError."""
    if arg == "none":
        return None
    p = Path(arg)
    if not p.is_file():
        raise UserError(f"--failures {arg}: file not found (run discover first, or pass none)")
    data = read_json(p)
    for key in ("by_group", "by_template"):
        if not isinstance(data.get(key, {}), dict):
            raise UserError(f"--failures {arg}: '{key}' must be an object of counts")
    return data


def ask_teacher(built: Any, tp: TeacherParams, cache: Path, lexicon: Path) -> str:
    """Teacher names for every split's safe rows (in place); the card section saying so."""
    from domainllm.judge.features import load_lexicon

    teacher = Teacher(tp, cache)
    lex = load_lexicon(lexicon)
    lines = ["", "## Teacher", "", f"`{tp.model}` at `{tp.base_url}`, prompt "
             f"{teacher.prompt_hash} (prompts/teacher/):", ""]  # fmt: skip
    try:
        for split, rows in built.splits.items():
            built.splits[split], stats = apply_teacher(rows, teacher, lex)
            lines.append(f"- {split}: {stats.as_dict()}")
            print(f"teacher {split}: {stats.as_dict()}", flush=True)
    finally:
        teacher.close()
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    ap.add_argument("--version", required=True)
    ap.add_argument("--failures", required=True)
    ap.add_argument("--bank", type=Path, help="curated naming bank folder (data/naming)")
    ap.add_argument("--lexicon", type=Path, default=Path("prompts/judge/lexicon.yaml"))
    ap.add_argument("--teacher-cache", type=Path, default=Path("cache/teacher"))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--params", default="params.yaml")
    a = ap.parse_args()
    params = load_section("synth", SynthParams, a.params)
    if a.version not in params.versions:
        raise ParamsError(
            f"params.yaml: 'synth.versions' has no '{a.version}' (have {sorted(params.versions)})"
        )
    failures = load_failures(a.failures)
    t0 = time.perf_counter()
    bank = load_bank(a.bank, a.lexicon) if a.bank else None
    hinter = None
    hints = load_section("hints", HintSettings, a.params)
    if bank is not None and hints.enabled:
        from domainllm.judge.embed import default_embedder

        hinter = Hinter(bank, default_embedder(), hints)
    built = build_version(params, a.version, failures, bank, hinter)
    teacher_note = ""
    if params.teacher.backend != "none":
        teacher_note = ask_teacher(built, params.teacher, a.teacher_cache, a.lexicon)
    for split, rows in built.splits.items():
        write_jsonl(a.out / f"{split}.jsonl", (to_row(e) for e in rows))
    recipe = params.versions[a.version].model_dump(exclude={"failures"}, exclude_none=True)
    card = render_card(a.version, built, params.seed, recipe) + teacher_note
    if hinter is not None:
        card += hint_report([e for rows in built.splits.values() for e in rows], hints)
    atomic_write_text(a.out / "card.md", card)
    counts = {s: len(r) for s, r in built.splits.items()}
    print(f"synth {a.version}: {counts} in {time.perf_counter() - t0:.1f}s -> {a.out}")


if __name__ == "__main__":
    run_stage(main)
