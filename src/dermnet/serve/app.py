"""`create_app`: the FastAPI application of `dermnet serve` (page, REST API, limits, logs).

FastAPI and its dependencies are imported inside `create_app`, so ``import dermnet.serve``
works without the ``serve`` extra and fails only when a server is built, with an install
hint.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from dermnet._core.imports import optional_import
from dermnet.serve.config import ServeConfig
from dermnet.serve.service import ModelService
from dermnet.serve.uploads import RequestError, UploadedImage, check_upload

__all__ = ["READING_GUIDE", "abstention_rule", "access_logger", "create_app", "model_summary"]

#: The one-line reading guide shown under every overlay.
READING_GUIDE = (
    "Warm colours (red, yellow) mark the regions that raised the score of the explained "
    "class most; blue ones raised it least. It shows what the model used, not whether it "
    "is right."
)

#: The structured access log: one JSON object per request, never image content.
access_logger = logging.getLogger("dermnet.serve.access")

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def _card_dict(card: Any) -> dict[str, Any]:
    if isinstance(card, dict) and "config" in card and "class_name" in card:
        card = card["config"]
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(card).items()}


def model_summary(service: ModelService) -> dict[str, Any]:
    """What ``GET /v1/model`` answers: ids, classes, data config, model card, metrics."""
    from dermnet._version import __version__
    from dermnet.metrics import ModelCard

    folder = service.folder
    metrics: dict[str, Any] | None = None
    card: dict[str, Any] | None = None
    path = folder.path / "metrics.json"
    if path.is_file():
        with contextlib.suppress(ValueError, OSError):
            stored = json.loads(path.read_text(encoding="utf-8"))
            intervals = stored.get("intervals", {})
            metrics = {"split": stored.get("split"), "images": stored.get("n")}
            for name in ("balanced_accuracy", "macro_auc", "accuracy"):
                if stored.get(name) is not None:
                    metrics[name] = {"value": stored[name], "interval_95": intervals.get(name)}
            if isinstance(stored.get("model_card"), dict):
                card = _card_dict(stored["model_card"])
    if card is None:
        card = _card_dict(ModelCard.from_run_info(folder.model_card_facts()).to_dict())
    config = service.config
    return {
        "id": service.model_id,
        "version": service.model_version,
        "dermnet_version": __version__,
        "model": folder.config.model,
        "classes": list(folder.classes),
        "data_config": folder.data_config.to_dict()["config"],
        "model_card": card,
        "metrics": metrics,
        "not_a_medical_device": True,
        "abstention": abstention_rule(service),
        "limits": {
            "max_files": config.max_files,
            "max_pixels": config.max_pixels,
            "max_body_bytes": config.max_body_bytes,
            "timeout_s": config.timeout_s,
        },
    }


def abstention_rule(service: ModelService) -> dict[str, Any] | None:
    """The run's abstention rule as JSON (``score``, ``threshold``, ``target_risk``,
    ``target_coverage``, and the ``coverage``/``risk`` it reached on ``n`` validation
    predictions), or ``None`` when the run folder has no ``abstention.json``."""
    rule = getattr(service, "abstention", None)
    if rule is None:
        return None
    return {"score": "max_probability", **rule.to_dict()}


def _arrived(scope: Any) -> None:
    """Tell the service that a prediction announced by `_Guard` is queued or refused."""
    service = scope.pop("dermnet.arriving", None)
    if service is not None:
        service.arrived()


class _Guard:
    """ASGI wrapper: request ids, the body-size limit and the access log.

    It also announces each ``POST /v1/predict`` to the service as soon as its headers
    are in (`ModelService.expect`), so a gathering batch waits for its upload.
    """

    def __init__(self, app: Any, max_body: int, service: ModelService | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.exceptions import HTTPException

        start = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        entry: dict[str, Any] = {"request_id": request_id, "images": 0, "bytes_in": 0}
        scope["dermnet.log"] = entry
        status = {"code": 500}
        headers = dict(scope.get("headers") or [])
        limit = self.max_body

        async def send_logged(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        async def receive_limited() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                entry["bytes_in"] += len(message.get("body", b""))
                if entry["bytes_in"] > limit:
                    raise HTTPException(413, detail=_too_large(entry["bytes_in"], limit))
            return message

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        if (
            self.service is not None
            and scope.get("method") == "POST"
            and scope.get("path") == "/v1/predict"
        ):
            self.service.expect()
            scope["dermnet.arriving"] = self.service
        try:
            if declared > limit:
                body = json.dumps({"error": _too_large(declared, limit)}).encode()
                await send_logged(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            await self.app(scope, receive_limited, send_logged)
        finally:
            _arrived(scope)
            client = scope.get("client") or ("", 0)
            record = {
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "client": client[0],
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status["code"],
                "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                **entry,
            }
            if declared:
                record["bytes_in"] = max(record["bytes_in"], declared)
            access_logger.info(json.dumps(record))


def _too_large(size: int, limit: int) -> dict[str, Any]:
    return {
        "code": "body_too_large",
        "message": f"The request body is {size:,} bytes or more; the server accepts at most "
        f"{limit:,} bytes per request. Send fewer or smaller images.",
    }


def _page() -> str:
    return resources.files("dermnet.serve").joinpath("page.html").read_text(encoding="utf-8")


def _colour_bar() -> str:
    from matplotlib import colormaps

    cmap = colormaps["jet"]
    stops = []
    for i in range(11):
        r, g, b, _ = cmap(i / 10)
        stops.append(f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)}) {i * 10}%")
    return "linear-gradient(to right, " + ", ".join(stops) + ")"


def create_app(
    run_dir: Any = None, config: ServeConfig | None = None, *, service: ModelService | None = None
) -> Any:
    """Build the FastAPI application that serves a run.

    Args:
        run_dir: the run folder (ignored when ``service`` is given).
        config: the server settings (default `ServeConfig()`).
        service: an already loaded `ModelService` (tests and embedding); it is started
            with the application and stopped when the application shuts down.

    Returns:
        An ASGI application (FastAPI wrapped by the body limit and access log); its
        ``service`` and ``fastapi`` attributes give the model service and the FastAPI app.

    Raises:
        OptionalDependencyError: FastAPI or python-multipart is not installed.
    """
    fastapi = optional_import("fastapi", purpose="dermnet serve", extra="serve")
    optional_import("multipart", purpose="dermnet serve (file uploads)", extra="serve")
    from fastapi import File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    config = (config or ServeConfig()).validate()
    if service is None:
        service = ModelService(run_dir, config)
    config = service.config
    classes = list(service.folder.classes)
    page = _page().replace("/*COLOUR_BAR*/", _colour_bar())

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> Any:
        service.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = fastapi.FastAPI(
        title="dermnet serve",
        version=service.model_version,
        description=(
            f"Class probabilities and Grad-CAM overlays from the dermnet run "
            f"{service.model_id!r}. Research and education only: not a medical device."
        ),
        docs_url=None,  # Swagger UI loads its scripts from a CDN; the schema is enough
        redoc_url=None,
        lifespan=lifespan,
    )

    def error(exc: RequestError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, exc: RequestError) -> JSONResponse:
        return error(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict):
            body = exc.detail
        elif exc.status_code == 404:
            body = {
                "code": "not_found",
                "message": f"No route {request.url.path!r}. The API: GET /v1/model, "
                "POST /v1/predict, POST /v1/explain, GET /health, GET /openapi.json; "
                "the page: GET /.",
            }
        elif exc.status_code == 405:
            body = {
                "code": "method_not_allowed",
                "message": f"{request.method} is not allowed on {request.url.path!r}.",
            }
        else:
            body = {"code": _STATUS_CODES.get(exc.status_code, "error"), "message": exc.detail}
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if request.method == "POST" and kind != "multipart/form-data":
            return error(
                RequestError(
                    415,
                    "unsupported_media_type",
                    "The request must be multipart/form-data with one or more image files "
                    f"in the field 'files'. Got content type {kind or 'none'!r} instead.",
                )
            )
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return error(RequestError(422, "invalid_request", f"Invalid request: {problems}."))

    async def checked(request: Request, files: list[UploadFile]) -> list[UploadedImage]:
        if len(files) > config.max_files:
            raise RequestError(
                413,
                "too_many_files",
                f"The request holds {len(files)} files; the server accepts at most "
                f"{config.max_files} per request.",
            )
        out = []
        for upload in files:
            data = await upload.read()
            out.append(
                await run_in_threadpool(
                    check_upload,
                    upload.filename,
                    upload.content_type,
                    data,
                    max_pixels=config.max_pixels,
                )
            )
        request.scope["dermnet.log"]["images"] = len(out)
        return out

    async def wait(
        request: Request, kind: str, images: list[UploadedImage], class_index: int | None
    ) -> Any:
        future = service.submit(kind, images, class_index)
        _arrived(request.scope)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), config.timeout_s)
        except asyncio.TimeoutError:
            raise RequestError(
                504,
                "timeout",
                f"The model did not answer within {config.timeout_s:g} s; the request was "
                "dropped. Retry, or send fewer images.",
            ) from None

    def results(images: list[UploadedImage], scores: list[Any]) -> list[dict[str, Any]]:
        flags = service.abstentions(scores)
        out = []
        for i, (image, probs) in enumerate(zip(images, scores, strict=True)):
            top = int(probs.argmax())
            row = {
                "file": image.name,
                "width": image.width,
                "height": image.height,
                "probabilities": {c: float(p) for c, p in zip(classes, probs, strict=True)},
                "prediction": classes[top],
                "confidence": float(probs[top]),
            }
            if flags is not None:  # only where the run chose a threshold on validation
                row.update(flags[i])
            out.append(row)
        return out

    def answer(**fields: Any) -> dict[str, Any]:
        body = {
            "model": {"id": service.model_id, "version": service.model_version},
            "classes": classes,
            **fields,
        }
        rule = abstention_rule(service)
        if rule is not None:
            body["abstention"] = rule
        return body

    async def save(request: Request, kind: str, images: list[UploadedImage], body: Any) -> None:
        if config.save_dir is None:
            return
        folder = Path(config.save_dir) / request.scope["dermnet.log"]["request_id"]

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(images):
                (folder / f"{i}{image.suffix}").write_bytes(image.data)
            kept = {**body, "endpoint": kind}
            for item in kept.get("results", []):
                item.pop("overlay", None)
            (folder / "result.json").write_text(json.dumps(kept, indent=2) + "\n")

        await run_in_threadpool(write)

    files_doc = "One or more JPEG/PNG images (repeat the field for a batch)."

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/health", summary="Liveness and load")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": {"id": service.model_id, "version": service.model_version},
            "queue": service.queue_depth,
            **service.stats,
        }

    @app.get("/v1/model", summary="Classes, data config and model card of the served run")
    async def model() -> dict[str, Any]:
        return await run_in_threadpool(model_summary, service)

    @app.post("/v1/predict", summary="Class probabilities of one image or a batch")
    async def predict(
        request: Request, files: Annotated[list[UploadFile], File(description=files_doc)]
    ) -> dict[str, Any]:
        images = await checked(request, files)
        scores = await wait(request, "predict", images, None)
        body = answer(results=results(images, list(scores)))
        await save(request, "predict", images, body)
        return body

    @app.post("/v1/explain", summary="Probabilities and a Grad-CAM overlay per image")
    async def explain(
        request: Request,
        files: Annotated[list[UploadFile], File(description=files_doc)],
        class_name: Annotated[
            str | None,
            Form(description="The class to explain (default: each image's prediction)."),
        ] = None,
    ) -> dict[str, Any]:
        index = None
        if class_name:
            if class_name not in classes:
                raise RequestError(
                    400,
                    "unknown_class",
                    f"The 'class_name' field must be one of {classes}. Got {class_name!r} instead.",
                )
            index = classes.index(class_name)
        images = await checked(request, files)
        explained = await wait(request, "explain", images, index)
        rows = results(images, [item["probabilities"] for item in explained])
        for row, item in zip(rows, explained, strict=True):
            row.update(
                explained=classes[item["explained"]],
                overlay=item["overlay"],
                overlay_width=item["width"],
                overlay_height=item["height"],
            )
        body = answer(method="gradcam", reading_guide=READING_GUIDE, results=rows)
        await save(request, "explain", images, body)
        return body

    guarded = _Guard(app, config.max_body_bytes, service)
    guarded.service = service  # type: ignore[attr-defined]
    guarded.fastapi = app  # type: ignore[attr-defined]
    return guarded
