"""Every kind model by group: what a spec may name, and what `GET /v1/catalog` lists."""

from service.specs.kinds import losses, optimizers, schedules
from service.specs.kinds.base import Kind, kind_of

KIND_MODELS: dict[str, tuple[type[Kind], ...]] = {
    "losses": losses.MODELS,
    "schedules": schedules.MODELS,
    "optimizers": optimizers.MODELS,
}
KIND_TAGS = frozenset({"number"} | {kind_of(m) for models in KIND_MODELS.values() for m in models})
"""Every `kind` tag (and "number", a bare rate), as Pydantic puts them into error locations."""
