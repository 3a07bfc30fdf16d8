"""A persistent judgement cache in sqlite, kept outside the DVC outputs (e.g. ``cache/judge/``).

Keyed by backend, model, prompt hash and item content; each batch is committed as soon as it is
judged, so a killed stage loses at most the batch in flight and a rerun judges only what is new.
Only successful verdicts are stored: failures are retried on the next run.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from domainllm.io import sha256_text


class JudgeCache:
    """A key-value store of verdicts (JSON) in ``<folder>/judgements.sqlite``."""

    def __init__(self, folder: str | Path, backend: str, model: str, prompt_hash: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.path = Path(folder) / "judgements.sqlite"
        self.scope = f"{backend}\0{model}\0{prompt_hash}"
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self.db.commit()

    def _key(self, item_key: str) -> str:
        return sha256_text(self.scope + "\0" + item_key)

    def get_many(self, item_keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached verdicts by item key (missing keys are absent)."""
        out: dict[str, dict[str, Any]] = {}
        for k in item_keys:
            row = self.db.execute("SELECT value FROM verdicts WHERE key=?", (self._key(k),))
            hit = row.fetchone()
            if hit:
                out[k] = json.loads(hit[0])
        return out

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None:
        """Store verdicts and commit at once (one transaction per batch)."""
        rows = [(self._key(k), json.dumps(v, sort_keys=True)) for k, v in entries.items()]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", rows)

    def close(self) -> None:
        """Close the database."""
        self.db.close()
