"""The library-neutral schedule: a constant rate."""

from typing import Literal

from pydantic import Field

from service.specs.kinds.base import Finite, Kind


class ConstantSchedule(Kind):
    """The same rate at every step; a bare number in `schedule` means this."""

    kind: Literal["constant"]
    learning_rate: Finite = Field(description="The rate.")


MODELS = (ConstantSchedule,)
