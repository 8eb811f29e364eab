"""The API documentation pages: Swagger UI at `/docs`, ReDoc at `/redoc`, from the copies vendored under
`/static/vendor/` (no CDN: they work offline, and their content security policy allows nothing from elsewhere).

FastAPI writes both pages (`get_swagger_ui_html`, `get_redoc_html`), pointed here at the vendored scripts and styles.
Swagger UI starts with an inline script: the policy allows exactly that script, by its SHA-256, not inline scripts
in general; it needs nothing else. ReDoc injects its styles at run time (styled-components), so its page allows
inline styles, and its search index runs in a worker made from a `blob:` URL.
"""

import re
from base64 import b64encode
from hashlib import sha256

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

VENDOR = "/static/vendor"
FAVICON = "/static/favicon.svg"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
"""No validator badge: Swagger UI would otherwise send the document's URL to validator.swagger.io."""

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def policy(html: str, *, inline_styles: bool = False, blob_workers: bool = False) -> str:
    """The content security policy of a docs page: its own origin only, plus the page's inline scripts by hash (and
    for ReDoc, inline styles and workers from `blob:` URLs)."""
    hashes = " ".join(
        f"'sha256-{b64encode(sha256(script.encode()).digest()).decode()}'" for script in _INLINE_SCRIPT.findall(html)
    )
    scripts = f"'self' {hashes}" if hashes else "'self'"
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    workers = "'self' blob:" if blob_workers else "'self'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; worker-src {workers}; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _secured(page: HTMLResponse, *, inline_styles: bool = False, blob_workers: bool = False) -> HTMLResponse:
    html = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = policy(html, inline_styles=inline_styles, blob_workers=blob_workers)
    return page


def _openapi_url(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    document: str = request.app.openapi_url or "/openapi.json"
    return root + document


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _secured(
        get_swagger_ui_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return _secured(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _secured(
        get_redoc_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        ),
        inline_styles=True,
        blob_workers=True,
    )
