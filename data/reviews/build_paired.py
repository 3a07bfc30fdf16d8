"""Build a paired blind review: new answers, the answers of an earlier review and its bank anchors,
shuffled together per request, sources hidden (a name two sources share is shown once; the key
lists every source that suggested it).

Run from the repository root, e.g. for the review of 2026-12-03 (final):
    python data/reviews/build_paired.py data/reviews/2026-12-03-final data/reviews/2026-12-03-steer 202612034
Reads <here>/improved_answers.jsonl and <previous>/{requests.jsonl,key.json,improved_answers.jsonl};
writes <here>/{review.md,key.json,requests.jsonl}.
"""
import json
import random
import sys
from pathlib import Path

here, prev, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
reqs = [json.loads(line) for line in open(prev / "requests.jsonl")]
bank: dict[int, list[str]] = {}
for v in json.load(open(prev / "key.json")).values():
    if "bank" in v.get("sources", [v.get("source")]):
        bank.setdefault(v["request"], []).append(v["domain"])


def answers(path: Path) -> list[list[str]]:
    rows = [json.loads(line) for line in open(path)]
    assert len(rows) == len(reqs)
    return [[s["domain"] for s in (r.get("response") or r).get("suggestions", [])] for r in rows]


new, old = answers(here / "improved_answers.jsonl"), answers(prev / "improved_answers.jsonl")
rng = random.Random(seed)
key, lines = {}, []
for i, r in enumerate(reqs, 1):
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
