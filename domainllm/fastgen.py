"""A generation loop built for short constrained answers on CPU (``predict.engine.backend: fast``).

transformers' ``generate`` (the ``reference`` backend) spends most of a batch on work whose result
is thrown away, measured on ``models/improved`` with 8 requests and 3 samples each:

- it prefills every sampled copy of a prompt (3x the same ~125 tokens) and the system prompt
  again for every row, though all rows share it;
- it computes the output head over all 151,936 tokens at every step, though the grammar allows
  only the ~10% made of answer characters;
- it steps every row until the longest answer ends, finished rows included;
- ``torch.multinomial`` over the full vocabulary took 9% of the batch.

Here the fixed prompt prefix (chat template and system prompt) is prefilled once per engine and
its KV cache copied into each batch; each distinct prompt is prefilled once and its cache
repeated for its samples; the head is a matrix of the allowed tokens' rows only (disallowed
tokens keep -inf, so the contract processor sees the same masks); finished rows leave the batch;
sampling is the Gumbel-max trick. The chosen tokens are those of greedy decoding on the same
logits (a test compares the two backends token for token on a tiny model); log-probabilities
are normalised over the allowed vocabulary instead of all of it.

``quantize: int8`` additionally replaces the decoder's linear layers and the sliced head with
int8 dynamic quantization (per-channel weights, activations quantized per step): 2.7x faster
matrix products at batch 24 and 8x at batch 1 on two AVX2 cores (``benchmarks/bench_engine.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def quantize_int8(model: Any) -> None:
    """Int8 dynamic quantization of the decoder's linear layers, in place (the head stays: the
    fast loop slices its rows)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao's deprecation notice on every call
        warnings.simplefilter("ignore")
        quantize_dynamic(
            model.get_decoder(),
            {torch.nn.Linear: per_channel_dynamic_qconfig},
            dtype=torch.qint8,
            inplace=True,
        )


