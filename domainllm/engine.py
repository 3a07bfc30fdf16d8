"""The inference engine: guard, then batched constrained generation, then calibrated confidence.

``Engine.load(model_dir, guard_dir, settings)`` loads a base or iteration folder (LoRA merged)
and the guard; ``suggest``/``suggest_batch`` return contract ``Response`` objects. Blocked
requests take the guard-only path (no generation). ``answer_batch`` also runs the model on
guard-blocked rows and returns both decisions, for the predict and safety stages.
Not thread-safe: callers serialise access (the processor and the model are stateful).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from domainllm.calibration import Calibrator
from domainllm.contract import (
    Request,
    Response,
    Suggestion,
    answer_problems,
    blocked,
    parse_response,
)
from domainllm.decoding import (
    ConstraintCompiler,
    ContractProcessor,
    domain_logprobs,
    max_answer_chars,
)
from domainllm.guard import Guard, GuardDecision
from domainllm.params import Strict
from domainllm.prompting import load_prompts, render_messages


class EngineSettings(Strict):
    """How the engine generates (the `predict` params section embeds these)."""

    dtype: Literal["auto", "bf16", "fp32"] = "auto"
    batch_size: int = 8
    max_new_tokens: int = 256
    constrained: bool = True
    ban_duplicates: bool = True
    # A new label may not share its first N characters with one already in the answer (0 = off).
    distinct_prefix: int = 3
    retries: int = 2
    retry_temperature: float = 0.8
    max_label: int = 20
    # The model's own refusal is the second line of defence; False forces a success answer.
    model_may_block: bool = True
    threads: int = 2
    seed: int = 0
    calibration: str | None = None


@dataclass
class ModelAnswer:
    """The model's own answer to one request, before the guard is applied."""

    status: Literal["success", "blocked", "invalid"]
    raw: str
    parse_error: str | None
    problems: list[str]
    response: Response | None
    raw_conf: dict[str, float] = field(default_factory=dict)
    attempts: int = 1
    cut_off: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "raw": self.raw,
            "parse_error": self.parse_error,
            "problems": self.problems,
        }


@dataclass
class Answer:
    """Guard decision, model answer (None on the guard-only path) and the final response."""

    guard: GuardDecision
    model: ModelAnswer | None
    response: Response
    latency_s: float


def _score(a: ModelAnswer) -> int:
    return 0 if a.status == "blocked" else len(a.problems) + (100 if a.status == "invalid" else 0)


def combine(guard: GuardDecision, model: ModelAnswer | None) -> Response:
    """Final answer: blocked if the guard or the model refuses; else the model's valid domains."""
    if guard.blocked or model is None or model.status == "blocked":
        return blocked()
    if model.response is not None and model.status == "success":
        return model.response
    return Response(status="success", suggestions=[])  # unparseable: nothing safe to return


