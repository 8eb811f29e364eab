"""`/v1/catalog`: every loss, schedule and optimizer kind, built from the very models that validate specs."""

from functools import cache
from typing import Any

from fastapi import APIRouter

from service.api.schemas import Catalog, CatalogEntry, Parameter
from service.specs.catalog import KIND_MODELS
from service.specs.kinds.base import Kind, kind_of

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/catalog", summary="Every kind with its parameters")
async def catalog() -> Catalog:
    """Kinds with their parameters, defaults, a one-line description and the library whose numbers they match."""
    return build_catalog()


@cache
def build_catalog() -> Catalog:
    return Catalog(**{group: [entry(model) for model in models] for group, models in KIND_MODELS.items()})


def entry(model: type[Kind]) -> CatalogEntry:
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    if "$ref" in schema:  # a model that refers to itself (a schedule composed of schedules) is a reference
        schema = definitions[_name(schema["$ref"])]
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in model.model_fields.items():
        if name == "kind":
            continue
        property_schema: dict[str, Any] = dict(schema["properties"][name])
        property_schema.pop("title", None)
        used = _references(property_schema, definitions)
        if used:  # nested kinds: the parameter's schema carries the definitions it refers to (`#/$defs/...`)
            property_schema["$defs"] = {ref: definitions[ref] for ref in sorted(used)}
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        parameters.append(
            Parameter(
                name=name,
                required=name in required,
                default=default,
                description=field.description,
                schema=property_schema,
            )
        )
    # the docstring's first paragraph, whole (its first line alone can stop mid-sentence)
    description = " ".join(line.strip() for line in (model.__doc__ or "").strip().split("\n\n")[0].splitlines())
    return CatalogEntry(kind=kind_of(model), library=model.library, description=description, parameters=parameters)


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _references(schema: Any, definitions: dict[str, Any], found: set[str] | None = None) -> set[str]:
    """The names of the definitions `schema` refers to, directly or through other definitions."""
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and _name(value) not in found:
                found.add(_name(value))
                _references(definitions[_name(value)], definitions, found)
            else:
                _references(value, definitions, found)
    elif isinstance(schema, list):
        for item in schema:
            _references(item, definitions, found)
    return found
