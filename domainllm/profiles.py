"""Run the whole pipeline under a named profile of parameter overrides.

``python -m domainllm.profiles quick`` reads ``profiles/quick.yaml`` (a flat mapping of dotted
params.yaml keys to values), checks that every key already exists in ``params.yaml`` and then
runs ``dvc exp run -S key=value ...``: the run is an experiment, so params.yaml and the main
workspace results stay as they are and ``dvc exp show`` lists it beside the others.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from domainllm.params import ParamsError, UserError, load_yaml, run_stage


def load_profile(path: Path) -> dict[str, Any]:
    """A profile file: a flat mapping of dotted keys to scalar or list values."""
    if not path.is_file():
        names = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise UserError(f"{path}: no such profile (available: {', '.join(names) or 'none'})")
    data = load_yaml(path, expect="a mapping of dotted params keys to values")
    for key, val in data.items():
        if not isinstance(key, str) or isinstance(val, dict):
            raise ParamsError(f"{path}: '{key}' must be a dotted key with a value, not a section")
    return data


def check_keys(overrides: dict[str, Any], params: dict[str, Any], source: str) -> None:
    """Raise ParamsError (one line) for the first key that is not a leaf of params.yaml."""
    for key in overrides:
        node: Any = params
        walked: list[str] = []
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(walked) or "the top level"
                have = ", ".join(sorted(map(str, node))) if isinstance(node, dict) else "no keys"
                raise ParamsError(
                    f"{source}: '{key}' is not in params.yaml ('{part}' not under {where}; "
                    f"it has: {have})"
                )
            node = node[part]
            walked.append(part)
        if isinstance(node, dict):
            raise ParamsError(f"{source}: '{key}' is a section in params.yaml; name a leaf key")


PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.:/-]*")


def set_arg(key: str, val: Any) -> str:
    """One ``-S`` override. Name-like strings go as they are; every other value as JSON (a
    quoted string stays a string, e.g. '1e-3'), which DVC's override parser reads back."""
    plain = isinstance(val, str) and PLAIN.fullmatch(val) and isinstance(yaml.safe_load(val), str)
    return f"{key}={val if plain else json.dumps(val)}"


def command(overrides: dict[str, Any], extra: list[str]) -> list[str]:
    """The ``dvc exp run`` command line of a profile."""
    cmd = ["dvc", "exp", "run"]
    for key, val in overrides.items():
        cmd += ["-S", set_arg(key, val)]
    return cmd + extra


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Arguments after -- go to dvc exp run."
    )
    ap.add_argument("profile", help="name of profiles/<name>.yaml")
    ap.add_argument("--profiles-dir", type=Path, default=Path("profiles"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--dry-run", action="store_true", help="check and print, do not run")
    argv = sys.argv[1:] if argv is None else argv
    # Everything after a bare `--` goes to `dvc exp run` unchanged (e.g. `-- --name quick1`).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    path = args.profiles_dir / f"{args.profile}.yaml"
    overrides = load_profile(path)
    check_keys(overrides, load_yaml(args.params), str(path))
    cmd = command(overrides, extra)
    print(shlex.join(cmd), flush=True)
    if args.dry_run:
        return
    # The venv's dvc, also when make runs this without the venv on PATH.
    rc = subprocess.run([sys.executable, "-m", *cmd], check=False).returncode
    if rc:
        sys.exit(rc)


if __name__ == "__main__":
    run_stage(main)
