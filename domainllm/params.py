"""Typed, validated access to ``params.yaml``.

Each stage owns one top-level section and a pydantic model (``extra="forbid"``) describing it.
``load_section`` validates it before the stage writes anything; any problem becomes a
``ParamsError`` whose message is one line naming the key and what is allowed, and
``run_stage`` turns that (and other expected user errors) into exit code 2 with no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from domainllm.runtime import keep_freed_memory

T = TypeVar("T", bound=BaseModel)


class UserError(Exception):
    """An error the user can fix (bad params, missing input or package): shown as one line."""


class ParamsError(UserError):
    """params.yaml has an unknown key, a wrong type or an out-of-range value."""


class Strict(BaseModel):
    """Base for every params model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _describe(err: dict[str, Any], section: str) -> str:
    loc = ".".join(str(p) for p in (section, *err["loc"]))
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"params.yaml: unknown key '{loc}' (remove it or check its spelling)"
    if kind == "missing":
        return f"params.yaml: missing key '{loc}'"
    got = err.get("input")
    got_s = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"params.yaml: '{loc}' {err['msg'].lower()}{got_s}"


def validate_section(data: Any, section: str, model: type[T]) -> T:
    """Validate an already-loaded section; raise ParamsError with a one-line message."""
    if data is None:
        raise ParamsError(f"params.yaml: missing section '{section}'")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(_describe(exc.errors()[0], section)) from None


def load_yaml(
    path: str | Path = "params.yaml", expect: str = "a mapping of stage sections"
) -> dict[str, Any]:
    """Read a YAML mapping; a missing, unparsable or non-mapping file is a ParamsError."""
    p = Path(path)
    if not p.is_file():
        raise ParamsError(f"{p}: file not found (run from the repository root)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{p}: top level must be {expect}")
    return data


def load_section(section: str, model: type[T], path: str | Path = "params.yaml") -> T:
    """Load and validate one top-level section of ``params.yaml``."""
    return validate_section(load_yaml(path).get(section), section, model)


def run_stage(main: Callable[[], Any]) -> None:
    """Run a stage's ``main``; a UserError prints one line to stderr and exits 2."""
    keep_freed_memory()
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: outputs already written are complete; rerun to resume", file=sys.stderr)
        sys.exit(130)
