"""The HTTP API: ``domainllm serve --model models/improved --guard models/guard``.

``create_app(engine_or_loader, settings)`` builds a FastAPI app. Given a loader (a callable
returning an engine) it loads the model in a background thread at startup, so ``/healthz``
answers at once and ``/readyz`` turns 200 when the model is in memory. Every suggestion goes
through the engine's guard (the engine always applies it; nothing here can switch it off) and
through one ``Batcher`` so concurrent requests share batched ``generate`` calls.

A request may ask ``check_availability`` (and ``prefer_available``): each suggestion then gets
``"available": true | false | null`` from RDAP/DNS within the availability budget (see
``domainllm.availability``); without it the answer is the contract JSON, byte for byte.

Status codes: 200 contract JSON; 413 body too large; 422 bad body (the field named in one line);
429 queue full and 503 not ready, both with ``Retry-After``; 504 per-request timeout.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request as StarletteRequest

from domainllm.availability import AvailabilityChecker, annotate, pooled_runner
from domainllm.contract import Request, Response
from domainllm.params import Strict, UserError
from domainllm.serve.batching import Batcher, BatcherStopped, QueueFull
from domainllm.serve.logs import LOGGER_NAME
from domainllm.serve.middleware import BodyLimitAndLog, error_body

log = logging.getLogger(LOGGER_NAME)
STATIC = Path(__file__).resolve().parent / "static"
MISSING_HINT = "run `dvc pull` to fetch the pipeline outputs, or `make run` to build them"


class ServeSettings(Strict):
    """Serving options; each is also a ``domainllm serve --option`` with this default."""

    host: str = Field("127.0.0.1", description="address to bind")
    port: Annotated[int, Field(ge=0, le=65535, description="port (0 = any free port)")] = 8000
    max_batch_size: Annotated[int, Field(ge=1, le=64, description="requests per engine call")] = 8
    max_wait_ms: Annotated[
        float, Field(ge=0, le=1000, description="longest wait to fill a batch")
    ] = 10.0
    max_queue: Annotated[int, Field(ge=1, le=10000, description="waiting requests before 429")] = 64
    timeout_s: Annotated[float, Field(gt=0, le=600, description="per-request deadline (504)")] = 120
    max_body_bytes: Annotated[int, Field(ge=1024, le=10_000_000, description="413 above")] = 65536
    max_batch_items: Annotated[int, Field(ge=1, le=256, description="/v1/suggest/batch cap")] = 16
    retry_after_s: Annotated[int, Field(ge=1, le=3600, description="Retry-After on 429/503")] = 1
    log_level: str = Field("info", pattern="^(debug|info|warning|error)$", description="log level")


@runtime_checkable
class EngineLike(Protocol):
    """What the server needs from ``domainllm.engine.Engine``."""

    def suggest_batch(self, reqs: list[Request]) -> list[Response]: ...

    def info(self) -> dict[str, Any]: ...


Loader = Callable[[], EngineLike]


class SuggestBody(Request):
    """A contract request plus the serving-only availability switches (never sent to the model)."""

    check_availability: bool = Field(
        False, description='add "available": true|false|null to each suggestion (RDAP/DNS)'
    )
    prefer_available: bool = Field(
        False, description="replace taken names by free candidates (implies check_availability)"
    )

    @model_validator(mode="after")
    def _implied(self) -> SuggestBody:
        if self.prefer_available and not self.check_availability:
            object.__setattr__(self, "check_availability", True)  # frozen model
        return self

    def contract(self) -> Request:
        """The request the engine sees (the contract's fields only)."""
        return Request.model_validate({k: getattr(self, k) for k in Request.model_fields})


class BatchRequest(BaseModel):
    """Several requests answered in one call (each still goes through the shared batcher)."""

    model_config = ConfigDict(extra="forbid")
    requests: list[SuggestBody] = Field(min_length=1)


class ApiError(Exception):
    """An error answer with a status code, a code word and a one-line detail."""

    def __init__(self, status: int, error: str, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail, self.retry_after = status, error, detail, retry_after

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        return JSONResponse(error_body(self.error, self.detail), self.status, headers=headers)


class EngineHolder:
    """The engine, its batcher, and the loading state shown by ``/readyz``."""

    def __init__(self, engine_or_loader: EngineLike | Loader, settings: ServeSettings) -> None:
        self.settings = settings
        self.source = engine_or_loader
        self.state = "loading"
        self.error: str | None = None
        self.info: dict[str, Any] = {}
        self.batcher: Batcher | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if isinstance(self.source, EngineLike):
            self._install(self.source)
        else:
            self._thread = threading.Thread(target=self._load, name="engine-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            engine = self.source()  # type: ignore[operator]
            self._install(engine)
        except Exception as exc:
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.state = "failed"
            log.error("load_failed", extra={"fields": {"detail": self.error}})
            return
        log.info("ready", extra={"fields": {"load_s": round(time.monotonic() - started, 2)}})

    def _install(self, engine: EngineLike) -> None:
        s = self.settings
        self.info = dict(engine.info())
        require_guard(self.info)
        # answers carry their other candidates, for prefer_available (same answers otherwise)
        run = pooled_runner(engine)
        self.batcher = Batcher(run, s.max_batch_size, s.max_wait_ms, s.max_queue)
        self.batcher.start()
        self.state = "ready"

    def close(self) -> None:
        """Stop taking work; wait for the running batch (the engine must be idle afterwards)."""
        if self.batcher is not None:
            self.batcher.stop(timeout=None)


def require_guard(info: dict[str, Any]) -> None:
    """Refuse to serve an engine whose guard would pass everything (no rules, no classifier)."""
    guard = info.get("guard")
    empty = isinstance(guard, dict) and not guard.get("rules_hash") and not guard.get("classifier")
    if not guard or empty:
        raise UserError(
            f"the engine has no active guard (no policy rules, no classifier): {MISSING_HINT}"
        )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'requests', 0, 'description') -> 'requests[0].description'."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_detail(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """A one-line message naming the first bad field, and every (field, message) pair."""
    items = []
    for e in errors:
        if e.get("type") == "json_invalid":
            why = (e.get("ctx") or {}).get("error", "parse error")
            items.append({"field": "body", "message": f"not valid JSON ({why})"})
            continue
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "missing":
            msg = "is required"
        items.append({"field": _field(e.get("loc", ())), "message": msg})
    first = items[0] if items else {"field": "body", "message": "invalid"}
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{first['field']}: {first['message']}{more}", items


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"example": error_body(e, text)}}}
    for code, e, text in [
        (413, "body_too_large", "request body over the size limit"),
        (422, "invalid_request", "description: is required"),
        (429, "overloaded", "queue full; retry after Retry-After seconds"),
        (503, "not_ready", "model still loading (or failed to load); see /readyz"),
        (504, "timeout", "no answer within the per-request deadline"),
    ]
}


def create_app(
    engine_or_loader: EngineLike | Loader,
    settings: ServeSettings,
    checker: AvailabilityChecker | None = None,
) -> FastAPI:
    """The FastAPI app; ``app.state.holder`` holds the engine, its batcher and load state;
    ``checker`` answers availability (default settings, made on first use, when None)."""
    holder = EngineHolder(engine_or_loader, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        holder.start()
        yield
        holder.close()

    app = FastAPI(
        title="domainllm",
        version="1.0",
        summary="Domain-name suggestions for a business description, with a safety guard.",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.availability = checker
    app.add_middleware(BodyLimitAndLog, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: StarletteRequest, exc: RequestValidationError) -> JSONResponse:
        detail, items = validation_detail(list(exc.errors()))
        ctype = request.headers.get("content-type", "")
        if detail.startswith("body: ") and "json" not in ctype:
            detail = "body: expected a JSON object (send Content-Type: application/json)"
        return JSONResponse({**error_body("invalid_request", detail), "errors": items}, 422)

    @app.exception_handler(ApiError)
    async def _api_error(_: Any, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Any, exc: Exception) -> JSONResponse:
        log.error("unhandled", extra={"fields": {"error_type": type(exc).__name__}})
        return JSONResponse(error_body("internal", "unexpected server error; see logs"), 500)

    async def answer(reqs: list[Request]) -> list[Response]:
        batcher = holder.batcher
        if holder.state != "ready" or batcher is None:
            if holder.state == "failed":  # retrying will not help: no Retry-After
                raise ApiError(503, "load_failed", holder.error or "the model failed to load")
            raise ApiError(503, "not_ready", "the model is still loading", settings.retry_after_s)
        try:
            futures = batcher.submit(reqs)
        except QueueFull as exc:
            detail = f"{exc}; retry later"
            raise ApiError(429, "overloaded", detail, settings.retry_after_s) from None
        except BatcherStopped as exc:
            raise ApiError(503, "shutting_down", str(exc), settings.retry_after_s) from None
        waits = [asyncio.wrap_future(f) for f in futures]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*waits), settings.timeout_s))
        except TimeoutError:
            detail = f"no answer within {settings.timeout_s:g} s; the server is busy, retry later"
            raise ApiError(504, "timeout", detail, settings.retry_after_s) from None
        except BatcherStopped as exc:
            raise ApiError(503, "shutting_down", str(exc), settings.retry_after_s) from None
        except Exception:
            raise ApiError(500, "engine_error", "the model failed on this request") from None

    async def reply(body: SuggestBody, resp: Response) -> dict[str, Any]:
        """The contract dict, with availability when the request asked for it."""
        if not body.check_availability:
            return resp.to_dict()
        if app.state.availability is None:
            app.state.availability = AvailabilityChecker()
        return await annotate(resp, app.state.availability, body.prefer_available)

    @app.post("/v1/suggest", response_model=Response, responses=ERRORS)
    async def suggest(req: SuggestBody) -> JSONResponse:
        """Suggest domains for one request, or return the refusal when the guard blocks it."""
        return JSONResponse(await reply(req, (await answer([req.contract()]))[0]))

    @app.post("/v1/suggest/batch", responses=ERRORS)
    async def suggest_batch(body: BatchRequest) -> JSONResponse:
        """Answer up to ``max_batch_items`` requests; answers come back in request order."""
        if len(body.requests) > settings.max_batch_items:
            n, cap = len(body.requests), settings.max_batch_items
            detail = f"requests: {n} items; at most {cap} per call"
            return JSONResponse({**error_body("invalid_request", detail), "errors": []}, 422)
        answers = await answer([r.contract() for r in body.requests])
        # each request's availability runs concurrently: the batch takes one budget, not n
        out = await asyncio.gather(
            *(reply(r, a) for r, a in zip(body.requests, answers, strict=True))
        )
        return JSONResponse({"responses": list(out)})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers (the model may still be loading)."""
        return {"status": "ok", "model": holder.state}

    @app.get("/readyz", responses={503: ERRORS[503]})
    async def readyz() -> JSONResponse:
        """Readiness: 200 once the model is loaded, 503 while loading or after a failed load."""
        if holder.state == "ready":
            b = holder.batcher
            batching = {"max_batch_size": settings.max_batch_size, "queue": b.depth if b else 0}
            return JSONResponse({"status": "ready", "model": holder.info, "batching": batching})
        body = {"status": holder.state, "detail": holder.error or "the model is still loading"}
        return JSONResponse(body, 503, headers={"Retry-After": str(settings.retry_after_s)})

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
