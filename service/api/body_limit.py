"""Request body size limit that answers with a problem document.

Starlette's `RequestBodyLimitMiddleware` (what `FastAPI(max_body_size=...)` installs) answers `text/plain` from
outside the app's exception handlers, so it cannot give an RFC 9457 problem. This one refuses a declared
`Content-Length` before reading anything, and stops a chunked body as soon as it passes the limit by raising
a 413 `HTTPException` from `receive`, which FastAPI hands to the app's handlers.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import LIMIT_EXCEEDED, ProblemError, problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(self._problem(int(declared)), scope.get("path"))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._problem(received).detail)
            return message

        await self.app(scope, limited_receive, send)

    def _problem(self, size: int) -> ProblemError:
        return ProblemError(
            413,
            "Content Too Large",
            f"The request body has {size:,} bytes or more; this server accepts at most {self.max_bytes:,} "
            "(DESCENT_MAX_BODY_BYTES). Send a smaller body.",
            type_=LIMIT_EXCEEDED,
        )
