"""Build the blind review of 2026-12-03 (final): the committed `improved` (retrained, calibrated
refusal, hint steering), the answers of the review before (2026-12-03-steer) and the 80 bank
anchors, shuffled together, source hidden.

Run from the repository root: python data/reviews/2026-12-03-final/build.py
"""
import json
import random
from pathlib import Path

here = Path("data/reviews/2026-12-03-final")
prev = Path("data/reviews/2026-12-03-steer")
reqs = [json.loads(line) for line in open(prev / "requests.jsonl")]
key_prev = json.load(open(prev / "key.json"))
bank: dict[int, list[str]] = {}
for v in key_prev.values():
    if v["sources"] == ["bank"] or "bank" in v["sources"]:
        bank.setdefault(v["request"], []).append(v["domain"])


def answers(path: Path) -> list[list[str]]:
    rows = [json.loads(line) for line in open(path)]
    assert len(rows) == len(reqs)
    return [[s["domain"] for s in (r.get("response") or r).get("suggestions", [])] for r in rows]


new, old = answers(here / "improved_answers.jsonl"), answers(prev / "improved_answers.jsonl")
rng = random.Random(202612034)
key, lines = {}, []
for i, r in enumerate(reqs, 1):
    # A name two sources share is shown once; the key lists every source that suggested it.
    srcs: dict[str, list[str]] = {}
    for src, names in (("improved", new[i - 1]), ("previous", old[i - 1]), ("bank", bank.get(i, []))):
        for d in names:
            srcs.setdefault(d, []).append(src)
    items = list(srcs.items())
    rng.shuffle(items)
    c = []
    if r["tlds"]:
        c.append("TLDs " + ", ".join(r["tlds"]))
    c.append("hyphens " + ("allowed" if r["allow_hyphens"] else "not allowed"))
    c.append("digits " + ("allowed" if r["allow_numbers"] else "not allowed"))
    lines += [f"## Request {i}", f"Business: {r['description']}", "Constraints: " + "; ".join(c), ""]
    for j, (d, s) in enumerate(items, 1):
        key[f"{i}.{j}"] = {"sources": s, "domain": d, "request": i}
        lines.append(f"{i}.{j} {d}")
    lines.append("")
(here / "review.md").write_text("\n".join(lines))
(here / "key.json").write_text(json.dumps(key, indent=1))
(here / "requests.jsonl").write_text((prev / "requests.jsonl").read_text())
print(len(key), {s: sum(s in v["sources"] for v in key.values()) for s in ("improved", "previous", "bank")})
