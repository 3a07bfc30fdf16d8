"""What the model reads and writes: a Request rendered into chat messages from the versioned
prompt files in ``prompts/generator/``, and the model's compact answer text.

Training and inference both call ``render_messages`` so the model always sees the same text
(with the same naming hint, ``domainllm/hints.py``: synth stores it with each row, the engine
computes it with the same function);
``prompt_hash`` goes into run configs and metrics so a prompt edit is visible everywhere.

The model does not write the contract JSON. It writes only what it decides: ``success`` and one
domain per line, or ``blocked``. Code wraps that in the contract (``answer_response``), and the
confidence comes from the model's log-probabilities, so the ~60 tokens of JSON keys, quotes and
confidence digits the grammar would force cost neither a decode step nor training compute
(a five-name answer is ~22 tokens instead of ~78).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domainllm.contract import Request, Response, Suggestion, blocked
from domainllm.io import sha256_text

if TYPE_CHECKING:
    from domainllm.hints import Hint

DEFAULT_PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts" / "generator"
SUCCESS, BLOCKED = "success", "blocked"  # the answer's first word: the refusal decision
SEP = "\n"  # between names: BPE tokenizers never merge a newline with letters


@dataclass(frozen=True)
class PromptSet:
    """The system prompt and the user template, with their combined hash."""

    system: str
    user_template: str

    @property
    def hash(self) -> str:
        """sha256 of both files' text, first 12 hex digits."""
        return sha256_text(self.system + "\0" + self.user_template)[:12]


def load_prompts(folder: str | Path = DEFAULT_PROMPT_DIR) -> PromptSet:
    """Load ``system.txt`` and ``user.txt`` from a prompt folder."""
    folder = Path(folder)
    return PromptSet(
        system=(folder / "system.txt").read_text(encoding="utf-8").strip(),
        user_template=(folder / "user.txt").read_text(encoding="utf-8").strip(),
    )


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def render_words(hint: Hint | None) -> str:
    """The hint lines under a request: the bank's start and end words (empty without a hint)."""
    if hint is None:
        return ""
    return f"\nstart: {' '.join(hint.heads)}\nend: {' '.join(hint.tails)}"


def render_user(req: Request, prompts: PromptSet, hint: Hint | None = None) -> str:
    """The user turn for one request (with the naming hint's words when there is one)."""
    return prompts.user_template.format(
        description=req.description,
        tlds=", ".join(req.tlds),
        hyphens=_yn(req.allow_hyphens),
        digits=_yn(req.allow_numbers),
        puns=_yn(req.prefer_puns),
        n=req.n,
        words=render_words(hint),
    )


def render_messages(
    req: Request, prompts: PromptSet | None = None, hint: Hint | None = None
) -> list[dict[str, str]]:
    """System and user messages for a chat template (the assistant turn is the answer)."""
    prompts = prompts or load_prompts()
    return [
        {"role": "system", "content": prompts.system},
        {"role": "user", "content": render_user(req, prompts, hint)},
    ]


def render_answer(resp: Response) -> str:
    """The compact text the model is trained to write for an answer."""
    if resp.status == "blocked":
        return BLOCKED
    return SEP.join([SUCCESS, *(s.domain for s in resp.suggestions)])


def parse_answer(text: str) -> tuple[str, list[str]]:
    """(status, domains) of a compact answer; ValueError (one line) when it is not one."""
    lines = [x.strip() for x in text.strip().split(SEP)]
    if lines == [BLOCKED]:
        return BLOCKED, []
    if lines[0] != SUCCESS:
        raise ValueError(f"answer must start with '{SUCCESS}' or be '{BLOCKED}': {lines[0][:40]!r}")
    if len(lines) < 2 or not all(lines[1:]):
        raise ValueError("a success answer needs one domain per line")
    return SUCCESS, lines[1:]


def answer_response(status: str, domains: list[str], conf: dict[str, float]) -> Response:
    """The contract answer for a parsed compact answer (confidence per domain, default 0)."""
    if status == BLOCKED:
        return blocked()
    return Response(
        status="success",
        suggestions=[Suggestion(domain=d, confidence=round(conf.get(d, 0.0), 2)) for d in domains],
    )
