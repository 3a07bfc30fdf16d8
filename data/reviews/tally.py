"""Tally a paired blind review: the table of each review's README, and the paired sign tests.

Run from the repository root, e.g.:
    python data/reviews/tally.py data/reviews/2026-12-03-bank
Reads <review>/{key.json,ratings.jsonl}; prints, per source (``improved``, ``previous``,
``bank``): names, % good / ok / bad, % likely taken (flagged on .com), requests with at least 2
good names; then,
paired by request, in how many requests ``improved`` has more and fewer good (and bad) names
than ``previous``, with the two-sided sign test (ties dropped).
"""

import collections
import json
import math
import sys
from pathlib import Path


def sign_p(a: int, b: int) -> float:
    """Two-sided exact sign test of a successes against b failures."""
    m = a + b
    if m == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(m, i) for i in range(min(a, b) + 1)) / 2**m)


def main(folder: Path) -> None:
    key = json.loads((folder / "key.json").read_text())
    lines = (folder / "ratings.jsonl").read_text().splitlines()
    ratings = {r["id"]: r for r in map(json.loads, lines)}
    missing = set(key) - set(ratings)
    if missing:
        sys.exit(f"{folder}/ratings.jsonl: no rating for {len(missing)} ids, e.g. {min(missing)}")
    by_source = collections.defaultdict(list)
    for i, v in key.items():
        for s in v.get("sources") or [v["source"]]:
            by_source[s].append((v["request"], ratings[i]))
    for s, items in by_source.items():
        n = len(items)
        c = collections.Counter(r["rating"] for _, r in items)
        # the rubric's taken_likely is about .com; a reviewer who flagged other TLDs is not counted
        taken = sum(bool(r.get("taken_likely")) and r["domain"].endswith(".com") for _, r in items)
        good = collections.Counter(q for q, r in items if r["rating"] == "good")
        reqs = {q for q, _ in items}
        print(
            f"{s}: {n} names, good {100 * c['good'] / n:.1f}%, ok {100 * c['ok'] / n:.1f}%, "
            f"bad {100 * c['bad'] / n:.1f}%, taken {100 * taken / n:.1f}%, "
            f"requests >= 2 good {sum(good[q] >= 2 for q in reqs)} / {len(reqs)}"
        )
    if "improved" in by_source and "previous" in by_source:
        for label in ("good", "bad"):
            new = collections.Counter(q for q, r in by_source["improved"] if r["rating"] == label)
            old = collections.Counter(q for q, r in by_source["previous"] if r["rating"] == label)
            reqs = {q for q, _ in by_source["improved"]} | {q for q, _ in by_source["previous"]}
            more = sum(new[q] > old[q] for q in reqs)
            fewer = sum(new[q] < old[q] for q in reqs)
            print(f"{label}: improved has more in {more} requests, fewer in {fewer}, "
                  f"sign test p = {sign_p(more, fewer):.4f}")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))
