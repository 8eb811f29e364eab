"""Security headers on every HTML answer: the dashboard's content security policy, `nosniff` and `no-referrer`
(`dashboard.SECURITY_HEADERS`), whichever route or mount serves the page, `/static/index.html` included.

`HtmlSecurityHeaders` adds them to each response whose `Content-Type` is `text/html`, without replacing a header
the route set itself: the API documentation pages (`service.api.docs`) set their own policy.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.dashboard import SECURITY_HEADERS


class HtmlSecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").lower().startswith("text/html"):
                    for name, value in SECURITY_HEADERS.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)
