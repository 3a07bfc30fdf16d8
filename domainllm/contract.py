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
MAX_SUFFIX_LABELS = 3  # '.com', '.co.uk', '.act.edu.au'
# A suffix a request may ask for: up to 3 labels of 2-63 characters (letters, digits, inner
# hyphens), the last (the TLD proper) starting with a letter: '.com', '.io', '.co.uk',
# '.com.au', '.xn--p1ai'. Registries under a country code ('.co.uk', '.com.br', '.co.jp') are
# where British, Brazilian or Japanese businesses register, so they are first-class suffixes.
TLD_RE = re.compile(
    r"^(?:\.[a-z0-9][a-z0-9-]{0,61}[a-z0-9])"
    rf"{{0,{MAX_SUFFIX_LABELS - 1}}}"
    r"\.[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


def normalize_tld(tld: str) -> str:
    """'COM', '.com ' -> '.com'; 'CO.UK' -> '.co.uk'."""
    t = tld.strip().lower()
    return t if t.startswith(".") else "." + t


def is_suffix(tld: str) -> bool:
    """A normalised suffix a request may ask for (``TLD_RE``; '--' at positions 3-4 of a label
    only as the 'xn--' of an internationalised TLD, as for every domain label)."""
    return bool(TLD_RE.match(tld)) and not any(
        lab[2:4] == "--" and not lab.startswith("xn--") for lab in tld[1:].split(".")
    )


def split_domain(domain: str) -> tuple[str, str]:
    """('name', '.suffix') of a suggested domain: 'bean-haven.co.uk' -> ('bean-haven', '.co.uk').

    A suggestion is always one label under a requested suffix, so the name is everything before
    the first dot and the suffix everything from it ('' when there is no dot).
    """
    name, dot, rest = domain.partition(".")
    return name, dot + rest


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
            if not is_suffix(t):
                raise ValueError(
                    f"'{raw}' is not a domain suffix (use forms like .com, .io or .co.uk: "
                    f"1-{MAX_SUFFIX_LABELS} labels of 2-63 letters, digits or inner hyphens, "
                    "the last starting with a letter)"
                )
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
    for i, label in enumerate(labels):
        if not 1 <= len(label) <= 63:
            problems.append(f"label '{label}' not 1-63 characters")
        elif not LABEL_RE.match(label):
            problems.append(f"label '{label}' has characters other than a-z, 0-9, inner '-'")
        elif len(label) >= 4 and label[2:4] == "--" and not (i and label.startswith("xn--")):
            # a suffix may be an internationalised TLD ('.xn--p1ai'); a suggested name may not
            problems.append(f"label '{label}' has '--' in positions 3-4")
    return problems


def constraint_problems(domain: str, req: Request) -> list[str]:
    """Ways a (syntactically valid) domain breaks the request's TLD, hyphen or digit rules.

    A domain answers a requested suffix when it is exactly one label followed by that suffix:
    'shop.co.uk' answers '.co.uk' but not '.uk' (it would be the label 'shop.co', a subdomain
    of co.uk), and 'x.shop.com' does not answer '.com'.
    """
    problems: list[str] = []
    name, suffix = split_domain(domain)
    if suffix not in req.tlds:
        problems.append(f"TLD not in {req.tlds}")
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
