"""The application factory: routers, limits, error handlers and the store's lifetime."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service import __version__
from service.api import auth, catalog, dashboard, errors, health, landscape, lr_finder, runs, sweeps
from service.api.body_limit import BodyLimit
from service.api.errors import PROBLEM_JSON
from service.api.events import ClientStreams
from service.api.schemas import EVENTS
from service.config import Settings
from service.logs import valid_request_id
from service.metrics import Metrics, RequestMetrics
from service.store.sqlite import SQLiteStore
from service.worker import WorkerPool, recover

logger = logging.getLogger("service.runs")

DESCRIPTION = """Gradient-descent runs as a service: send a loss, a starting point, a learning-rate schedule and an
optimizer; get the per-step trace, a summary and a verdict. float32 runs reproduce TensorFlow's arithmetic.
Every error is an RFC 9457 problem document."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = app.state.store = SQLiteStore(settings.store_path)
        recover(store)
        metrics.watch_runs(store.count_by_status)

        def count_rows(run_id: str) -> None:
            record = store.get(run_id)
            if record is not None:
                metrics.rows.inc(record.last_step + 1)
                logger.info(
                    "run ended", extra={"run_id": run_id, "status": record.status, "steps_run": record.last_step}
                )

        app.state.pool = WorkerPool(
            store,
            settings.store_path,
            settings.max_concurrent_runs,
            settings.max_queued_runs,
            settings.executor,
            settings.worker_nice,
            on_settled=count_rows,
        )
        metrics.watch_pool(lambda: app.state.pool.in_flight, settings.max_concurrent_runs)
        try:
            yield
        finally:
            app.state.pool.shutdown()
            store.close()

    app = FastAPI(
        title="Descent",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    metrics = app.state.metrics = Metrics()
    streams = app.state.streams = ClientStreams(settings.max_streams_per_client)
    metrics.watch_streams(lambda: streams.total)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Last-Event-ID", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            allow_credentials=True,
        )
    errors.install(app)
    app.include_router(auth.router)
    app.include_router(runs.router)
    app.include_router(sweeps.router)
    app.include_router(lr_finder.router)
    app.include_router(landscape.router)
    app.include_router(catalog.router)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.mount("/static", dashboard.static_files(), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = publish_limits(describe_events(problems_as_problem_json(document)), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def publish_limits(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """This server's limits and authentication in its own document, so a client (or a fuzzer) knows them before it
    is refused: without configured API keys, no operation claims to need one."""
    spec = document["components"]["schemas"]["RunSpec"]["properties"]
    spec["steps"]["maximum"] = settings.max_steps
    spec["w0"]["anyOf"][1]["maxItems"] = settings.max_dims
    if not settings.api_keys:
        document["components"].pop("securitySchemes", None)
        for operations in document["paths"].values():
            for operation in operations.values():
                operation.pop("security", None)
                operation["responses"].pop("401", None)
    return document


def describe_events(document: dict[str, Any]) -> dict[str, Any]:
    """Each event of a run stream with its name and the schema of its JSON `data` (OpenAPI 3.2 `itemSchema`);
    FastAPI alone describes every event as `{event, data: string, id}`."""
    models = [model for model, _ in EVENTS.values() if model is not BaseModel]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    document["components"]["schemas"].update(definitions.get("$defs", {}))
    variants = []
    for name, (model, description) in EVENTS.items():
        schema_name = "Problem" if model is BaseModel else model.__name__
        variants.append(
            {
                "type": "object",
                "title": f"{name} event",
                "description": description,
                "required": ["event", "data"],
                "properties": {
                    "event": {"const": name},
                    "id": {"type": "string", "pattern": "^[0-9]+$"},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": {"$ref": f"#/components/schemas/{schema_name}"},
                    },
                },
            }
        )
    stream = {"itemSchema": {"oneOf": variants}}
    document["paths"]["/v1/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"] = stream
    posted = document["paths"]["/v1/runs"]["post"]["responses"]["201"]["content"]["text/event-stream"]
    posted.pop("schema", None)
    posted.update(stream)
    return document


def problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    """Every error response is `application/problem+json` with the `Problem` schema, 422s included
    (FastAPI would describe them as `application/json` and its own `HTTPValidationError`)."""
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"].setdefault("400", {"description": "The body could not be read (not UTF-8)."})
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_JSON: problem}
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
