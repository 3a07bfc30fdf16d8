"""Constrained decoding: a regex per request, compiled by outlines_core, applied as a logits mask.

The regex is the model's compact answer for this request (``prompting.render_answer``):
``success`` and exactly ``k`` domains, one per line, labels from the allowed alphabet, only the
requested TLDs; or ``blocked``. Every output the mask lets through therefore parses and
satisfies the request; termination is guaranteed because the regex is finite and its longest
match bounds the token count. Uniqueness is not expressible in a regex, so the processor also
bans, per row, any token that would close a label already used in that row, and optionally
(``distinct_prefix``) any token that would start a new label with the same first characters as
a used one.

With naming hints (``domainllm/hints.py``), the processor can also *steer* each label towards the
hint's words: tokens that spell a hint word from the label's start, or from the end of a first
hint word, get ``hint_bias`` added to their score (``hint_tokens``). The model still picks which
words, in which order, and whether to use them at all; its recorded log-probabilities (the
confidence) are those of the unbiased scores. Blind review 2026-12-03: names made of two of the
shown words were rated good 34% / bad 6%, names with none of them 4% / 69%, and the model used
two of them in only 30% of its names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import torch
from outlines_core import Guide, Index, Vocabulary

from domainllm.contract import Request
from domainllm.prompting import BLOCKED, SEP, SUCCESS

DOMAIN_RE = re.compile(r"\n([a-z0-9-]+)(\.[a-z0-9.-]+)(?=\n|$)")
OPEN_LABEL_RE = re.compile(r"\n([a-z0-9-]*)$")


def label_regex(allow_hyphens: bool, allow_numbers: bool, max_len: int) -> str:
    """A DNS label over the allowed alphabet; hyphens only inside and never doubled."""
    cls = "[a-z0-9]" if allow_numbers else "[a-z]"
    if not allow_hyphens:
        return f"{cls}{{1,{max_len}}}"
    # Up to two hyphens keeps the label under 63 characters and avoids '--' (IDNA rule).
    return f"{cls}{{1,{max_len}}}(-{cls}{{1,{max_len}}}){{0,2}}"


def answer_regex(req: Request, max_label: int = 20, allow_blocked: bool = True, k: int = 0) -> str:
    """Every compact answer with ``k`` (default ``req.n``) domains that satisfies ``req``."""
    tlds = "|".join(re.escape(t) for t in req.tlds)
    item = re.escape(SEP) + label_regex(req.allow_hyphens, req.allow_numbers, max_label)
    success = SUCCESS + "(" + item + f"({tlds})){{{k or req.n}}}"
    return f"({success}|{BLOCKED})" if allow_blocked else success


def max_answer_chars(req: Request, max_label: int = 20, k: int = 0) -> int:
    """Length of the longest string the regex accepts (bounds the number of new tokens)."""
    label = max_label * (3 if req.allow_hyphens else 1) + (2 if req.allow_hyphens else 0)
    return len(SUCCESS) + (k or req.n) * (len(SEP) + label + max(map(len, req.tlds)))


def token_strings(tokenizer: Any) -> list[str]:
    """The decoded text of every token id (byte-level pieces of multi-byte chars decode to '�')."""
    vocab = tokenizer.get_vocab()
    out = [""] * max(len(tokenizer), max(vocab.values()) + 1)
    for tok, idx in vocab.items():
        s = tokenizer.convert_tokens_to_string([tok])
        if tok.startswith("▁") or tok == "<0x20>":  # sentencepiece word start is a space
            s = " " + s.lstrip(" ")
        out[idx] = s
    return out


class ConstraintCompiler:
    """Builds (and caches) outlines_core indexes for requests, over a filtered vocabulary.

    Only tokens made entirely of characters some answer can contain are given to outlines_core:
    the rest can never be allowed anyway, and leaving them out makes compiling ~10x faster.
    """

    def __init__(self, tokenizer: Any, max_label: int = 20, allow_blocked: bool = True) -> None:
        self.max_label = max_label
        self.allow_blocked = allow_blocked
        self.eos_id = int(tokenizer.eos_token_id)
        self.strings = token_strings(tokenizer)
        special = set(tokenizer.all_special_ids)
        alphabet = set(SUCCESS + BLOCKED + SEP) | set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        vocab: dict[str, list[int]] = {}
        for idx, s in enumerate(self.strings):
            if s and idx not in special and set(s) <= alphabet:
                vocab.setdefault(s, []).append(idx)
        self.vocabulary = Vocabulary(self.eos_id, vocab)
        # For the duplicate-label ban: token ids by the text before their first '.'.
        self.dot_prefix: dict[str, list[int]] = {}
        for s, ids in vocab.items():
            if "." in s:
                self.dot_prefix.setdefault(s.split(".", 1)[0], []).extend(ids)
        self.by_string = vocab
        # Tokens that end a label (".com", "."): forced once a label has too many tokens.
        self.closers = torch.tensor(
            sorted(i for s, ids in vocab.items() if s.startswith(".") for i in ids),
            dtype=torch.long,
        )
        # For the distinct-prefix ban: label-character token ids by each of their first 1-8 chars.
        self.starts_with: dict[str, list[int]] = {}
        label_chars = set("abcdefghijklmnopqrstuvwxyz0123456789-")
        for s, ids in vocab.items():
            head = s.split(".", 1)[0]
            if head and set(head) <= label_chars:
                for k in range(1, min(len(head), 8) + 1):
                    self.starts_with.setdefault(head[:k], []).extend(ids)
        self._cache: dict[str, Index] = {}

    @functools.cache  # noqa: B019 (one compiler per engine; the few words it is asked stay)
    def opening(self, word: str) -> torch.Tensor:
        """Ids of the tokens an answer can open ``word`` with (its prefixes, or it and more)."""
        ids = [i for t, ids in self.by_string.items()
               if t and (word.startswith(t) or t.startswith(word)) for i in ids]  # fmt: skip
        return torch.tensor(sorted(ids), dtype=torch.long)

    def index(self, req: Request, k: int = 0) -> Index:
        """The compiled index for a request asking ``k`` names (cached by its regex)."""
        rx = answer_regex(req, self.max_label, self.allow_blocked, k)
        if rx not in self._cache:
            self._cache[rx] = Index(rx, self.vocabulary)
        return self._cache[rx]


def hint_tokens(partial: str, words: tuple[str, ...], by_string: dict[str, list[int]]) -> list[int]:
    """Token ids that continue the open label ``partial`` along a hint word: from the label's
    start, or after one complete hint word (two-word names; no steering after the second)."""
    starts = [0] + [len(w) for w in words if len(partial) > 0 and partial.startswith(w)]
    out: list[int] = []
    for b in starts:
        v = partial[b:]
        for w in words:
            if len(w) <= len(v) or not w.startswith(v):
                continue
            for e in range(len(v) + 1, len(w) + 1):
                piece = w[len(v) : e]
                if len(piece) >= 2 or e == len(w):  # no letter-by-letter steering
                    out += by_string.get(piece, [])
    return out


@dataclass
class RowTrace:
    """What the processor saw for one row: chosen tokens and their unconstrained log-probs."""

    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    bans: int = 0
    done: bool = False
    ban_skipped: int = 0


class ContractProcessor:
    """A transformers logits processor: mask to the row's regex, ban repeated labels, record
    the model's own (unmasked) log-probability of every chosen token for confidence scores."""

    def __init__(
        self,
        compiler: ConstraintCompiler,
        reqs: list[Request],
        constrained: bool = True,
        ban_duplicates: bool = True,
        distinct_prefix: int = 0,
        ks: list[int] | None = None,
        greedy_first: bool = False,
        max_label_tokens: int = 0,
        hint_words: list[tuple[str, ...]] | None = None,
        hint_bias: float = 0.0,
        block_threshold: float | None = None,
        decision: list[tuple[int, int, int]] | None = None,
    ) -> None:
        self.c = compiler
        self.constrained = constrained
        self.ban_duplicates = ban_duplicates and constrained
        self.distinct_prefix = min(distinct_prefix, 8) if self.ban_duplicates else 0
        ks = ks or [0] * len(reqs)  # names asked per row (0 = the request's n)
        self.guides = (
            [Guide(compiler.index(r, k)) for r, k in zip(reqs, ks, strict=True)]
            if constrained
            else []
        )
        self.traces = [RowTrace() for _ in reqs]
        self._prev_logp: torch.Tensor | None = None
        self._rows: list[int] = []  # the rows the last `mask` call scored, in order
        self._started = False
        # The first token (the refusal decision) is taken greedily even when sampling names.
        self.greedy_first = greedy_first
        # A label spelled in more than this many tokens is gibberish (good names take 2-4):
        # after that many only a token that ends the label is allowed (0 = no cap). Bounds the
        # decode steps of a batch, which runs until its longest answer ends.
        self.max_label_tokens = max_label_tokens if constrained else 0
        self._shifts = torch.arange(32, dtype=torch.int32)
        # Per row: the hint's words the labels are steered towards (empty = no steering).
        self.hint_words = hint_words if constrained and hint_bias else None
        self.hint_bias = hint_bias
        # The refusal decision: with a threshold (chosen on val by the refusal stage), row i
        # opens `blocked` exactly when score(blocked token) - score(success token) at its
        # decision step exceeds it (``decision[i]`` = (step, blocked id, success id), as
        # ``refusal.decision_ids`` reads them), the other branch is masked; None = greedy.
        self.block_threshold = block_threshold if constrained and decision else None
        self.decision = decision or []

    def finished(self, i: int) -> bool:
        """True when row ``i`` reached an accepting state (its answer is complete)."""
        return self.guides[i].is_finished() if self.constrained else self.traces[i].done

    def _text(self, i: int) -> str:
        return "".join(self.c.strings[t] for t in self.traces[i].token_ids)

    def done(self, i: int) -> bool:
        """True when row ``i`` needs no more tokens (complete answer, or EOS unconstrained)."""
        return self.traces[i].done or (self.constrained and self.finished(i))

    def consume(self, last: torch.Tensor) -> None:
        """Record the tokens chosen at the previous step (and advance the guides); ``last[j]``
        belongs to the ``j``-th row the previous ``mask`` call scored."""
        if self._prev_logp is None:
            return
        for j, i in enumerate(self._rows):
            tid = int(last[j])
            tr = self.traces[i]
            if self.constrained:
                g = self.guides[i]
                if g.is_finished():
                    continue  # EOS or padding after the answer
                if tid == self.c.eos_id:
                    tr.done = True
                    continue
                if not g.accepts_tokens([tid]):
                    continue  # cannot happen under the mask; never crash on it
                g.advance(tid, return_tokens=False)
            elif tid == self.c.eos_id or tr.done:
                tr.done = True
                continue
            tr.token_ids.append(tid)
            tr.logprobs.append(float(self._prev_logp[j, tid]))
        self._prev_logp = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        """transformers' logits-processor interface (the ``reference`` backend): every row."""
        if self._started:
            self.consume(input_ids[:, -1])
        return self.mask(list(range(input_ids.shape[0])), scores)

    def mask(self, rows: list[int], scores: torch.Tensor) -> torch.Tensor:
        """Scores of the given rows (``scores[j]`` is row ``rows[j]``) with everything the row's
        regex, the duplicate ban and the label cap forbid set to -inf."""
        self._started = True
        self._rows = rows
        self._prev_logp = torch.log_softmax(scores.float(), dim=-1)
        if not self.constrained:
            return scores
        bsz, vsize = scores.shape
        words = (vsize + 31) // 32
        masks = torch.zeros((bsz, words), dtype=torch.int32)
        for j, i in enumerate(rows):
            g = self.guides[i]
            if g.is_finished():
                masks[j, self.c.eos_id // 32] = 1 << (self.c.eos_id % 32)
            else:
                g.write_mask_into(masks[j].data_ptr(), words, 4)
        bits = (masks.unsqueeze(-1) >> self._shifts) & 1
        allowed = bits.view(bsz, -1)[:, :vsize].bool()
        out = scores.masked_fill(~allowed, float("-inf"))
        if self.ban_duplicates:
            for j, i in enumerate(rows):
                self._ban(i, out, j)
        if self.max_label_tokens:
            for j, i in enumerate(rows):
                self._cap(i, out, j)
        if self.hint_words:
            for j, i in enumerate(rows):
                self._steer(i, out, j)
        if self.block_threshold is not None:
            for j, i in enumerate(rows):
                self._decide(i, scores, out, j)
        if self.greedy_first and not any(tr.token_ids for tr in self.traces):
            best = out.argmax(-1, keepdim=True)
            out = torch.full_like(out, float("-inf")).scatter(1, best, out.gather(1, best))
        return out

    def _cap(self, i: int, out: torch.Tensor, j: int | None = None) -> None:
        """Force row ``i``'s open label (scores ``out[j]``) to end once it has
        ``max_label_tokens`` tokens."""
        j = i if j is None else j
        ids = self.traces[i].token_ids
        k = 0
        for t in reversed(ids):
            piece = self.c.strings[t]
            if "\n" in piece or "." in piece:
                break
            k += 1
        else:
            return  # still on the status word
        if k < self.max_label_tokens or "." in self.c.strings[ids[-k - 1]]:
            return
        keep = out[j, self.c.closers]
        if torch.isfinite(keep).any():
            row = torch.full_like(out[j], float("-inf"))
            row[self.c.closers] = keep
            out[j] = row

    def _decide(self, i: int, scores: torch.Tensor, out: torch.Tensor, j: int) -> None:
        """At row ``i``'s decision step, keep only the branch its margin picks."""
        step, blk, suc = self.decision[i]
        if len(self.traces[i].token_ids) != step:
            return
        margin = float(scores[j, blk]) - float(scores[j, suc])
        lose = SUCCESS if margin > self.block_threshold else BLOCKED
        row = out[j].clone()
        row[self.c.opening(lose)] = float("-inf")
        if torch.isfinite(row).any():
            out[j] = row

    def _steer(self, i: int, out: torch.Tensor, j: int) -> None:
        """Add ``hint_bias`` to the allowed tokens that continue row ``i``'s open label along
        one of its hint words."""
        words = self.hint_words[i] if self.hint_words else ()
        if not words:
            return
        m = OPEN_LABEL_RE.search(self._text(i))
        if not m:
            return
        ids = hint_tokens(m.group(1), words, self.c.by_string)
        if ids:
            idx = torch.tensor(sorted(set(ids)), dtype=torch.long)
            out[j, idx] += self.hint_bias  # -inf (disallowed) stays -inf

    def _ban(self, i: int, out: torch.Tensor, j: int) -> None:
        """Forbid tokens that would end row ``i``'s open label (scores ``out[j]``) with one
        already used in this row."""
        text = self._text(i)
        m = OPEN_LABEL_RE.search(text)
        if not m:
            return
        partial = m.group(1)
        used = {lab for lab, _ in DOMAIN_RE.findall(text)}
        banned: list[int] = []
        for lab in used:
            k = min(self.distinct_prefix, len(lab))
            if len(partial) < k and lab.startswith(partial):
                # The next token may not complete the used label's first k characters.
                banned += self.c.starts_with.get(lab[len(partial) : k], [])
            if lab.startswith(partial):
                rest = lab[len(partial) :]
                banned += self.c.dot_prefix.get(rest, [])
                if len(lab) >= self.c.max_label and rest:
                    # A used label at full length has no way out but '.': never re-enter it.
                    banned += self.c.by_string.get(rest, [])
        if not banned:
            return
        row = out[j].clone()
        row[torch.tensor(banned, dtype=torch.long)] = float("-inf")
        if torch.isfinite(row).any():
            out[j] = row
            self.traces[i].bans += 1
        else:  # nothing else is allowed: keep the duplicate, the engine retries the row
            self.traces[i].ban_skipped += 1


def domain_logprobs(trace: RowTrace, strings: list[str]) -> dict[str, float]:
    """Mean log-probability of the tokens that spell each domain in a row's answer."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for t in trace.token_ids:
        spans.append((pos, pos + len(strings[t])))
        pos += len(strings[t])
    text = "".join(strings[t] for t in trace.token_ids)
    out: dict[str, float] = {}
    for m in DOMAIN_RE.finditer(text):
        a, b = m.start(1), m.end(2)
        lps = [lp for (s, e), lp in zip(spans, trace.logprobs, strict=True) if s < b and e > a]
        if lps and m.group(1) + m.group(2) not in out:
            out[m.group(1) + m.group(2)] = sum(lps) / len(lps)
    return out
