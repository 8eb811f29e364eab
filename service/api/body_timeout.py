"""A request body that pauses too long between two chunks gets 408 Request Timeout, and its connection is closed.

uvicorn waits for a body as long as the client likes. `BodyTimeout` bounds each wait of the app for the next chunk
of a body (DESCENT_BODY_TIMEOUT): the time between chunks, as nginx's `client_body_timeout`, not the whole body,
which DESCENT_MAX_BODY_BYTES bounds. On expiry it raises a 408 `HTTPException` from `receive`, which FastAPI hands
to the app's handlers, so the answer is a problem document, with `Connection: close` (what is left of that body
cannot be told from a next request). Any answer given before the body was read to its end (a 404, an early 413)
closes the connection too, so an unread body cannot keep it open by trickling in after the response.
"""

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = (b"connection", b"close")


class BodyTimeout:
    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or (headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # no body to wait for
            return
        read = False

        async def timed_receive() -> Message:
            nonlocal read
            if read:
                return await receive()
            with anyio.move_on_after(self.timeout) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise HTTPException(
                    408,
                    f"The request body paused for more than {self.timeout:g} s (DESCENT_BODY_TIMEOUT); "
                    "send it without pauses.",
                    headers={"Connection": "close"},
                )
            read = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not read:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        await self.app(scope, timed_receive, closing_send)
