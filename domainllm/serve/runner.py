"""Running the API: ``domainllm serve`` options, the engine loader, a test/bench server thread.

    domainllm serve --model models/improved --guard models/guard --port 8000

``run`` checks that the pipeline's outputs exist (else: run `dvc pull` or `make run`) before
binding the port, then serves ``create_app`` with uvicorn; the model loads in the background.
Engine settings come from ``params.yaml`` (``predict.engine``) so serving decodes exactly as
evaluation did, with the iteration's calibration file from the predict stage.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domainllm.availability import AvailabilityChecker
from domainllm.availability.answers import add_arguments as add_availability_arguments
from domainllm.availability.answers import settings_from_args as availability_settings
from domainllm.contract import Request
from domainllm.params import UserError
from domainllm.serve.app import (
    MISSING_HINT,
    EngineLike,
    Loader,
    ServeSettings,
    create_app,
    log,
)
from domainllm.serve.logs import setup_logging


def check_model_outputs(model_dir: Path, guard_dir: Path | None) -> None:
    """Fail with a one-line UserError (and the fix) when the pipeline's outputs are missing."""
    for what, d in (("model", model_dir), ("guard", guard_dir)):
        if d is None:
            continue
        if not d.is_dir() or not any(d.iterdir()):
            raise UserError(f"{what} folder {d} is missing or empty: {MISSING_HINT}")


def engine_loader(model_dir: Path, guard_dir: Path | None, engine_settings: Any = None) -> Loader:
    """A loader for the real engine; missing files become the `dvc pull` / `make run` hint."""

    def load() -> EngineLike:
        from domainllm.engine import Engine, EngineSettings  # heavy import (torch)

        check_model_outputs(model_dir, guard_dir)
        try:
            engine = Engine.load(model_dir, guard_dir, engine_settings or EngineSettings())
        except FileNotFoundError as exc:
            raise UserError(f"{exc.filename or exc}: not found: {MISSING_HINT}") from None
        # Warm-up: the guard's embedder and the decoding constraints load lazily on first use;
        # do it now so "ready" means the first user request is not the slow one.
        engine.suggest_batch([Request(description="warm-up: a neighbourhood coffee shop")])
        return engine

    return load


class ServerThread:
    """Run an app with uvicorn in a background thread (tests, benchmarks): ``with ... as url``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.url = ""

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start (port in use?)")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()  # includes the lifespan shutdown: the engine is idle afterwards


TRAINED_MODELS = (Path("models/improved"), Path("models/baseline"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options: model, guard, engine settings and one option per ServeSettings."""
    parser.add_argument(
        "--model", type=Path, help="model folder (default: models/improved, else models/baseline)"
    )
    parser.add_argument(
        "--guard", type=Path, default=Path("models/guard"), help="guard folder (always applied)"
    )
    parser.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="engine settings: predict.engine"
    )
    parser.add_argument(
        "--calibration", type=Path, help="default: data/predict/<model name>/calibration.json"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: predict.engine)")
    add_availability_arguments(parser, per_request=False)  # used when a request asks
    for name, f in ServeSettings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        kind = f.annotation if f.annotation in (int, float, str) else str
        helptext = f"{f.description} (default {f.default})"
        parser.add_argument(flag, dest=name, type=kind, default=f.default, help=helptext)


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """Validate the options; a bad value is a one-line UserError naming the option."""
    values = {k: getattr(args, k) for k in ServeSettings.model_fields}
    try:
        return ServeSettings(**values)
    except ValidationError as exc:
        e = exc.errors()[0]
        flag = "--" + str(e["loc"][0]).replace("_", "-")
        raise UserError(f"{flag}: {e['msg'].lower()} (got {e.get('input')!r})") from None


def pick_model(model: Path | None) -> Path:
    """--model, else the newest trained iteration; none -> the `dvc pull` / `make run` hint."""
    if model is not None:
        return model
    found = next((m for m in TRAINED_MODELS if m.is_dir()), None)
    if found is None:
        raise UserError(
            f"no trained model in {', '.join(map(str, TRAINED_MODELS))}: {MISSING_HINT}"
        )
    return found


def engine_settings(args: argparse.Namespace, model: Path, batch: int) -> Any:
    """The evaluated engine settings (params.yaml predict.engine), the iteration's calibration
    and refusal threshold (metrics/refusal/<model name>.json), one generate call per batch."""
    from domainllm.engine import evaluated_settings, refusal_file, refusal_threshold

    cal = args.calibration or Path("data/predict") / model.name / "calibration.json"
    if args.calibration is not None and not cal.is_file():
        raise UserError(f"--calibration {cal}: file not found")
    extra: dict[str, Any] = {"calibration": str(cal) if cal.is_file() else None}
    extra["batch_size"] = batch
    extra["block_threshold"] = refusal_threshold(refusal_file(model))
    if args.threads is not None:
        extra["threads"] = args.threads
    return evaluated_settings(args.params, **extra)


def run(args: argparse.Namespace) -> None:
    """``domainllm serve``: check the outputs exist, then serve until interrupted."""
    import uvicorn

    settings = settings_from_args(args)
    checker = AvailabilityChecker(availability_settings(args))  # a bad bootstrap fails here
    model = pick_model(args.model)
    check_model_outputs(model, args.guard)  # fail fast, before binding the port
    engine = engine_settings(args, model, settings.max_batch_size)
    setup_logging(settings.log_level)
    app = create_app(engine_loader(model, args.guard, engine), settings, checker)
    fields = {"host": settings.host, "port": settings.port, "model": str(model)}
    log.info("starting", extra={"fields": {**fields, "calibration": engine.calibration}})
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="warning")
