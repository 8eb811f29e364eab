"""The committed OpenAPI document is the app's; regenerate it with `make openapi`."""

from pathlib import Path

import orjson

from service.openapi import document, render

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert orjson.loads(COMMITTED.read_bytes()) == orjson.loads(render()), "run `make openapi` and commit the result"


def test_every_operation_documents_its_bodies_and_problems() -> None:
    spec = document()
    post = spec["paths"]["/v1/runs"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RunSpec")
    assert "/Run" in post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("2") and status != "204":
                    assert response.get("content"), f"{method.upper()} {path} {status} has no body schema"


def test_every_operation_with_a_body_documents_415() -> None:
    spec = document()
    with_body = [
        (method, path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 4
    for method, path, operation in with_body:
        response = operation["responses"].get("415")
        assert response, f"{method.upper()} {path} does not document 415"
        assert "application/problem+json" in response["content"]


def test_no_parameter_is_nullable() -> None:
    """A query or header parameter is sent or left out: HTTP has no null, and a fuzzer would send the text "null"."""
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                assert "null" not in str(parameter["schema"]), f"{method.upper()} {path} {parameter['name']}"


def test_a_resume_point_is_a_step() -> None:
    parameters = document()["paths"]["/v1/runs/{run_id}/events"]["get"]["parameters"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters}
    for name in ("Last-Event-ID", "after"):
        assert {key: schemas[name][key] for key in ("type", "minimum", "maximum")} == {
            "type": "integer",
            "minimum": -1,
            "maximum": 2**31 - 1,
        }
