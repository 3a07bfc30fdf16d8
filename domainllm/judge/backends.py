"""Judge backends: ``openai`` (any OpenAI-compatible server) and ``local`` (in-process model).

Both take a batch of JudgeItems and return one ``Verdict`` per item. Failures are counted in a
shared ``Failures`` object (the metrics report it) and never raised for a single item: an item
that still fails after the retries gets ``error`` set and is not cached, so a rerun retries it.
"""

from __future__ import annotations

import copy
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from domainllm.io import read_json, sha256_tree
from domainllm.judge.prompt import JudgeItem, JudgePrompt
from domainllm.params import UserError


@dataclass
class Verdict:
    """A judgement: scores per criterion (None on failure), the error, the score-token mass."""

    scores: dict[str, float] | None
    error: str | None = None
    mass: float | None = None  # local: mean probability on the score tokens (format adherence)


@dataclass
class Failures:
    """Counts of every failed call or reply (retried or final), thread-safe."""

    timeout: int = 0
    connection: int = 0
    rate_limited: int = 0
    server_error: int = 0
    client_error: int = 0
    unparseable: int = 0
    failed_items: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, kind: str) -> None:
        """Count one failure of ``kind``."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)

    def as_dict(self) -> dict[str, int]:
        """The counts plus their total."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["total_calls_failed"] = sum(v for k, v in d.items() if k != "failed_items")
        return d


class Backend(Protocol):
    """What the judge stages need from a backend."""

    name: str
    model_id: str

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]: ...


class OpenAIBackend:
    """Scores-only JSON from a chat completions endpoint, with our own counted retries."""

    name = "openai"

    def __init__(
        self,
        prompt: JudgePrompt,
        model: str,
        base_url: str,
        api_key_env: str | None,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        concurrency: int,
        failures: Failures,
    ) -> None:
        from openai import OpenAI

        key = os.environ.get(api_key_env) if api_key_env else "not-needed"
        if not key:
            raise UserError(f"judge: environment variable {api_key_env} is not set (export it)")
        # max_retries=0: the SDK would retry silently; we retry ourselves to count failures.
        self.client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)
        self.prompt, self.model_id = prompt, model
        self.max_retries, self.backoff_s, self.concurrency = max_retries, backoff_s, concurrency
        self.failures = failures

    def _retry_after(self, exc: Any) -> float | None:
        resp = getattr(exc, "response", None)
        value = resp.headers.get("retry-after") if resp is not None else None
        try:
            return min(float(value), 60.0) if value is not None else None
        except ValueError:
            return None

    def _complete(self, messages: list[dict[str, str]]) -> str:
        import openai

        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                resp = self.client.chat.completions.create(
                    model=self.model_id, messages=messages, temperature=0, max_tokens=80
                )
                return resp.choices[0].message.content or ""
            except openai.APITimeoutError:
                kind = "timeout"
            except openai.APIConnectionError:
                kind = "connection"
            except openai.RateLimitError as exc:
                kind, wait = "rate_limited", self._retry_after(exc)
            except openai.APIStatusError as exc:
                if exc.status_code < 500:
                    self.failures.add("client_error")  # 4xx other than 429: retrying won't help
                    raise RuntimeError(f"HTTP {exc.status_code} from judge server") from None
                kind, wait = "server_error", self._retry_after(exc)
            self.failures.add(kind)
            if attempt == self.max_retries:
                raise RuntimeError(f"{kind} after {attempt + 1} attempts")
            backoff = min(30.0, self.backoff_s * 2**attempt) * (0.5 + random.random())
            time.sleep(wait if wait is not None else backoff)
        raise AssertionError("unreachable")

    def _one(self, item: JudgeItem) -> Verdict:
        try:
            text = self._complete(self.prompt.messages(item))
        except RuntimeError as exc:
            return Verdict(None, str(exc))
        try:
            return Verdict(self.prompt.parse(text, self.prompt.criteria_for(item)))
        except ValueError as exc:
            self.failures.add("unparseable")
            return Verdict(None, f"unparseable: {exc}")

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]:
        """Judge items concurrently (``concurrency`` requests in flight)."""
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(self._one, items))