class FastDecoder:
    """Prefix-cached prefill and a pruned, head-sliced decode loop over one causal LM."""

    def __init__(
        self, model: Any, prefix: list[int], head_ids: list[int] | None, int8_head: bool = False
    ) -> None:
        self.model = model
        self.body = model.get_decoder()
        head = model.get_output_embeddings()
        self.vocab = int(head.weight.shape[0])
        self.head_ids = torch.tensor(sorted(head_ids), dtype=torch.long) if head_ids else None
        w = head.weight.detach()
        self.head_w = w[self.head_ids].contiguous() if self.head_ids is not None else w
        bias = getattr(head, "bias", None)
        self.head_b = None
        if bias is not None:
            b = bias.detach()
            self.head_b = b[self.head_ids] if self.head_ids is not None else b
        self.head_q = self._int8_head() if int8_head else None
        self.prefix = list(prefix)
        self._prefix_kv: Any = None  # the prefix's cache at batch 1, computed on first use

    def _int8_head(self) -> Any:
        """The sliced head as an int8 dynamic linear layer: at ~21k rows x 896 its fp32 matrix
        is 77 MB read at every step, 14 ms of a 50 ms step at batch 3 (the step is memory
        bound)."""
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        lin = torch.nn.Linear(self.head_w.shape[1], self.head_w.shape[0], self.head_b is not None)
        with torch.no_grad():
            lin.weight.copy_(self.head_w.float())
            if self.head_b is not None:
                lin.bias.copy_(self.head_b.float())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qconfig = {torch.nn.Linear: per_channel_dynamic_qconfig}
            wrap = quantize_dynamic(torch.nn.Sequential(lin), qconfig, dtype=torch.qint8)
        return wrap[0]

    # -- prefill ------------------------------------------------------------------------------
    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache: Any):
        out = self.body(
            input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache,
            use_cache=True,
        )  # fmt: skip
        return out.last_hidden_state[:, -1], out.past_key_values

    def _prefix_cache(self, p: int, rows: int) -> Any:
        """A fresh cache holding the first ``p`` prefix tokens for ``rows`` rows."""
        from transformers import DynamicCache

        if self._prefix_kv is None:
            ids = torch.tensor([self.prefix])
            mask = torch.ones_like(ids)
            pos = torch.arange(len(self.prefix))[None]
            _, self._prefix_kv = self._forward(ids, mask, pos, None)
        kv = [(k[:, :, :p], v[:, :, :p]) for k, v, *_ in self._prefix_kv]
        return DynamicCache(ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1))
                                            for k, v in kv])  # fmt: skip

    def prefill(self, seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Last hidden state, cache and attention mask of each sequence; the shared prefix comes
        from the engine's prefix cache, the rest is left-padded after it."""
        p = min(common_prefix(s, self.prefix) for s in seqs) if self.prefix else 0
        p = min(p, min(len(s) for s in seqs) - 1)  # every row keeps a token to compute
        rest = [s[p:] for s in seqs]
        width = max(len(r) for r in rest)
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rest])
        tail = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rest])
        mask = torch.cat([torch.ones(len(seqs), p, dtype=torch.long), tail], dim=1)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, p:]
        cache = self._prefix_cache(p, len(seqs)) if p else None
        h, cache = self._forward(ids, mask, pos, cache)
        return h, cache, mask

    # -- decoding -----------------------------------------------------------------------------
    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Full-vocabulary logits, -inf outside the head's rows."""
        if self.head_q is not None:
            sub = self.head_q(h.float())
        else:
            sub = h.float() @ self.head_w.float().T
            if self.head_b is not None:
                sub = sub + self.head_b.float()
        if self.head_ids is None:
            return sub
        full = torch.full((h.shape[0], self.vocab), float("-inf"))
        full[:, self.head_ids] = sub
        return full

    def run(
        self,
        seqs: list[list[int]],
        k: int,
        proc: Any,
        max_new: int,
        pad: int,
        temperature: float | None = None,
    ) -> None:
        """Decode ``k`` sequences per prompt (row ``i*k + j``) through ``proc`` (a
        ``ContractProcessor``), which records every chosen token; greedy unless ``temperature``.
        """
        with torch.inference_mode():
            h, cache, mask = self.prefill(seqs, pad)
            if k > 1:
                h = h.repeat_interleave(k, 0)
                mask = mask.repeat_interleave(k, 0)
                cache.batch_repeat_interleave(k)
            active = list(range(len(seqs) * k))
            for step in range(max_new):
                scores = proc.mask(active, self.logits(h))
                if temperature:
                    u = torch.rand_like(scores).clamp_(min=1e-10)
                    scores = scores / temperature - torch.log(-torch.log(u))
                nxt = scores.argmax(-1)
                proc.consume(nxt)
                keep = [j for j, i in enumerate(active) if not proc.done(i)]
                if not keep or step == max_new - 1:
                    break
                if len(keep) < len(active):
                    idx = torch.tensor(keep)
                    cache.batch_select_indices(idx)
                    mask, nxt = mask[idx], nxt[idx]
                    active = [active[j] for j in keep]
                mask = torch.cat([mask, torch.ones(len(active), 1, dtype=mask.dtype)], dim=1)
                pos = mask.sum(-1, keepdim=True) - 1
                h, cache = self._forward(nxt[:, None], mask, pos, cache)

    def decide(self, seqs: list[list[int]], pad: int, pairs: list[tuple[int, int]]) -> list[float]:
        """logit(a) - logit(b) at the next position of each sequence (one prefill; the
        log-softmax's normaliser cancels), read from the same head as the decode loop (int8
        when it is), so a threshold on this margin is the decision generation makes; a token
        outside the sliced head is read from the full head."""
        with torch.inference_mode():
            h, _, _ = self.prefill(seqs, pad)
            rows = torch.arange(len(pairs))
            a = torch.tensor([x for x, _ in pairs])
            b = torch.tensor([y for _, y in pairs])
            logits = self.logits(h)
            diff = logits[rows, a] - logits[rows, b]
            out = ~torch.isfinite(diff)
            if out.any():
                head = self.model.get_output_embeddings()
                w, hf = head.weight.detach().float(), h[out].float()
                full = (hf * w[a[out]]).sum(-1) - (hf * w[b[out]]).sum(-1)
                if head.bias is not None:
                    bias = head.bias.detach().float()
                    full = full + bias[a[out]] - bias[b[out]]
                diff[out] = full
            return diff.tolist()
