"""Render a Request into chat messages from the versioned prompt files in ``prompts/generator/``.

Training and inference both call ``render_messages`` so the model always sees the same text;
``prompt_hash`` goes into run configs and metrics so a prompt edit is visible everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from domainllm.contract import Request
from domainllm.io import sha256_text

DEFAULT_PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts" / "generator"


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
    return "allowed" if flag else "not allowed"


def render_user(req: Request, prompts: PromptSet) -> str:
    """The user turn for one request."""
    return prompts.user_template.format(
        description=req.description,
        tlds=", ".join(req.tlds),
        hyphens=_yn(req.allow_hyphens),
        digits=_yn(req.allow_numbers),
        puns="preferred" if req.prefer_puns else "not needed",
        n=req.n,
    )


def render_messages(req: Request, prompts: PromptSet | None = None) -> list[dict[str, str]]:
    """System and user messages for a chat template (the assistant turn is the answer)."""
    prompts = prompts or load_prompts()
    return [
        {"role": "system", "content": prompts.system},
        {"role": "user", "content": render_user(req, prompts)},
    ]
