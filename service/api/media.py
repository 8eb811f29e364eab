"""Request media types: an operation that takes a JSON body refuses any other with 415 Unsupported Media Type.

FastAPI parses a body as JSON only when its `Content-Type` says JSON; any other body reaches validation as raw
bytes, and the client read "Give an object with a 'kind'" about a body that may well be that object. The
dependency `json_body` (on every router, after authentication) runs after FastAPI has read the body and before the
body is validated, and names the type received and the one expected instead.
"""

from fastapi import Request

from service.api.problems import ProblemError

JSON = "application/json"


def is_json(content_type: str) -> bool:
    """`application/json` or `application/<anything>+json` (what FastAPI parses), with any parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request) -> None:
    """415 when this operation takes a JSON body and a non-empty body comes as another type (or as none)."""
    if getattr(request.scope.get("route"), "body_field", None) is None:
        return
    content_type = request.headers.get("content-type")
    if content_type is not None and is_json(content_type):
        return
    if not await request.body():  # read already, by FastAPI; a missing body is the body's validation's to refuse
        return
    received = f"The body's Content-Type is {content_type}" if content_type else "The body has no Content-Type"
    raise ProblemError(
        415,
        "Unsupported Media Type",
        f"{received}; {request.method} {request.url.path} takes {JSON}: send the body with Content-Type: {JSON}.",
        headers={"Accept-Post": JSON} if request.method == "POST" else None,
    )