class LocalBackend:
    """An in-process causal LM; each score is the expected value of the 0-5 token probabilities.

    The reply is forced to start with ``{"<first criterion>":`` and after each score the most
    likely digit and the next key are fed back (G-Eval style scoring of the scores-only JSON).
    The system prompt is shared by a whole batch, so its KV cache is computed once and reused.
    """

    name = "local"

    def __init__(
        self,
        prompt: JudgePrompt,
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
            raise UserError(f"judge: {model_dir}/config.json missing (run `dvc repro base@judge`)")
        torch.set_num_threads(threads)
        self.torch, self.prompt, self.batch_size = torch, prompt, batch_size
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype))
        self.model.eval()
        info = model_dir / "base_info.json"
        if info.is_file():
            meta = read_json(info)
            self.model_id = f"{meta['name']}@{meta['sha256'][:12]}"
        else:
            self.model_id = f"{model_dir.name}@{sha256_tree(model_dir)[:12]}"
        self.digits = [self._single_token(str(i)) for i in range(6)]
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self._prefix: dict[str, Any] = {}
        self.share_prefix = share_prefix  # off only to check the shared-prefix path in tests

    def _single_token(self, text: str) -> int:
        ids = self.tok.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise UserError(f"judge model tokenizer splits '{text}' into {len(ids)} tokens")
        return ids[0]

    def _encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def _split(self, item: JudgeItem, criteria: list[str]) -> tuple[str, str]:
        """Chat text as (shared system prefix, per-item rest ending with the forced JSON start)."""
        msgs = self.prompt.messages(item)
        full = self.tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        head = self.tok.apply_chat_template(msgs[:1], tokenize=False)
        if not self.share_prefix or not full.startswith(head):  # e.g. a template that rewrites
            head = ""
        return head, full[len(head) :] + '{"' + criteria[0] + '":'

    def _prefix_cache(self, head: str) -> tuple[list[int], Any]:
        torch = self.torch
        if head not in self._prefix:
            ids = self._encode(head)
            cache = None
            if ids:
                with torch.inference_mode():
                    cache = self.model(
                        torch.tensor([ids]), use_cache=True, logits_to_keep=1
                    ).past_key_values
            self._prefix[head] = (ids, cache)
        return self._prefix[head]

    def judge_batch(self, items: list[JudgeItem]) -> list[Verdict]:
        """Judge items grouped by their criteria list, ``batch_size`` at a time."""
        out: dict[int, Verdict] = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(tuple(self.prompt.criteria_for(it)), []).append(i)
        for crit, idx in groups.items():
            idx.sort(key=lambda i: len(self.prompt.user(items[i])))  # less padding per batch
            for s in range(0, len(idx), self.batch_size):
                chunk = idx[s : s + self.batch_size]
                for i, v in zip(
                    chunk, self._score([items[i] for i in chunk], list(crit)), strict=True
                ):
                    out[i] = v
        return [out[i] for i in range(len(items))]

    def _score(self, items: list[JudgeItem], criteria: list[str]) -> list[Verdict]:
        scores, mass = self.score_raw(items, criteria)
        return [
            Verdict({k: round(v, 3) for k, v in s.items()}, None, round(m, 4))
            for s, m in zip(scores, mass, strict=True)
        ]

    def score_raw(
        self, items: list[JudgeItem], criteria: list[str]
    ) -> tuple[list[dict[str, float]], list[float]]:
        """Unrounded expected scores per item and the mean probability mass on score tokens."""
        torch = self.torch
        parts = [self._split(it, criteria) for it in items]
        head = parts[0][0]
        if any(p[0] != head for p in parts):
            head, parts = "", [("", h + r) for h, r in parts]
        head_ids, head_cache = self._prefix_cache(head)
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
        digits = torch.tensor(self.digits)
        scores: list[dict[str, float]] = [{} for _ in items]
        masses = torch.zeros(b)
        with torch.inference_mode():
            for k, name in enumerate(criteria):
                res = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos,
                    past_key_values=past, use_cache=True, logits_to_keep=1,
                )  # fmt: skip
                past = res.past_key_values
                probs = torch.softmax(res.logits[:, -1, :].float(), dim=-1)[:, digits]
                masses += probs.sum(-1)
                expected = (probs / probs.sum(-1, keepdim=True)) @ torch.arange(6.0)
                for i in range(b):
                    scores[i][name] = float(expected[i])
                if k + 1 == len(criteria):
                    break
                nxt = self._encode(',"' + criteria[k + 1] + '":')
                step = torch.cat(
                    [digits[probs.argmax(-1)].unsqueeze(1), torch.tensor([nxt] * b)], dim=1
                )
                ids = step
                pos = pos[:, -1:] + torch.arange(1, step.shape[1] + 1)
                mask = torch.cat([mask, torch.ones_like(step)], dim=1)
        return scores, (masses / len(criteria)).tolist()


def make_backend(params: Any, prompt: JudgePrompt, model_dir: Path, failures: Failures) -> Backend:
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
