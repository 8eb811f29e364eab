"""`/v1/session`: a browser's session cookie, for dashboards and `EventSource` (which cannot send headers).

The cookie holds a random opaque token that expires (`DESCENT_SESSION_SECONDS`) and can be revoked; the store
keeps only its SHA-256, so a copy of the store lets no one in.
"""

import secrets
import time

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from service.api.auth import COOKIE, COOKIE_PATH, AccessDep, SessionCookie, token_hash, unauthorized
from service.api.deps import SettingsDep, StoreDep
from service.store.base import RunStore, SessionRecord

router = APIRouter(prefix="/v1", tags=["session"])


@router.post("/session", status_code=204, summary="Start a browser session (sets an HttpOnly cookie)")
async def start_session(
    request: Request,
    response: Response,
    access: AccessDep,
    settings: SettingsDep,
    store: StoreDep,
    cookie: SessionCookie,
) -> None:
    """Authenticated with an API key in a header, sets the `descent_session` cookie: an opaque token (not the key),
    HttpOnly, SameSite=Strict, path `/v1`, Secure over HTTPS, that expires after the server's session lifetime
    (`Max-Age`; 8 hours by default). The browser then sends it with every same-origin request, streams included.
    A session cannot start another (so it cannot outlive its lifetime); a session cookie sent along is replaced and
    ends. The session ends early on `DELETE /v1/session`, or when its key is withdrawn. Without configured keys this
    does nothing."""
    if access.key is None:
        return
    if access.session is not None:
        raise unauthorized("A session cannot start another one: POST /v1/session with an API key in a header.")
    token, now = secrets.token_urlsafe(32), time.time()
    session = SessionRecord(token_hash(token), access.key, now, now + settings.session_seconds)
    replaced = token_hash(cookie) if cookie else None
    await anyio.to_thread.run_sync(_start, store, session, replaced)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_seconds,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _start(store: RunStore, session: SessionRecord, replaced: str | None) -> None:
    store.purge_sessions(session.created_at)  # expired sessions go as new ones come: the table stays small
    if replaced is not None:
        store.revoke_session(replaced, session.created_at)
    store.create_session(session)


@router.delete("/session", status_code=204, summary="End the browser session")
async def end_session(request: Request, response: Response, store: StoreDep, cookie: SessionCookie) -> None:
    """Revokes the session whose cookie is sent (on every server sharing the store: the same cookie then gets 401)
    and clears the cookie. Like every /v1 route, it needs a live session or a key."""
    if cookie:
        await anyio.to_thread.run_sync(store.revoke_session, token_hash(cookie), time.time())
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
