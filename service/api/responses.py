"""Response bodies as the wire carries them: JSON from documents, CSV and Arrow attachments."""

from typing import Any

from starlette.responses import Response

from service.encodings import ARROW_STREAM, json_bytes


def json_response(document: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(document), status_code=status_code, media_type="application/json", headers=headers)


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def arrow_response(body: bytes, filename: str) -> Response:
    return attachment(body, ARROW_STREAM, filename)
