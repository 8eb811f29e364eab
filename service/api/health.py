"""Liveness, readiness and metrics: the unversioned operational routes."""

import anyio.to_thread
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from service.api.deps import MetricsDep, StoreDep
from service.api.problems import ProblemError
from service.api.schemas import Problem

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz", summary="Readiness: the store answers", responses={503: {"model": Problem, "description": "Not ready."}}
)
async def readyz(store: StoreDep) -> Health:
    try:
        await anyio.to_thread.run_sync(store.ping)
    except Exception as exc:
        raise ProblemError(503, "Service Unavailable", f"The run store does not answer: {exc}.") from exc
    return Health(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics."}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Requests by route and status with latency histograms (event streams excluded), runs by status, rows
    computed, open streams and the worker pool's occupancy, in the Prometheus text format."""
    body = await anyio.to_thread.run_sync(generate_latest, metrics.registry)  # reads run counts from the store
    return Response(body, media_type=CONTENT_TYPE_LATEST)
