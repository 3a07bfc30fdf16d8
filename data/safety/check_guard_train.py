"""Checks data/safety/guard_train.jsonl (plain python3, no project imports).

Run from the repository root:  python3 data/safety/check_guard_train.py [SUITE.jsonl ...]
Exits non-zero if a check fails. Checks: valid JSON per line with exactly the expected keys,
sequential unique ids, known categories, twins that point both ways and pair a safe row with an
unsafe one, no duplicate descriptions or opening words, and no leak from the held-out suite
(data/safety/borderline.jsonl) or the suites (data/suites/*.jsonl): no description may share
6 or more consecutive words with any of their descriptions.
"""

from __future__ import annotations

import collections
import glob
import json
import re
import sys

TRAIN = "data/safety/guard_train.jsonl"
HELD_OUT = "data/safety/borderline.jsonl"
KEYS = {"id", "kind", "category", "description", "twin", "why"}
CATEGORIES = {"safe", "adult_sexual", "hate_violence", "illegal_drugs_goods", "weapons_minors",
              "doxxing_privacy", "child_sexual_exploitation"}
MAX_RUN = 6  # a shared run of this many consecutive words (or more) is a leak


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def longest_run(a: list[str], b: list[str]) -> int:
    """Length of the longest run of consecutive words that a and b share."""
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def main() -> int:
    errors: list[str] = []
    rows = []
    for n, line in enumerate(open(TRAIN, encoding="utf-8"), 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: invalid JSON ({e})")
            continue
        if set(r) != KEYS:
            errors.append(f"line {n}: keys {sorted(r)}")
        if r.get("id") != f"g{n:03d}":
            errors.append(f"line {n}: id {r.get('id')} is not g{n:03d}")
        if r.get("category") not in CATEGORIES:
            errors.append(f"{r.get('id')}: unknown category {r.get('category')}")
        rows.append(r)
    by_id = {r["id"]: r for r in rows}
    if len(by_id) != len(rows):
        errors.append("duplicate ids")

    for r in rows:
        t = r["twin"]
        if t is None:
            continue
        if t not in by_id or by_id[t]["twin"] != r["id"]:
            errors.append(f"{r['id']}: twin {t} does not point back")
        elif (r["category"] == "safe") == (by_id[t]["category"] == "safe"):
            errors.append(f"{r['id']}: twin {t} is not a safe/unsafe pair")

    desc = collections.Counter(r["description"].lower() for r in rows)
    errors += [f"duplicate description: {d!r}" for d, c in desc.items() if c > 1]
    openings = collections.Counter(" ".join(words(r["description"])[:3]) for r in rows)
    errors += [f"same opening words ({c}x): {o!r}" for o, c in openings.items() if c > 1]

    held = [json.loads(line) for line in open(HELD_OUT, encoding="utf-8")]
    refs = [(h["id"], h["description"]) for h in held]
    # The suites are pipeline outputs (DVC); pass their paths if they are not in this checkout.
    for path in sorted(set(glob.glob("data/suites/*.jsonl")) | set(sys.argv[1:])):
        for line in open(path, encoding="utf-8"):
            s = json.loads(line)
            d = s["request"]["description"] if "request" in s else s["description"]
            refs.append((f"{path}:{s['id']}", d))
    ref_words = [(i, words(d), d.lower().strip()) for i, d in refs]
    worst = (0, None, None)
    for r in rows:
        w, low = words(r["description"]), r["description"].lower().strip()
        for rid, rw, rlow in ref_words:
            if low == rlow:
                errors.append(f"{r['id']}: exact copy of {rid}")
            run = longest_run(w, rw)
            if run > worst[0]:
                worst = (run, r["id"], rid)
            if run >= MAX_RUN:
                errors.append(f"{r['id']}: shares {run} consecutive words with {rid}")

    safe = sum(r["category"] == "safe" for r in rows)
    print(f"rows {len(rows)}: safe {safe}, unsafe {len(rows) - safe}; "
          f"twin pairs {sum(r['twin'] is not None for r in rows) // 2}; "
          f"disguised {sum('disguise' in r['why'] or 'framing)' in r['why'] for r in rows)}")
    print("by category:", dict(sorted(collections.Counter(r["category"] for r in rows).items())))
    kinds = collections.defaultdict(collections.Counter)
    for r in rows:
        kinds[r["kind"]]["safe" if r["category"] == "safe" else "unsafe"] += 1
    for k in sorted(kinds):
        print(f"  {k:22s} safe {kinds[k]['safe']:3d}  unsafe {kinds[k]['unsafe']:3d}")
    print(f"overlap: compared with {len(refs)} descriptions ({len(held)} held-out, "
          f"{len(refs) - len(held)} from other files); "
          f"longest shared run {worst[0]} words ({worst[1]} vs {worst[2]}); limit < {MAX_RUN}")
    for e in errors:
        print("FAIL", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
