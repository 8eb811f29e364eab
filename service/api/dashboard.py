"""The dashboard: `GET /` serves the single page, `/static/` its modules, styles and vendored libraries.

Everything is served from the service itself (no CDN, no build step); the page talks to the API on the same origin.
The content security policy allows nothing from elsewhere.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "worker-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
