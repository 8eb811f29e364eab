"""Liveness and readiness."""

from fastapi import APIRouter, Request
from pydantic import BaseModel

from service.api.errors import ProblemError
from service.api.schemas import Problem

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz", summary="Readiness: the store answers", responses={503: {"model": Problem, "description": "Not ready."}}
)
async def readyz(request: Request) -> Health:
    try:
        request.app.state.store.ping()
    except Exception as exc:
        raise ProblemError(503, "Service Unavailable", f"The run store does not answer: {exc}.") from exc
    return Health(status="ready")
