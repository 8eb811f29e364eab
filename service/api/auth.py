"""Optional API keys for every `/v1` route, and the browser sessions started with them.

A request is let in by a key in force (see `keys.py`) in `Authorization: Bearer <key>` or `X-API-Key: <key>`, or
by the `descent_session` cookie that `POST /v1/session` sets: browsers' `EventSource` cannot send headers, and a key
in a URL would end up in logs. The cookie holds an opaque random token, never the key; the store keeps only the
token's SHA-256, with its expiry and the fingerprint of the key that started it. A session lets a request in while
it is neither expired nor revoked and its key is still in force, on every server process sharing the store.
The cookie is HttpOnly and SameSite=Strict, so scripts cannot read it and other sites cannot send it.
"""

import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.api.deps import KeysDep, StoreDep
from service.api.keys import KeyRing
from service.api.problems import ProblemError
from service.api.schemas import Problem
from service.runs.events import Event
from service.store.base import RunStore

COOKIE = "descent_session"
COOKIE_PATH = "/v1"
UNAUTHORIZED = "urn:descent:problem:unauthorized"


@dataclass(frozen=True)
class Access:
    """How a request got in. `key`: the fingerprint of the key it presented, or of the key that started its
    session (None when no keys are configured); `session`: the session's token hash when the cookie let it in."""

    key: str | None = None
    session: str | None = None


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`.")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`.")
cookie_scheme = APIKeyCookie(
    name=COOKIE, auto_error=False, description="An expiring session token set by `POST /v1/session`, for browsers."
)
SessionCookie = Annotated[str | None, Depends(cookie_scheme)]


def refresh_keys(keys: KeyRing, store: RunStore) -> None:
    """Re-read the key file when it changed (blocking: run in a thread); the sessions of the keys it no longer
    lists are revoked in the store, so that they stay ended even if the same key came back."""
    at = time.time()
    for fingerprint in keys.refresh():
        store.revoke_key_sessions(fingerprint, at)


async def require_key(
    request: Request,
    keys: KeysDep,
    store: StoreDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header: Annotated[str | None, Depends(header_scheme)],
    cookie: SessionCookie,
) -> Access:
    """How the request got in (also kept in `request.state.access`, for the streams it opens), or a 401 when keys
    are configured and neither a key in force nor a live session of one was presented."""
    if keys.due():
        await anyio.to_thread.run_sync(refresh_keys, keys, store)
    if not keys.required:
        return Access()  # no request.state.access: its streams need no check (`guarded`)
    if fingerprint := _key_fingerprint(keys, bearer, header):
        access = request.state.access = Access(key=fingerprint)
        return access
    if cookie:
        hashed = token_hash(cookie)
        session = await anyio.to_thread.run_sync(store.get_session, hashed)
        if session is not None and session.active(time.time()) and session.key_fingerprint in keys.fingerprints:
            access = request.state.access = Access(key=session.key_fingerprint, session=hashed)
            return access
        raise unauthorized(
            "This session has ended (it expired, was signed out, or its API key was withdrawn): "
            "POST /v1/session with a key in a header to start a new one.",
            clear_cookie=True,
        )
    raise unauthorized(
        "This server requires an API key: send `Authorization: Bearer <key>` or `X-API-Key`, "
        "or for a browser, POST /v1/session with it once to get a session cookie."
    )


AccessDep = Annotated[Access, Depends(require_key)]

RECHECK_SECONDS = 2.0
"""How often an open event stream checks that what let it in still would: a stream outlives its request."""
ENDED_ACCESS = (
    "The session or API key that opened this stream has ended (signed out, expired, or the key was withdrawn): "
    "start a new session to follow the run again."
)


def still_admitted(access: Access, keys: KeyRing, store: RunStore) -> bool:
    """Whether the key or session that let a request in would still let it in (blocking: run in a thread)."""
    if keys.due():
        refresh_keys(keys, store)
    if access.key is None or access.key not in keys.fingerprints:
        return False
    if access.session is None:
        return True
    session = store.get_session(access.session)
    return session is not None and session.active(time.time())


async def while_admitted(
    events: AsyncIterator[Event], access: Access, keys: KeyRing, store: RunStore
) -> AsyncIterator[Event]:
    """`events`, until the key or session that opened the stream ends: then an `error` event (401) and the end of
    the stream. The check runs between events, at most every RECHECK_SECONDS (an idle stream still gets a ping
    every 15 s, so none stays open much longer than that once its access has ended)."""
    checked = time.monotonic()
    try:
        async for event in events:
            if time.monotonic() - checked >= RECHECK_SECONDS:
                if not await anyio.to_thread.run_sync(still_admitted, access, keys, store):
                    problem = {"type": UNAUTHORIZED, "title": "Unauthorized", "status": 401, "detail": ENDED_ACCESS}
                    yield Event("error", problem)
                    return
                checked = time.monotonic()
            yield event
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def guarded(request: Request, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The events of a stream this request opens, ended once its key or session ends (`while_admitted`); as they
    are when the server needs no key."""
    access: Access | None = getattr(request.state, "access", None)
    if access is None:
        return events
    state = request.app.state
    return while_admitted(events, access, state.keys, state.lifecycle.store)


def _key_fingerprint(keys: KeyRing, bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    """The fingerprint of the key in force presented as a bearer token or in `X-API-Key`, if any."""
    for candidate in (bearer.credentials if bearer else None, header):
        if candidate and (fingerprint := keys.match(candidate)):
            return fingerprint
    return None


async def header_access(request: Request) -> Access | None:
    """`require_key` for a request that gets in by its headers alone, decided without a thread or the store: None
    when it takes more (the key file is due for a look, no key in force was presented: a session cookie to look
    up, or a 401), which `require_key` then decides."""
    keys: KeyRing = request.app.state.keys
    if keys.due():
        return None
    if not keys.required:
        return Access()
    fingerprint = _key_fingerprint(keys, await bearer_scheme(request), await header_scheme(request))
    return Access(key=fingerprint) if fingerprint else None


def unauthorized(detail: str, clear_cookie: bool = False) -> ProblemError:
    headers = {"WWW-Authenticate": 'Bearer realm="descent"'}
    if clear_cookie:  # a dead session cookie is of no more use: the browser forgets it
        headers["Set-Cookie"] = f'{COOKIE}=""; Max-Age=0; Path={COOKIE_PATH}; HttpOnly; SameSite=strict'
    return ProblemError(401, "Unauthorized", detail, type_=UNAUTHORIZED, headers=headers)


UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "An API key is configured and none (or a wrong one, or an ended session) was presented.",
    }
}
