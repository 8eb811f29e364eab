"""What a worker is handed: a stored job's kind, id, spec document and the app's limits, all plain values."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.limits import Limits


class JobKind(StrEnum):
    RUN = "run"
    SWEEP = "sweep"
    LR_FINDER = "lr_finder"
    LANDSCAPE = "landscape"


@dataclass(frozen=True)
class Job:
    """A job the store holds as queued. `document` is its normalised spec, trusted as stored; `owner` the server
    process it belongs to: every write is conditional on that ownership."""

    kind: JobKind
    id: str
    document: dict[str, Any]
    limits: Limits
    owner: str | None = None
