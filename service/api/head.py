"""HEAD wherever GET: FastAPI routes accept only the methods they declare (a `@router.get` route answers HEAD with
405), while HTTP requires a server to answer HEAD where it answers GET (RFC 9110, 9.3.2).

`HeadAsGet` runs a HEAD request as the GET it stands for and passes on the response's status and headers, its
`Content-Length` included, with an empty body. The body the app goes on producing is dropped unsent, and the server
then reports the response as complete, which ends an event stream at once (its disconnect watcher sees it). The
scope is copied, so the server's own record of the request (its access log) still says HEAD.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = False

        async def headers_only(message: Message) -> None:
            nonlocal answered
            if answered or message["type"] != "http.response.start":
                return
            answered = True
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headers_only)
