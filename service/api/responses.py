"""Response bodies as the wire carries them: JSON from documents, CSV and Arrow attachments."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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


Release = Callable[[], Awaitable[None]]


async def _nothing_held() -> None:
    return None


def streamed_attachment(
    pieces: Iterator[Callable[[], bytes]], media_type: str, filename: str, release: Release = _nothing_held
) -> Response:
    """An answer written piece by piece, each piece encoded in a thread: the loop never stalls on a big body and the
    first bytes leave at once. `release` runs once the body is sent or abandoned."""

    async def body() -> AsyncIterator[bytes]:
        try:
            for piece in pieces:
                yield await anyio.to_thread.run_sync(piece)
        finally:
            with anyio.CancelScope(shield=True):
                await release()

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body(), media_type=media_type, headers=headers)


def held_body(
    body: bytes, media_type: str, release: Release, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """An encoded answer that gives back what it held (room in the answer budget) once sent or abandoned."""

    async def once() -> AsyncIterator[bytes]:
        try:
            yield body
        finally:
            with anyio.CancelScope(shield=True):
                await release()

    answer = StreamingResponse(once(), status_code=status_code, media_type=media_type, headers=headers)
    answer.headers["Content-Length"] = str(len(body))
    return answer


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def arrow_response(body: bytes, filename: str) -> Response:
    return attachment(body, ARROW_STREAM, filename)
