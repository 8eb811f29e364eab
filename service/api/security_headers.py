"""Security headers on every HTML answer: the dashboard's content security policy, `nosniff` and `no-referrer`
(`dashboard.SECURITY_HEADERS`), whichever route or mount serves the page, `/static/index.html` included.

`HtmlSecurityHeaders` adds them to each response whose `Content-Type` is `text/html`, without replacing a header
the route set itself. FastAPI's API documentation pages (Swagger UI, ReDoc) load their scripts and styles from
cdn.jsdelivr.net and start with an inline script, which the dashboard's policy forbids: they get `DOCS_HEADERS`, a
policy that allows just that and still forbids framing, plugins and `<base>`.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.dashboard import SECURITY_HEADERS

DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
        "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
        "worker-src blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


class HtmlSecurityHeaders:
    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = DOCS_HEADERS if scope["path"] in self.docs_paths else SECURITY_HEADERS

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").lower().startswith("text/html"):
                    for name, value in added.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)
