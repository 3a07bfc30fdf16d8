"""Judge backends: ``openai`` (any OpenAI-compatible server) and ``local`` (in-process model).

Both answer the checklist (``prompts/judge/checklist.yaml``) for a batch of JudgeItems (one
domain each) and return one ``Verdict`` per item: P(true) per question (0/1 from the openai one).
Failures are counted in a
shared ``Failures`` object (the metrics report it) and never raised for a single item: an item
that still fails after the retries gets ``error`` set and is not cached, so a rerun retries it.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from domainllm.io import read_json, sha256_tree
from domainllm.judge.checklist import Checklist, JudgeItem
from domainllm.llm import ChatClient, Failures
from domainllm.params import UserError


@dataclass
class Verdict:
    """A checklist answer: P(true) per question (None on failure), the error, the answer mass."""

    scores: dict[str, float] | None
    error: str | None = None
    mass: float | None = None  # local: mean probability on true/false (format adherence)


class Backend(Protocol):
    """What the judge stages need from a backend."""

    name: str
    model_id: str

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]: ...


class OpenAIBackend:
    """The checklist as JSON booleans from a chat completions endpoint, with counted retries."""

    name = "openai"

    def __init__(
        self,
        prompt: Checklist,
        model: str,
        base_url: str,
        api_key_env: str | None,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        concurrency: int,
        failures: Failures,
    ) -> None:
        self.client = ChatClient(
            model, base_url, api_key_env, timeout_s, max_retries, backoff_s, failures, "judge"
        )
        self.prompt, self.model_id = prompt, model
        self.concurrency = concurrency
        self.failures = failures

    def _complete(self, messages: list[dict[str, str]]) -> str:
        return self.client.complete(messages)

    def _one(self, item: JudgeItem) -> Verdict:
        try:
            text = self._complete(self.prompt.messages(item))
        except RuntimeError as exc:
            return Verdict(None, str(exc))
        try:
            return Verdict(self.prompt.parse(text))
        except ValueError as exc:
            self.failures.add("unparseable")
            return Verdict(None, f"unparseable: {exc}")

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]:
        """Judge items concurrently (``concurrency`` requests in flight)."""
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(self._one, items))


class LocalBackend:
    """An in-process causal LM answering the checklist; each answer is P(true) from its logits.

    The reply is forced to start with ``{"<first question>":`` and after each answer the more
    likely of true/false and the next key are fed back, so one batched forward step per question
    reads every answer. Names of one request share the system prompt and the description: that
    prefix's KV cache is computed once per request (a few are kept) and reused by the batch.
    """

    name = "local"

    def __init__(
        self,
        prompt: Checklist,
        model_dir: str | Path,
        batch_size: int,
        threads: int,
        share_prefix: bool = True,
        dtype: str = "bfloat16",
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise UserError(f"judge: {model_dir}/config.json missing (run `dvc repro base`)")
        torch.set_num_threads(threads)
        self.torch, self.prompt, self.batch_size = torch, prompt, batch_size
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype))
        self.model.eval()
        # bf16 logits move in steps of ~0.03 in probability: read true/false in float32.
        head = self.model.get_output_embeddings()
        head.float()
        head.register_forward_pre_hook(lambda _m, a: tuple(x.float() for x in a))
        info = model_dir / "base_info.json"
        if info.is_file():
            meta = read_json(info)
            self.model_id = f"{meta['name']}@{meta['sha256'][:12]}"
        else:
            self.model_id = f"{model_dir.name}@{sha256_tree(model_dir)[:12]}"
        # The first token of each answer decides it (one token each in real vocabularies).
        self.answers = [self._encode("true")[0], self._encode("false")[0]]
        if self.answers[0] == self.answers[1]:
            raise UserError(
                "judge model tokenizer cannot tell true from false by their first token"
            )
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self._prefix: OrderedDict[str, Any] = OrderedDict()
        self.share_prefix = share_prefix  # off only to check the shared-prefix path in tests

    def _encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def _split(self, item: JudgeItem) -> tuple[str, str]:
        """Chat text as (shared prefix, per-item rest ending with the forced JSON start)."""
        msgs = self.prompt.messages(item)
        full = self.tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        cut = full.rfind(self.prompt.user_tail(item))
        if not self.share_prefix or cut < 0:  # e.g. a template that rewrites the user turn
            cut = 0
        return full[:cut], full[cut:] + '{"' + self.prompt.keys[0] + '":'

    def _prefix_cache(self, head: str, system: str = "") -> tuple[list[int], Any]:
        """Token ids and KV cache of a shared prefix; built on the system prompt's own cache
        when the prefix starts with it (the system prompt is computed once per run)."""
        torch = self.torch
        if head not in self._prefix:
            base_ids: list[int] = []
            past = None
            if system and head.startswith(system) and head != system:
                base_ids, base = self._prefix_cache(system)
                past = copy.deepcopy(base) if base is not None else None
            ids = self._encode(head[len(system) :] if base_ids else head)
            cache = past
            if ids:
                with torch.inference_mode():
                    pos = torch.arange(len(base_ids), len(base_ids) + len(ids)).unsqueeze(0)
                    cache = self.model(
                        torch.tensor([ids]), past_key_values=past, position_ids=pos,
                        use_cache=True, logits_to_keep=1,
                    ).past_key_values  # fmt: skip
            self._prefix[head] = (base_ids + ids, cache)
            while len(self._prefix) > 4:  # one request's prefix at a time is what batches reuse
                self._prefix.popitem(last=False)
        self._prefix.move_to_end(head)
        return self._prefix[head]

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]:
        """Answer the checklist for items, ``batch_size`` at a time, names of one request
        (one shared prefix) together."""
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(self._split(it)[0], []).append(i)
        chunks = [g[s : s + self.batch_size] for g in groups.values()
                  for s in range(0, len(g), self.batch_size)]  # fmt: skip
        out: dict[int, Verdict] = {}
        for chunk in chunks:
            answers, mass = self.answer_raw([items[i] for i in chunk])
            for i, a, m in zip(chunk, answers, mass, strict=True):
                out[i] = Verdict({k: round(v, 4) for k, v in a.items()}, None, round(m, 4))
        return [out[i] for i in range(len(items))]

    def answer_raw(self, items: list[JudgeItem]) -> tuple[list[dict[str, float]], list[float]]:
        """P(true) per question and item, and the mean probability mass on true/false."""
        torch = self.torch
        keys = self.prompt.keys
        parts = [self._split(it) for it in items]
        head = parts[0][0]
        if any(p[0] != head for p in parts):
            head, parts = "", [("", h + r) for h, r in parts]
        msgs = self.prompt.messages(items[0])[:1]
        system = self.tok.apply_chat_template(msgs, tokenize=False) if self.share_prefix else ""
        head_ids, head_cache = self._prefix_cache(head, system)
        rests = [self._encode(r) for _, r in parts]
        b, width, p = len(items), max(len(r) for r in rests), len(head_ids)
        ids = torch.full((b, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((b, p + width), dtype=torch.long)
        mask[:, :p] = 1
        for i, r in enumerate(rests):  # left padding between the shared prefix and each item
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, p + width - len(r) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, p:]
        past = None
        if head_cache is not None:
            past = copy.deepcopy(head_cache)
            past.batch_repeat_interleave(b)
        answer_ids = torch.tensor(self.answers)
        out: list[dict[str, float]] = [{} for _ in items]
        masses = torch.zeros(b)
        with torch.inference_mode():
            for k, name in enumerate(keys):
                res = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos,
                    past_key_values=past, use_cache=True, logits_to_keep=1,
                )  # fmt: skip
                past = res.past_key_values
                probs = torch.softmax(res.logits[:, -1, :].float(), dim=-1)[:, answer_ids]
                masses += probs.sum(-1)
                p_true = probs[:, 0] / probs.sum(-1).clamp(min=1e-12)
                for i in range(b):
                    out[i][name] = float(p_true[i])
                if k + 1 == len(keys):
                    break
                nxt = self._encode(',"' + keys[k + 1] + '":')
                step = torch.cat(
                    [answer_ids[probs.argmax(-1)].unsqueeze(1), torch.tensor([nxt] * b)], dim=1
                )
                ids = step
                pos = pos[:, -1:] + torch.arange(1, step.shape[1] + 1)
                mask = torch.cat([mask, torch.ones_like(step)], dim=1)
        return out, (masses / len(keys)).tolist()


def make_backend(params: Any, prompt: Checklist, model_dir: Path, failures: Failures) -> Backend:
    """Build the backend named in the ``judge`` params."""
    if params.backend == "openai":
        return OpenAIBackend(
            prompt,
            model=params.model,
            base_url=params.base_url,
            api_key_env=params.api_key_env,
            timeout_s=params.timeout_s,
            max_retries=params.max_retries,
            backoff_s=params.backoff_s,
            concurrency=params.batch_size,
            failures=failures,
        )
    return LocalBackend(prompt, model_dir, batch_size=params.batch_size, threads=params.threads)