class Engine:
    """Guarded, constrained domain-name generation over one loaded model."""

    def __init__(self, loaded: Any, guard: Guard, settings: EngineSettings) -> None:
        import torch

        torch.set_num_threads(settings.threads)
        self.model, self.tok = loaded.model, loaded.tokenizer
        self.loaded_info = loaded.info
        self.guard = guard
        self.settings = settings
        self.prompts = load_prompts()
        self.compiler = ConstraintCompiler(self.tok, settings.max_label, settings.model_may_block)
        self.calibrator = Calibrator.load(settings.calibration) if settings.calibration else None
        self._specials = [s for s in self.tok.all_special_tokens if s]
        self.stats = {"bans": 0, "ban_skipped": 0, "retries": 0, "cut_off": 0}

    @classmethod
    def load(cls, model_dir: Path, guard_dir: Path | None, settings: EngineSettings) -> Engine:
        """Load the model (LoRA merged, bf16 where supported) and the guard."""
        from domainllm.loading import load_model

        return cls(load_model(model_dir, settings.dtype), Guard.load(guard_dir), settings)

    def info(self) -> dict[str, Any]:
        """Model name, base, adapter, prompt hash and guard, for outputs and the API."""
        return {
            **self.loaded_info,
            "name": Path(self.loaded_info["model_dir"]).name,
            "prompt_hash": self.prompts.hash,
            "guard": self.guard.info(),
            "constrained": self.settings.constrained,
            "calibrated": self.calibrator is not None,
        }

    # -- generation ---------------------------------------------------------------------------
    def _prompt(self, req: Request) -> str:
        desc = req.description
        for s in self._specials:  # a description must not open or close chat turns
            desc = desc.replace(s, " ")
        safe = req.model_copy(update={"description": desc.strip() or "-"})
        return self.tok.apply_chat_template(
            render_messages(safe, self.prompts), tokenize=False, add_generation_prompt=True
        )

    def _generate(self, reqs: list[Request], sample: bool, long: bool) -> list[ModelAnswer]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        s = self.settings
        enc = self.tok([self._prompt(r) for r in reqs], return_tensors="pt", padding=True)
        proc = ContractProcessor(
            self.compiler, reqs, s.constrained, s.ban_duplicates, s.distinct_prefix
        )
        bound = max(max_answer_chars(r, s.max_label) for r in reqs) + 1
        if s.constrained:  # the regex bounds the answer length; `long` lifts the budget cap
            max_new = bound if long else min(s.max_new_tokens, bound)
        else:
            max_new = s.max_new_tokens * (2 if long else 1)
        cfg = GenerationConfig(
            max_new_tokens=max_new,
            do_sample=sample,
            temperature=s.retry_temperature if sample else None,
            top_p=None,
            top_k=None,
            eos_token_id=self.compiler.eos_id,
            pad_token_id=self.tok.pad_token_id,
        )
        with torch.inference_mode():
            out = self.model.generate(
                **enc, generation_config=cfg, logits_processor=LogitsProcessorList([proc])
            )
        proc.consume(out[:, -1])
        answers = []
        for i, req in enumerate(reqs):
            tr = proc.traces[i]
            self.stats["bans"] += tr.bans
            self.stats["ban_skipped"] += tr.ban_skipped
            raw = "".join(self.compiler.strings[t] for t in tr.token_ids)
            answers.append(self._parse(req, raw, not proc.finished(i), tr, self.compiler.strings))
        return answers

    def _parse(self, req: Request, raw: str, cut: bool, tr: Any, strings: list[str]) -> ModelAnswer:
        if cut:
            return ModelAnswer("invalid", raw, "cut off at max_new_tokens", [], None, cut_off=True)
        try:
            resp = parse_response(raw.strip())
        except ValueError as exc:
            return ModelAnswer("invalid", raw, str(exc), [], None)
        lp = domain_logprobs(tr, strings)
        raw_conf = {d: math.exp(v) for d, v in lp.items()}
        if resp.status == "success":
            cal = self.calibrator or (lambda p: p)
            resp = Response(
                status="success",
                suggestions=[
                    Suggestion(domain=x.domain, confidence=round(cal(raw_conf.get(x.domain, 0)), 2))
                    for x in resp.suggestions
                ],
            )
        return ModelAnswer(resp.status, raw, None, answer_problems(resp, req), resp, raw_conf)

    def generate_batch(self, reqs: list[Request]) -> list[ModelAnswer]:
        """The model's answers (one batched generate; failed rows retried with sampling)."""
        import torch

        if not reqs:
            return []
        torch.manual_seed(self.settings.seed)
        answers = self._generate(reqs, sample=False, long=False)
        for attempt in range(self.settings.retries):
            bad = [i for i, a in enumerate(answers) if a.status == "invalid" or a.problems]
            if not bad:
                break
            self.stats["retries"] += len(bad)
            self.stats["cut_off"] += sum(answers[i].cut_off for i in bad)
            again = self._generate([reqs[i] for i in bad], sample=True, long=True)
            for i, a in zip(bad, again, strict=True):
                a.attempts = answers[i].attempts + 1
                if _score(a) < _score(answers[i]):
                    answers[i] = a
                else:
                    answers[i].attempts = a.attempts
            del attempt
        return answers

    # -- public API ---------------------------------------------------------------------------
    def answer_batch(self, reqs: list[Request], run_blocked: bool = False) -> list[Answer]:
        """Guard every request, generate for the rest (or all with ``run_blocked``), combine."""
        t0 = time.perf_counter()
        decisions = self.guard.check_many([r.description for r in reqs])
        todo = [i for i, d in enumerate(decisions) if run_blocked or not d.blocked]
        models: dict[int, ModelAnswer] = {}
        for start in range(0, len(todo), self.settings.batch_size):
            chunk = todo[start : start + self.settings.batch_size]
            for i, a in zip(chunk, self.generate_batch([reqs[i] for i in chunk]), strict=True):
                models[i] = a
        per_row = (time.perf_counter() - t0) / max(1, len(reqs))
        out = []
        for i, d in enumerate(decisions):
            m = models.get(i)
            out.append(Answer(d, m, combine(d, m), per_row))
        return out

    def suggest_batch(self, reqs: list[Request]) -> list[Response]:
        """Contract answers for a batch (guard-blocked rows are never generated)."""
        return [a.response for a in self.answer_batch(reqs)]

    def suggest(self, req: Request) -> Response:
        """The contract answer for one request."""
        return self.suggest_batch([req])[0]
