"""The OpenAPI document: FastAPI's, with what FastAPI cannot say by itself: every error as an RFC 9457 problem,
each stream event with the schema of its data, and this server's own limits and authentication."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api.problems import DESCRIPTIONS, PROBLEM_JSON
from service.api.schemas import RUN_EVENTS, SWEEP_EVENTS
from service.config import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the completed document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document = parameters_not_nullable(describe_events(problems_as_problem_json(document)))
            app.openapi_schema = publish_limits(document, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def publish_limits(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """This server's limits and authentication in its own document, so a client (or a fuzzer) knows them before it
    is refused: without configured API keys, no operation claims to need one."""
    schemas = document["components"]["schemas"]
    schemas["RunSpec"]["properties"]["steps"]["maximum"] = settings.max_steps
    for spec in ("RunSpec", "LRFinderSpec"):
        schemas[spec]["properties"]["w0"]["anyOf"][1]["maxItems"] = settings.max_dims
    if not settings.api_keys and not settings.api_keys_file:
        document["components"].pop("securitySchemes", None)
        for operations in document["paths"].values():
            for operation in operations.values():
                operation.pop("security", None)
                operation["responses"].pop("401", None)
    return document


def parameters_not_nullable(document: dict[str, Any]) -> dict[str, Any]:
    """A query or header parameter is given or left out, never null (HTTP cannot say null): FastAPI describes an
    optional one (`int | None = None`) as `anyOf: [{integer}, {null}]`; it is the non-null schema here."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                alternatives = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
                if "anyOf" in schema and len(alternatives) == 1:
                    rest = {key: value for key, value in schema.items() if key != "anyOf"}
                    if rest.get("default", 0) is None:
                        del rest["default"]
                    parameter["schema"] = {**alternatives[0], **rest}
    return document


def describe_events(document: dict[str, Any]) -> dict[str, Any]:
    """Each event of a run or sweep stream with its name and the schema of its JSON `data` (OpenAPI 3.2
    `itemSchema`); FastAPI alone describes every event as `{event, data: string, id}`."""
    run_stream = _stream(document, RUN_EVENTS)
    paths = document["paths"]
    paths["/v1/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"] = run_stream
    posted = paths["/v1/runs"]["post"]["responses"]["201"]["content"]["text/event-stream"]
    posted.pop("schema", None)
    posted.update(run_stream)
    sweep_stream = _stream(document, SWEEP_EVENTS)
    paths["/v1/sweeps/{sweep_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"] = sweep_stream
    return document


def _stream(document: dict[str, Any], events: dict[str, tuple[type[BaseModel], str]]) -> dict[str, Any]:
    """The `itemSchema` of a stream of these events; their data's schemas join the document's components."""
    models = [model for model, _ in events.values() if model is not BaseModel]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    document["components"]["schemas"].update(definitions.get("$defs", {}))
    variants = []
    for name, (model, description) in events.items():
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
    return {"itemSchema": {"oneOf": variants}}


def problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    """Every error response is `application/problem+json` with the `Problem` schema, 422s included
    (FastAPI would describe them as `application/json` and its own `HTTPValidationError`); every operation that
    takes a body can answer 400 (not UTF-8) and 415 (not JSON)."""
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"].setdefault("400", {"description": "The body could not be read (not UTF-8)."})
                operation["responses"].setdefault("415", {"description": DESCRIPTIONS[415]})
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_JSON: problem}
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
