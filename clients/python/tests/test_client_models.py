"""The client's typed answers mirror the API's: each dataclass has exactly the fields of its schema in the committed
OpenAPI document, so a field the service adds or renames fails here until the client follows."""

import dataclasses
import json
from pathlib import Path

import pytest

from descent_client import events, models
from descent_client.errors import FieldError, Problem

OPENAPI = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"
SCHEMAS = json.loads(OPENAPI.read_text("utf-8"))["components"]["schemas"]


@pytest.mark.parametrize(
    ("schema", "model"),
    [
        ("Run", models.Run),
        ("RunInfo", models.RunInfo),
        ("Summary", models.Summary),
        ("FinalRow", models.FinalRow),
        ("BestRow", models.BestRow),
        ("Minimum", models.Minimum),
        ("LossFacts", models.LossFacts),
        ("Trace", models.Trace),
        ("StepEvent", events.Step),
        ("EndEvent", events.RunEnded),
        ("RunPage", models.RunPage),
        ("Sweep", models.Sweep),
        ("SweepSummary", models.SweepSummary),
        ("Stability", models.Stability),
        ("SweepTraces", models.SweepTraces),
        ("SweepProgress", models.SweepProgress),
        ("AxisValues", models.AxisValues),
        ("JobEnd", events.JobEnded),
        ("LRFinderResult", models.LRFinderResult),
        ("LRSuggestion", models.LRSuggestion),
        ("Landscape", models.Landscape),
        ("GridMinimum", models.GridMinimum),
        ("Catalog", models.Catalog),
        ("CatalogEntry", models.CatalogEntry),
        ("Problem", Problem),
        ("ErrorItem", FieldError),
    ],
)
def test_each_answer_has_its_schemas_fields(schema: str, model: type) -> None:
    assert {field.name for field in dataclasses.fields(model)} == set(SCHEMAS[schema]["properties"])
