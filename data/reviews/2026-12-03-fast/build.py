"""Build the blind review of 2026-12-03: improved (fast int8 engine) names + the 80 bank anchors."""
import json, random, sys
from pathlib import Path
prev = Path("data/reviews/2026-12-02-hints")
out = Path("data/reviews/2026-12-03-fast"); out.mkdir(parents=True, exist_ok=True)
reqs = [json.loads(l) for l in open(prev / "requests.jsonl")]
key_prev = json.load(open(prev / "key.json"))
bank = {}
for v in key_prev.values():
    if v["source"] == "bank":
        bank.setdefault(v["request"], []).append(v["domain"])
preds = [json.loads(l) for l in open(sys.argv[1])]
assert len(preds) == len(reqs)
rng = random.Random(20261203)
key, lines = {}, []
for i, (r, p) in enumerate(zip(reqs, preds), 1):
    names = [("improved", s["domain"]) for s in (p.get("response") or p).get("suggestions", [])]
    names += [("bank", d) for d in bank.get(i, [])]
    seen = set(); uniq = []
    for src, d in names:
        if d in seen: continue
        seen.add(d); uniq.append((src, d))
    rng.shuffle(uniq)
    c = []
    if r["tlds"]: c.append("TLDs " + ", ".join(r["tlds"]))
    c.append("hyphens " + ("allowed" if r["allow_hyphens"] else "not allowed"))
    c.append("digits " + ("allowed" if r["allow_numbers"] else "not allowed"))
    lines += [f"## Request {i}", f"Business: {r['description']}", "Constraints: " + "; ".join(c), ""]
    for j, (src, d) in enumerate(uniq, 1):
        key[f"{i}.{j}"] = {"source": src, "domain": d, "request": i}
        lines.append(f"{i}.{j} {d}")
    lines.append("")
(out / "review.md").write_text("\n".join(lines))
(out / "key.json").write_text(json.dumps(key, indent=1))
(out / "requests.jsonl").write_text((prev / "requests.jsonl").read_text())
print(len(key), sum(v["source"] == "bank" for v in key.values()))
