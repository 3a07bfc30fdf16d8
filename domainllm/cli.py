"""The ``domainllm`` command: ``suggest`` one request, ``predict`` a JSONL file, ``serve`` the API,
``judge-validate`` the name judge on a labelled file, ``availability-refresh`` the RDAP bootstrap.

    domainllm suggest "organic coffee shop in Portland" --tlds .com,.co --no-hyphens
    domainllm suggest "organic coffee shop in Portland" --check-availability --prefer-available
    domainllm predict --model models/baseline --in requests.jsonl --out out.jsonl
    domainllm judge-validate --gold labelled.jsonl --out agreement.json

Each subcommand lives in its own ``add_<name>`` / ``cmd_<name>`` pair of functions. Bad input is
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domainllm.contract import Request, dump_response
from domainllm.params import UserError

DEFAULT_MODELS = ("models/improved", "models/baseline", "models/base")


def _request_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    return f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}"


def _engine(args: argparse.Namespace) -> Any:
    """Load the engine named by --model/--guard (defaults: newest model, models/guard)."""
    from domainllm.engine import Engine, evaluated_settings, refusal_file, refusal_threshold

    model = args.model or next((Path(m) for m in DEFAULT_MODELS if Path(m).is_dir()), None)
    if model is None:
        raise UserError("no model folder found: pass --model DIR (or run `make run` first)")
    guard = args.guard if args.guard is not None else Path("models/guard")
    if not (guard / "classifier.joblib").is_file():
        guard = None  # policy rules alone
    cal = Path("data/predict") / Path(model).name / "calibration.json"
    # decode as the pipeline evaluated (params.yaml predict.engine: reranking, bans, retries),
    # with the iteration's refusal threshold chosen on val by the refusal stage
    settings = evaluated_settings(
        args.params,
        constrained=not args.free,
        batch_size=args.batch_size,
        threads=args.threads,
        calibration=str(cal) if cal.is_file() else None,
        block_threshold=refusal_threshold(refusal_file(Path(model))),
    )
    return Engine.load(Path(model), guard, settings)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="iteration folder (adapter) or base-model folder")
    p.add_argument("--guard", type=Path, help="guard folder (default models/guard when trained)")
    p.add_argument("--free", action="store_true", help="unconstrained decoding (diagnostics)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="engine settings: predict.engine"
    )


# -- suggest ------------------------------------------------------------------------------------
def add_suggest(sub: Any) -> None:
    p = sub.add_parser("suggest", help="suggest domains for one business description")
    p.add_argument("description")
    p.add_argument("--tlds", default=".com", help="comma-separated, e.g. .com,.co or .co.uk")
    p.add_argument("--hyphens", dest="allow_hyphens", action="store_true")
    p.add_argument("--no-hyphens", dest="allow_hyphens", action="store_false")
    p.add_argument("--numbers", dest="allow_numbers", action="store_true")
    p.add_argument("--no-numbers", dest="allow_numbers", action="store_false")
    p.add_argument("--puns", dest="prefer_puns", action="store_true")
    p.add_argument("-n", type=int, default=5, help="number of suggestions (1-10)")
    _common(p)
    from domainllm.availability.answers import add_arguments

    add_arguments(p, per_request=True)
    p.set_defaults(func=cmd_suggest, allow_hyphens=False, allow_numbers=False, prefer_puns=False)


def cmd_suggest(args: argparse.Namespace) -> int:
    try:
        req = Request(
            description=args.description,
            tlds=args.tlds,
            allow_hyphens=args.allow_hyphens,
            allow_numbers=args.allow_numbers,
            prefer_puns=args.prefer_puns,
            n=args.n,
        )
    except ValidationError as exc:
        raise UserError(_request_error(exc)) from None
    if not (args.check_availability or args.prefer_available):
        print(dump_response(_engine(args).suggest(req)))  # the contract, exactly
        return 0
    return _suggest_with_availability(args, req)


def _suggest_with_availability(args: argparse.Namespace, req: Request) -> int:
    """The answer with ``"available"`` on each suggestion (taken ones replaced on request)."""
    import asyncio

    from domainllm.availability import AvailabilityChecker, annotate, pooled_runner
    from domainllm.availability.answers import settings_from_args

    checker = AvailabilityChecker(settings_from_args(args))  # bad options fail before loading
    resp = pooled_runner(_engine(args))([req])[0]
    out = asyncio.run(annotate(resp, checker, args.prefer_available))
    print(json.dumps(out, separators=(",", ":"), ensure_ascii=False))
    return 0


# -- predict ------------------------------------------------------------------------------------
def add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="answer a JSONL file of requests")
    p.add_argument("--in", dest="inp", type=Path, required=True, help="JSONL of requests")
    p.add_argument("--out", type=Path, required=True, help="JSONL of {id, ...contract answer}")
    _common(p)
    p.set_defaults(func=cmd_predict)


def parse_rows(path: Path) -> tuple[list[tuple[int, Any, Request]], list[dict[str, Any]]]:
    """``(line, id, request)`` per usable line (flat rows or rows with a ``request`` object) and
    one ``{"line", "id", "error"}`` per line that is not JSON or not a valid request (its id is
    the row's own when it has one, else the line number)."""
    from domainllm.io import iter_jsonl_lines

    if not path.is_file():
        raise UserError(f"--in {path}: file not found")
    ok: list[tuple[int, Any, Request]] = []
    bad: list[dict[str, Any]] = []
    for i, row, problem in iter_jsonl_lines(path):
        if problem:
            bad.append({"line": i, "id": i, "error": f"line {i}: {problem}"})
            continue
        rid = row.get("id", i) if isinstance(row, dict) else i
        body = row.get("request", row) if isinstance(row, dict) else row
        try:
            ok.append((i, rid, Request.model_validate(body)))
        except ValidationError as exc:
            bad.append({"line": i, "id": rid, "error": f"line {i}: {_request_error(exc)}"})
    return ok, bad


def cmd_predict(args: argparse.Namespace) -> int:
    """Answer every usable row; bad rows become error rows in input order (exit code 1)."""
    from tqdm import tqdm

    from domainllm.io import write_jsonl

    ok, bad = parse_rows(args.inp)
    engine = _engine(args) if ok else None  # an all-bad file needs no model
    rows: list[tuple[int, dict[str, Any]]] = []
    for start in tqdm(range(0, len(ok), args.batch_size), desc="predict", unit="batch"):
        chunk = ok[start : start + args.batch_size]
        answers = engine.suggest_batch([r for _, _, r in chunk])
        for (line, rid, _), resp in zip(chunk, answers, strict=True):
            rows.append((line, {"id": rid, **resp.to_dict()}))
    rows += [(b["line"], {"id": b["id"], "error": b["error"]}) for b in bad]
    # One atomic write once every row is answered: the output is never half a file.
    write_jsonl(args.out, [r for _, r in sorted(rows, key=lambda x: x[0])])
    for b in bad:
        print(f"skipped {b['error']}", file=sys.stderr)
    print(json.dumps({"answered": len(ok), "invalid_rows": len(bad)}), file=sys.stderr)
    return 1 if bad else 0


# -- serve (domainllm.serve.runner: options, loading, uvicorn; the app never imports it) ----------
def add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API (see domainllm/serve)")
    try:
        from domainllm.serve.runner import add_arguments
    except ImportError:  # server not installed in this checkout
        return
    add_arguments(p)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from domainllm.serve.runner import run

    run(args)
    return 0


# -- judge-validate -----------------------------------------------------------------------------
def add_judge_validate(sub: Any) -> None:
    p = sub.add_parser(
        "judge-validate", help="agreement of the configured judge with a labelled file"
    )
    p.add_argument("--gold", type=Path, required=True, help="JSONL rows in the data/gold format")
    p.add_argument("--out", type=Path, required=True, help="where the agreement JSON goes")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--calibration", type=Path, default=Path("models/judge_calibration.json"))
    p.add_argument("--prompts", type=Path, default=Path("prompts/judge"))
    p.add_argument("--bank", type=Path, default=Path("data/naming"), help="naming bank folder")
    p.add_argument("--model-dir", type=Path, default=Path("models/judge"))
    p.add_argument("--cache", type=Path, default=Path("cache/judge"))
    p.set_defaults(func=cmd_judge_validate)


def cmd_judge_validate(args: argparse.Namespace) -> int:
    """Score every usable row with the fitted calibration; unusable rows are errors (exit 1)."""
    from domainllm.io import read_json, write_json
    from domainllm.judge.calibrate import Calibration
    from domainllm.judge.namejudge import NameJudge, verdicts
    from domainllm.judge.params import JudgeParams
    from domainllm.judge.validate import agreement, load_gold
    from domainllm.params import load_section

    if not args.gold.is_file():
        raise UserError(f"--gold {args.gold}: not found")
    if not args.calibration.is_file():
        raise UserError(
            f"--calibration {args.calibration}: not found (run `dvc repro judge_validate`)"
        )
    try:
        cal = Calibration.from_dict(read_json(args.calibration))
    except (KeyError, ValueError) as exc:
        raise UserError(
            f"--calibration {args.calibration}: not a calibration file ({exc})"
        ) from None
    jp = load_section("judge", JudgeParams, args.params)
    rows, items, errors = load_gold(args.gold)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not rows:
        raise UserError(f"--gold {args.gold}: no usable rows")
    judge = NameJudge.load(args.prompts, jp, args.model_dir, args.cache, args.bank)
    feats, _ = judge.features(items, "judge-validate")
    try:
        res = agreement(rows, verdicts(cal, feats))
    except ValueError as exc:
        raise UserError(f"--calibration {args.calibration}: {exc}") from None
    res |= {"errors": len(errors), "calibration": str(args.calibration), **judge.hashes()}
    write_json(args.out, res)
    keys = ("n", "accuracy", "kappa", "spearman", "pairwise_accuracy", "errors")
    print(json.dumps({k: res[k] for k in keys}))
    return 1 if errors else 0


# -- availability-refresh -----------------------------------------------------------------------
def add_availability_refresh(sub: Any) -> None:
    from domainllm.availability.bootstrap import IANA_URL, refreshed_path

    p = sub.add_parser(
        "availability-refresh", help="download IANA's RDAP bootstrap (which server per TLD)"
    )
    p.add_argument("--url", default=IANA_URL, help=f"default {IANA_URL}")
    p.add_argument(
        "--out",
        type=Path,
        default=refreshed_path(),
        help="default: the user cache copy, used instead of the shipped subset",
    )
    p.set_defaults(func=cmd_availability_refresh)


def cmd_availability_refresh(args: argparse.Namespace) -> int:
    from domainllm.availability import refresh

    boot = refresh(args.url, args.out)
    info = {"out": str(args.out), "tlds": len(boot.servers), "publication": boot.publication}
    print(json.dumps(info))
    return 0


# -----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="domainllm", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    add_suggest(sub)
    add_predict(sub)
    add_serve(sub)
    add_judge_validate(sub)
    add_availability_refresh(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    from domainllm.loading import silence_4bit_kernel_notice

    # before the guard's or the model's imports pull in bitsandbytes: an answer is all we print
    silence_4bit_kernel_notice()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
