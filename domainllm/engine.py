"""The inference engine: guard, then batched constrained generation, then moderation and
reranking of the model's candidates, then calibrated confidence.

``Engine.load(model_dir, guard_dir, settings)`` loads a base or iteration folder (LoRA merged)
and the guard; ``suggest``/``suggest_batch`` return contract ``Response`` objects. Blocked
requests take the guard-only path (no generation). ``answer_batch`` also runs the model on
guard-blocked rows (one greedy sequence: its decision is what is measured) and returns both
decisions, for the predict and safety stages.
Not thread-safe: callers serialise access (the processor and the model are stateful).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from domainllm.calibration import Calibrator
from domainllm.contract import Request, Response, answer_problems, blocked
from domainllm.decoding import (
    ConstraintCompiler,
    ContractProcessor,
    domain_logprobs,
    max_answer_chars,
)
from domainllm.guard import Guard, GuardDecision
from domainllm.hints import Hint, Hinter, HintSettings
from domainllm.moderation import Moderator
from domainllm.params import Strict, UserError
from domainllm.prompting import (
    SUCCESS,
    answer_response,
    load_prompts,
    parse_answer,
    render_messages,
)
from domainllm.rerank import Candidate, Reranker, RerankSettings


class EngineSettings(Strict):
    """How the engine generates (the `predict` params section embeds these)."""

    dtype: Literal["auto", "bf16", "fp32"] = "auto"
    # fast: prefix-cached, head-sliced, pruned decode loop (domainllm/fastgen.py); reference:
    # transformers' generate, kept to check the fast loop against and for benchmarks.
    backend: Literal["fast", "reference"] = "fast"
    # int8: dynamic int8 quantization of the decoder's linear layers and the fast loop's sliced
    # head (fast on CPU; see README).
    quantize: Literal["none", "int8"] = "none"
    batch_size: int = 8
    max_new_tokens: int = 256
    constrained: bool = True
    ban_duplicates: bool = True
    # A new label may not share its first N characters with one already in the answer (0 = off;
    # the reranker's diversity pick replaced it: the ban forced letter-swapped junk).
    distinct_prefix: int = 0
    retries: int = 2
    retry_temperature: float = 0.8
    max_label: int = 20
    # A label may take at most this many tokens (0 = no cap): good names take 2-4, and a batch
    # decodes until its longest answer ends.
    max_label_tokens: int = 6
    # The model's own refusal is the second line of defence; False forces a success answer.
    model_may_block: bool = True
    threads: int = 2
    seed: int = 0
    calibration: str | None = None
    rerank: RerankSettings = RerankSettings()
    lexicon: str | None = None  # blocked terms for output moderation (default: the shipped one)
    # Naming hints shown under each request (the top-level `hints` params section) and the
    # curated bank they come from (default: the shipped data/naming).
    hints: HintSettings = HintSettings()
    bank: str | None = None
    # Added to the score of tokens that spell one of the hint's words inside a label (0 = off;
    # domainllm/decoding.py): the model picks the words, the engine leans it towards them.
    hint_bias: Annotated[float, Field(ge=0, le=10)] = 0.0
    # The model refuses when the log-odds of `blocked` over `success` at the decision token
    # exceed this (None = greedy decoding decides). The refusal stage chooses it on val for
    # each iteration (metrics/refusal/<iteration>.json); predict, the CLI and the server read
    # it from there.
    block_threshold: float | None = None


DEFAULT_BANK = Path(__file__).resolve().parent.parent / "data" / "naming"
REFUSAL_DIR = Path("metrics/refusal")  # the refusal stage's metrics, one file per iteration


def refusal_file(model: Path) -> Path:
    """Where the refusal stage wrote the threshold of the iteration in ``model`` (the CLI's
    and the server's default: the iteration is the model folder's name)."""
    return REFUSAL_DIR / f"{model.name}.json"


def refusal_threshold(path: Path) -> float | None:
    """The model's refusal threshold the refusal stage chose on val (``thresholds.
    model_calibrated`` of its metrics file); None (greedy decoding decides) when the file is
    missing."""
    from domainllm.io import read_json

    if not path.is_file():
        return None
    try:
        return float(read_json(path)["thresholds"]["model_calibrated"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: no thresholds.model_calibrated ({exc}); rerun the refusal "
                        "stage") from None  # fmt: skip


def evaluated_settings(params: str | Path = "params.yaml", **overrides: Any) -> EngineSettings:
    """The engine settings the pipeline evaluated (``predict.engine`` of the params file; the
    defaults when the file or section is missing), with ``overrides`` applied: the CLI and the
    server decode exactly as ``predict`` did."""
    from domainllm.params import load_yaml, validate_section

    base: dict[str, Any] = {}
    if Path(params).is_file():
        data = load_yaml(params)
        section = (data.get("predict") or {}).get("engine")
        if section is not None:
            base = validate_section(section, "predict.engine", EngineSettings).model_dump()
        if data.get("hints") is not None:
            base["hints"] = validate_section(data["hints"], "hints", HintSettings).model_dump()
    return EngineSettings(**{**base, **overrides})


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
    candidates: list[Candidate] = field(default_factory=list)
    moderated: list[str] = field(default_factory=list)  # generated names with a blocked term
    hint: Hint | None = None  # the naming hint the prompt showed

    def to_dict(self) -> dict[str, Any]:
        return {
            "hint": self.hint.to_dict() if self.hint else None,
            "status": self.status,
            "raw": self.raw,
            "parse_error": self.parse_error,
            "problems": self.problems,
            "candidates": [c.to_dict() for c in self.candidates],
            "moderated": self.moderated,
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
        if settings.quantize == "int8":
            from domainllm.fastgen import quantize_int8

            quantize_int8(self.model)
        self.calibrator = Calibrator.load(settings.calibration) if settings.calibration else None
        self.moderator = Moderator.load(settings.lexicon)
        self.reranker: Reranker | None = None
        if settings.rerank.enabled:
            from domainllm.judge.embed import default_embedder
            from domainllm.judge.features import load_lexicon
            from domainllm.moderation import DEFAULT_LEXICON

            lex = load_lexicon(settings.lexicon or DEFAULT_LEXICON)
            self.reranker = Reranker(settings.rerank, lex, default_embedder())
        self.hinter = self._hinter(settings)
        self._specials = [s for s in self.tok.all_special_tokens if s]
        self.fast = self._fast_decoder() if settings.backend == "fast" else None
        self.stats = {"bans": 0, "ban_skipped": 0, "retries": 0, "cut_off": 0, "moderated": 0}

    def _fast_decoder(self) -> Any:
        """The fast loop over this model: the prompt prefix every request shares (chat template
        and system prompt, found as the common start of two different requests' prompts) and,
        when decoding is constrained, the head rows of tokens an answer can contain."""
        from domainllm.fastgen import FastDecoder, common_prefix

        a, b = (self._ids(self._prompt(Request(description=d))) for d in ("x", "y"))
        head = None
        if self.settings.constrained:
            head = sorted({i for ids in self.compiler.by_string.values() for i in ids}
                          | {self.compiler.eos_id})  # fmt: skip
        int8 = self.settings.quantize == "int8"
        return FastDecoder(self.model, a[: common_prefix(a, b)], head, int8_head=int8)

    def _ids(self, prompt: str) -> list[int]:
        return list(self.tok(prompt)["input_ids"])

    def _decisions(self, prompts: list[str], k: int) -> list[tuple[int, int, int]]:
        """Per decoded row: the answer step where `blocked` and `success` part, and their first
        tokens there (``refusal.decision_ids``, the refusal stage's margin)."""
        from domainllm.refusal import decision_ids

        out = []
        for p in prompts:
            shared, blk, suc = decision_ids(self.tok, p)
            out += [(len(shared), blk, suc)] * k
        return out

    @staticmethod
    def _hinter(settings: EngineSettings) -> Hinter | None:
        """The naming hints' matcher over the curated bank (None when hints are off)."""
        if not settings.hints.enabled:
            return None
        from domainllm.judge.embed import default_embedder
        from domainllm.moderation import DEFAULT_LEXICON
        from domainllm.params import UserError
        from domainllm.synth.bank import load_bank

        folder = Path(settings.bank) if settings.bank else DEFAULT_BANK
        if not folder.is_dir():
            raise UserError(
                f"naming hints need the curated bank at {folder}: set predict.engine.bank "
                "to its folder, or hints.enabled: false in params.yaml"
            )
        bank = load_bank(folder, settings.lexicon or DEFAULT_LEXICON)
        return Hinter(bank, default_embedder(), settings.hints)

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
            "rerank": self.settings.rerank.model_dump() if self.reranker else None,
            "lexicon_hash": self.moderator.hash,
            "hints": {**self.settings.hints.model_dump(), "bank_hash": self.hinter.bank.hash}
            if self.hinter
            else None,
        }

    # -- generation ---------------------------------------------------------------------------
    def hints(self, reqs: list[Request]) -> list[Hint | None]:
        """The naming hint each request's prompt shows (None without one)."""
        if self.hinter is None:
            return [None] * len(reqs)
        return self.hinter.hints([r.description for r in reqs])

    def _prompt(self, req: Request, hint: Hint | None = None) -> str:
        desc = req.description
        for s in self._specials:  # a description must not open or close chat turns
            desc = desc.replace(s, " ")
        safe = req.model_copy(update={"description": desc.strip() or "-"})
        return self.tok.apply_chat_template(
            render_messages(safe, self.prompts, hint), tokenize=False, add_generation_prompt=True
        )

    def _token_bound(self, req: Request) -> int:
        """Most tokens a compact answer can take under the label token cap."""

        def count(text: str) -> int:
            return len(self.tok(text, add_special_tokens=False)["input_ids"])

        # a TLD may be split differently after a label: count it as its characters at most
        tld = max(max(count(t), len(t)) for t in req.tlds)
        per_name = count("\n") + self.settings.max_label_tokens + tld
        return count(SUCCESS) + req.n * per_name + 1

    def samples(self) -> int:
        """Sequences sampled per request (1 without reranking)."""
        return self.settings.rerank.samples if self.reranker else 1

    def _generate(
        self, reqs: list[Request], sample: bool, long: bool, k: int | None = None
    ) -> list[ModelAnswer]:
        """One batched decode: ``k`` (default ``samples()``) sequences per request, merged per
        request.

        With reranking and several samples every sequence is sampled (``rerank.temperature``)
        but its first token, the refusal decision, is greedy, so all of a request's sequences
        agree on it.
        """
        s = self.settings
        k = k or self.samples()
        rows = [r for r in reqs for _ in range(k)]
        hints = self.hints(reqs)
        prompts = [self._prompt(r, h) for r, h in zip(reqs, hints, strict=True)]
        candidates = self.reranker is not None and k > 1
        proc = ContractProcessor(
            self.compiler, rows, s.constrained, s.ban_duplicates, s.distinct_prefix,
            greedy_first=candidates, max_label_tokens=s.max_label_tokens,
            hint_words=[h.heads + h.tails if h else () for h in hints for _ in range(k)],
            hint_bias=s.hint_bias, block_threshold=s.block_threshold,
            decision=self._decisions(prompts, k) if s.block_threshold is not None else None,
        )  # fmt: skip
        bound = max(max_answer_chars(r, s.max_label) for r in rows) + 1
        if s.max_label_tokens and not long:  # status, then per name: newline, label, TLD
            bound = min(bound, max(self._token_bound(r) for r in rows))
        if s.constrained:  # the regex bounds the answer length; `long` lifts the budget cap
            max_new = bound if long else min(s.max_new_tokens, bound)
        else:
            max_new = s.max_new_tokens * (2 if long else 1)
        sample = sample or candidates
        temperature = s.retry_temperature if not candidates or long else s.rerank.temperature
        if self.fast is not None:
            ids = [self._ids(p) for p in prompts]
            pad = self.tok.pad_token_id
            self.fast.run(ids, k, proc, max_new, pad, temperature if sample else None)
        else:
            self._reference(prompts, k, proc, max_new, temperature if sample else None)
        answers = []
        for j, req in enumerate(reqs):
            seqs = []
            for i in range(j * k, (j + 1) * k):
                tr = proc.traces[i]
                self.stats["bans"] += tr.bans
                self.stats["ban_skipped"] += tr.ban_skipped
                raw = "".join(self.compiler.strings[t] for t in tr.token_ids)
                seqs.append((raw, not proc.finished(i), tr))
            answers.append(self._parse(req, seqs, self.compiler.strings, hints[j]))
            answers[-1].hint = hints[j]
        return answers

    def _reference(
        self, prompts: list[str], k: int, proc: ContractProcessor, max_new: int,
        temperature: float | None,
    ) -> None:  # fmt: skip
        """The same decode through transformers' ``generate`` (the ``reference`` backend)."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        enc = self.tok([p for p in prompts for _ in range(k)], return_tensors="pt", padding=True)
        cfg = GenerationConfig(
            max_new_tokens=max_new,
            do_sample=temperature is not None,
            temperature=temperature,
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

    def _parse(
        self, req: Request, seqs: list[tuple[str, bool, Any]], strings: list[str],
        hint: Hint | None = None,
    ) -> ModelAnswer:  # fmt: skip
        """One request's answer from its sequences: the first parsed one decides the status;
        the names of all of them are the candidates (moderated, then reranked)."""
        raw = "\n\n".join(r for r, _, _ in seqs)
        done = [(r, tr) for r, cut, tr in seqs if not cut]
        if not done:
            return ModelAnswer("invalid", raw, "cut off at max_new_tokens", [], None, cut_off=True)
        parsed, error = [], None
        for r, tr in done:
            try:
                parsed.append((*parse_answer(r), tr))
            except ValueError as exc:
                error = error or str(exc)
        if not parsed:
            return ModelAnswer("invalid", raw, error, [], None)
        status = parsed[0][0]
        domains: list[str] = []
        lp: dict[str, float] = {}
        for st, ds, tr in parsed:
            if st != status:
                continue
            domains += ds
            for d, v in domain_logprobs(tr, strings).items():
                lp[d] = max(v, lp.get(d, -math.inf))
        raw_conf = {d: math.exp(v) for d, v in lp.items()}
        # Moderation first: a name with a blocked term is never returned, whatever else it has.
        moderated = [d for d in domains if self.moderator.blocked_term(d)]
        self.stats["moderated"] += len(moderated)
        domains = list(dict.fromkeys(d for d in domains if d not in moderated))
        cands = [Candidate(d, lp.get(d, -10.0)) for d in domains]
        return self._finish(req, status, raw, cands, raw_conf, moderated, hint)

    def _finish(
        self,
        req: Request,
        status: str,
        raw: str,
        cands: list[Candidate],
        raw_conf: dict[str, float],
        moderated: list[str],
        hint: Hint | None = None,
    ) -> ModelAnswer:
        """The answer from a request's (moderated) candidates: reranked pick, calibrated
        confidence, the contract response and its problems."""
        domains = [c.domain for c in cands]
        if self.reranker is not None and status == "success":
            domains = [c.domain for c in self.reranker.pick(req, cands, hint)]
        cal = self.calibrator or (lambda p: p)
        conf = {d: cal(raw_conf.get(d, 0.0)) for d in domains}
        resp = answer_response(status, domains[: req.n], conf)
        return ModelAnswer(
            resp.status, raw, None, answer_problems(resp, req), resp, raw_conf,
            candidates=cands, moderated=moderated,
        )  # fmt: skip

    def _pool(self, req: Request, a: ModelAnswer, b: ModelAnswer) -> ModelAnswer:
        """Two success answers' candidates reranked together (a retry adds candidates when
        too few passed the filter, instead of replacing the first answer's)."""
        best: dict[str, Candidate] = {}
        for c in (*a.candidates, *b.candidates):
            if c.domain not in best or c.logprob > best[c.domain].logprob:
                best[c.domain] = Candidate(c.domain, c.logprob)
        conf = {**a.raw_conf, **{d: max(v, a.raw_conf.get(d, 0.0)) for d, v in b.raw_conf.items()}}
        moderated = list(dict.fromkeys(a.moderated + b.moderated))
        out = self._finish(req, "success", a.raw + "\n\n" + b.raw, list(best.values()), conf,
                           moderated, a.hint)  # fmt: skip
        out.hint = a.hint
        return out

    def generate_batch(self, reqs: list[Request], decision_only: bool = False) -> list[ModelAnswer]:
        """The model's answers (one batched decode; failed rows retried with sampling).
        ``decision_only``: one greedy sequence, no retries (for rows the guard already blocked,
        whose names are never returned: only the model's own decision is measured)."""
        import torch

        if not reqs:
            return []
        torch.manual_seed(self.settings.seed)
        if decision_only:
            return self._generate(reqs, sample=False, long=False, k=1)
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
                if self.reranker is not None and a.status == answers[i].status == "success":
                    answers[i] = self._pool(reqs[i], answers[i], a)  # more candidates to pick
                    answers[i].attempts = a.attempts
                elif _score(a) < _score(answers[i]):
                    answers[i] = a
                else:
                    answers[i].attempts = a.attempts
            del attempt
        return answers

    def block_margins(self, reqs: list[Request], batch_size: int = 8) -> list[float]:
        """The model's own refusal log-odds per request (``domainllm.refusal``'s margin: log
        P(blocked) - log P(success) at the status token), read as the engine decodes: fast path,
        prompt with the request's hint, quantized if configured. Rows are batched by length."""
        from domainllm.refusal import block_margins, decision_ids

        hints = self.hints(reqs)
        if self.fast is None:
            return block_margins(self.model, self.tok, reqs, self.prompts, batch_size, hints)
        seqs, pairs = [], []
        for r, h in zip(reqs, hints, strict=True):
            prompt = self._prompt(r, h)
            shared, blk, suc = decision_ids(self.tok, prompt)
            seqs.append(self._ids(prompt) + shared)
            pairs.append((blk, suc))
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out: dict[int, float] = {}
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            got = self.fast.decide([seqs[i] for i in chunk], self.tok.pad_token_id,
                                   [pairs[i] for i in chunk])  # fmt: skip
            out.update(zip(chunk, got, strict=True))
        return [out[i] for i in range(len(seqs))]

    # -- public API ---------------------------------------------------------------------------
    def answer_batch(self, reqs: list[Request], run_blocked: bool = False) -> list[Answer]:
        """Guard every request, generate for the rest (or all with ``run_blocked``), combine."""
        t0 = time.perf_counter()
        decisions = self.guard.check_many([r.description for r in reqs])
        models: dict[int, ModelAnswer] = {}
        bs = self.settings.batch_size
        for only in (False, True):  # guard-blocked rows (run_blocked): the decision only
            todo = [i for i, d in enumerate(decisions) if d.blocked == only]
            if only and not run_blocked:
                break
            for start in range(0, len(todo), bs):
                chunk = todo[start : start + bs]
                answers = self.generate_batch([reqs[i] for i in chunk], decision_only=only)
                models.update(zip(chunk, answers, strict=True))
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
