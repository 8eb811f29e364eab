"""Python client and command line of the Descent gradient-descent service.

    from descent_client import Client

    with Client("http://127.0.0.1:8000") as client:
        run = client.run({"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40})
        run.summary.verdict          # 'converged'
        run.trace.w[:3]              # array([5. , 2.6, 1.16], dtype=float32)

`AsyncClient` has the same methods as coroutines. Errors are `APIError`s carrying the server's RFC 9457 problem.
"""

from descent_client.aio import AsyncClient
from descent_client.client import Client
from descent_client.errors import (
    APIError,
    Conflict,
    DescentError,
    FieldError,
    InvalidRequest,
    NotFound,
    Problem,
    ServiceUnavailable,
    StreamError,
    TooManyRequests,
    Unauthorized,
)
from descent_client.events import Event, RunEnded, RunFailed, RunStarted, Step, Steps
from descent_client.models import (
    Catalog,
    Landscape,
    LRFinderResult,
    Run,
    RunInfo,
    RunPage,
    Summary,
    Sweep,
    SweepSummary,
    Trace,
    View,
)

__all__ = [
    "APIError",
    "AsyncClient",
    "Catalog",
    "Client",
    "Conflict",
    "DescentError",
    "Event",
    "FieldError",
    "InvalidRequest",
    "LRFinderResult",
    "Landscape",
    "NotFound",
    "Problem",
    "Run",
    "RunEnded",
    "RunFailed",
    "RunInfo",
    "RunPage",
    "RunStarted",
    "ServiceUnavailable",
    "Step",
    "Steps",
    "StreamError",
    "Summary",
    "Sweep",
    "SweepSummary",
    "TooManyRequests",
    "Trace",
    "Unauthorized",
    "View",
]
