"""Optional API keys for every `/v1` route.

A key is accepted from `Authorization: Bearer <key>`, `X-API-Key: <key>`, or the `descent_session` cookie that
`POST /v1/session` sets: browsers' `EventSource` cannot send headers, and a key in a URL would end up in logs.
The cookie is HttpOnly and SameSite=Strict, so scripts cannot read it and other sites cannot send it.
Comparisons are constant-time, over every configured key.
"""

import hmac
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.api.deps import SettingsDep
from service.api.problems import ProblemError
from service.api.schemas import Problem

COOKIE = "descent_session"
UNAUTHORIZED = "urn:descent:problem:unauthorized"


def _matches(candidate: str, keys: list[str]) -> bool:
    found = False
    for key in keys:  # no early exit: the time does not depend on which key matched
        found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`.")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`.")
cookie_scheme = APIKeyCookie(name=COOKIE, auto_error=False, description="Set by `POST /v1/session`, for browsers.")


async def require_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header: Annotated[str | None, Depends(header_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> str | None:
    """The key presented, or a 401 unless a configured key is presented (None when no keys are configured)."""
    keys = settings.api_keys
    if not keys:
        return None
    for candidate in (bearer.credentials if bearer else None, header, cookie):
        if candidate and _matches(candidate, keys):
            return candidate
    raise ProblemError(
        401,
        "Unauthorized",
        "This server requires an API key: send `Authorization: Bearer <key>` or `X-API-Key`, "
        "or for a browser, POST /v1/session with it once to get a session cookie.",
        type_=UNAUTHORIZED,
        headers={"WWW-Authenticate": 'Bearer realm="descent"'},
    )


UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "An API key is configured and none (or a wrong one) was presented."}
}
