"""The request and answer contract shared by the data, the model, the engine and the API.

Answers are always one of:
``{"status":"success","suggestions":[{"domain":"beanhaven.com","confidence":0.91}, ...]}``
``{"status":"blocked","message":"Request contains inappropriate content","suggestions":[]}``
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

BLOCKED_MESSAGE = "Request contains inappropriate content"
MAX_DESCRIPTION = 2000
MAX_N = 10
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
TLD_RE = re.compile(r"^\.[a-z][a-z0-9-]{0,61}[a-z0-9]$|^\.[a-z]{2}$")


def normalize_tld(tld: str) -> str:
    """'COM' or '.com ' -> '.com'."""
    t = tld.strip().lower()
    return t if t.startswith(".") else "." + t


class Request(BaseModel):
    """A suggestion request. Unknown fields are ignored (a row's ``id`` travels beside it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    description: str = Field(description="business description, 1-2000 characters after trimming")
    tlds: list[str] = Field(default_factory=lambda: [".com"], min_length=1, max_length=10)
    allow_hyphens: bool = False
    allow_numbers: bool = False
    prefer_puns: bool = False
    n: Annotated[int, Field(ge=1, le=MAX_N)] = 5

    @field_validator("description")
    @classmethod
    def _trim(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty (give a business description)")
        if len(v) > MAX_DESCRIPTION:
            raise ValueError(f"is {len(v)} characters; at most {MAX_DESCRIPTION} allowed")
        return v

    @field_validator("tlds", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return [p for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @field_validator("tlds")
    @classmethod
    def _tlds(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for raw in v:
            t = normalize_tld(raw)
            if not TLD_RE.match(t):
                raise ValueError(f"'{raw}' is not a TLD (use forms like .com or .co.uk's .uk)")
            if t not in out:
                out.append(t)
        return out


class Suggestion(BaseModel):
    """One suggested domain with the model's confidence in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]


class Response(BaseModel):
    """An answer in the contract: success with suggestions, or blocked with the fixed message."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["success", "blocked"]
    suggestions: list[Suggestion] = Field(default_factory=list)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The canonical dict (key order fixed; ``message`` only when blocked)."""
        if self.status == "blocked":
            return {"status": "blocked", "message": BLOCKED_MESSAGE, "suggestions": []}
        return {
            "status": "success",
            "suggestions": [
                {"domain": s.domain, "confidence": round(s.confidence, 2)} for s in self.suggestions
            ],
        }


def blocked() -> Response:
    """The refusal answer."""
    return Response(status="blocked", message=BLOCKED_MESSAGE, suggestions=[])


def dump_response(resp: Response | dict[str, Any]) -> str:
    """The canonical compact JSON text of an answer: the exact string the model is trained on."""
    d = resp.to_dict() if isinstance(resp, Response) else Response.model_validate(resp).to_dict()
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def parse_response(text: str) -> Response:
    """Parse model text into a Response; raise ValueError (one line) if it breaks the contract."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at char {exc.pos}") from None
    try:
        resp = Response.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ValueError(f"schema: {'.'.join(map(str, e['loc']))}: {e['msg']}") from None
    if resp.status == "blocked" and (resp.suggestions or resp.message != BLOCKED_MESSAGE):
        raise ValueError("schema: a blocked answer has the fixed message and no suggestions")
    return resp


def domain_problems(domain: str) -> list[str]:
    """Syntax problems of a domain name (RFC 1035 labels, IDNA '--' rule, length)."""
    problems: list[str] = []
    if len(domain) > 253:
        problems.append("longer than 253 characters")
    labels = domain.split(".")
    if len(labels) < 2:
        problems.append("no TLD")
    for label in labels:
        if not 1 <= len(label) <= 63:
            problems.append(f"label '{label}' not 1-63 characters")
        elif not LABEL_RE.match(label):
            problems.append(f"label '{label}' has characters other than a-z, 0-9, inner '-'")
        elif len(label) >= 4 and label[2:4] == "--":
            problems.append(f"label '{label}' has '--' in positions 3-4")
    return problems


def constraint_problems(domain: str, req: Request) -> list[str]:
    """Ways a (syntactically valid) domain breaks the request's TLD, hyphen or digit rules."""
    problems: list[str] = []
    if not any(domain.endswith(t) and len(domain) > len(t) for t in req.tlds):
        problems.append(f"TLD not in {req.tlds}")
    name = domain.split(".", 1)[0]
    if "-" in name and not req.allow_hyphens:
        problems.append("hyphen not allowed")
    if any(c.isdigit() for c in name) and not req.allow_numbers:
        problems.append("digit not allowed")
    return problems


def answer_problems(resp: Response, req: Request) -> list[str]:
    """Every way a success answer breaks the request: invalid, constraint, duplicate, count."""
    if resp.status == "blocked":
        return []
    out: list[str] = []
    seen: set[str] = set()
    for s in resp.suggestions:
        out += [f"{s.domain}: {p}" for p in domain_problems(s.domain)]
        out += [f"{s.domain}: {p}" for p in constraint_problems(s.domain, req)]
        if s.domain in seen:
            out.append(f"{s.domain}: duplicate")
        seen.add(s.domain)
    if len(resp.suggestions) != req.n:
        out.append(f"{len(resp.suggestions)} suggestions, {req.n} requested")
    return out
