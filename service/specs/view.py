"""The body of `POST /v1/views`: a dashboard view to save (opaque to the server, a JSON object)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ViewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: dict[str, Any] = Field(
        description="The view as the dashboard defines it (its runs, hidden runs, scales, zooms, open view, step): "
        "any JSON object of at most DESCENT_MAX_VIEW_BYTES as compact JSON, without non-finite numbers or integers "
        "beyond ±(2**53 - 1). The server stores it as it is and answers it as it was sent (keys sorted).",
        examples=[{"runs": ["r1", "r2"], "hidden": ["r2"], "log": ["loss"], "step": 3}],
    )
