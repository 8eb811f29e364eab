"""`/v1/session`: a browser's session cookie, for dashboards and `EventSource` (which cannot send headers)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from service.api.auth import COOKIE, require_key

router = APIRouter(prefix="/v1", tags=["session"])


@router.post("/session", status_code=204, summary="Start a browser session (sets an HttpOnly cookie)")
async def start_session(request: Request, response: Response, key: Annotated[str | None, Depends(require_key)]) -> None:
    """For dashboards and `EventSource`: after this call (authenticated with a header), the browser sends the
    session cookie with every same-origin request, streams included. Without configured keys it does nothing."""
    if key is not None:
        response.set_cookie(
            COOKIE, key, httponly=True, samesite="strict", path="/v1", secure=request.url.scheme == "https"
        )


@router.delete("/session", status_code=204, summary="End the browser session", dependencies=[Depends(require_key)])
async def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/v1")
