"""`/v1/catalog`: every loss, schedule and optimizer kind, built from the very models that validate specs."""

from functools import cache
from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.kinds.base import Kind, kind_of
from service.api.schemas import KIND_MODELS, Catalog, CatalogEntry, Parameter

router = APIRouter(prefix="/v1", tags=["catalog"], dependencies=[Depends(require_key)], responses=UNAUTHORIZED_RESPONSE)


@router.get("/catalog", summary="Every kind with its parameters")
async def catalog() -> Catalog:
    """Kinds with their parameters, defaults, a one-line description and the library whose numbers they match."""
    return build_catalog()


@cache
def build_catalog() -> Catalog:
    return Catalog(**{group: [entry(model) for model in models] for group, models in KIND_MODELS.items()})


def entry(model: type[Kind]) -> CatalogEntry:
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in model.model_fields.items():
        if name == "kind":
            continue
        property_schema: dict[str, Any] = dict(schema["properties"][name])
        property_schema.pop("title", None)
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
    description = (model.__doc__ or "").strip().splitlines()[0]
    return CatalogEntry(kind=kind_of(model), library=model.library, description=description, parameters=parameters)
