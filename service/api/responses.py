"""Response bodies as the wire carries them: JSON from documents, CSV and Arrow attachments."""

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio.to_thread
from starlette.responses import Response, StreamingResponse

from service.encodings import ARROW_STREAM, json_bytes


def json_response(document: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(document), status_code=status_code, media_type="application/json", headers=headers)


OFF_LOOP_VALUES = 20_000
"""Documents with more numbers than this are encoded in a thread: a million-row trace takes orjson a quarter of a
second, which would stall every other request and stream."""


async def json_answer(
    document: Any, size: int, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`json_response`, encoded off the event loop when the document holds more than OFF_LOOP_VALUES numbers."""
    if size <= OFF_LOOP_VALUES:
        return json_response(document, status_code, headers)
    body = await anyio.to_thread.run_sync(json_bytes, document)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def streamed_attachment(pieces: Iterator[Callable[[], str]], media_type: str, filename: str) -> Response:
    """An answer written piece by piece, each piece encoded in a thread: the loop never stalls on a big body and the
    first bytes leave at once."""

    async def body() -> AsyncIterator[str]:
        for piece in pieces:
            yield await anyio.to_thread.run_sync(piece)

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body(), media_type=media_type, headers=headers)


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def arrow_response(body: bytes, filename: str) -> Response:
    return attachment(body, ARROW_STREAM, filename)
