"""`HeadWithBody`: a response's head goes out in the same write as its body's first piece, and never later than
the end of the event loop's step, nor after the connection closes."""

import asyncio

import pytest

from service.api.connections import HELD_BODY_BYTES, HeadWithBody

HEAD = b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\n\r\n"


class Socket:
    """What reaches the socket: each `write` as one item, then whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "a write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def cycle(steps: "list[object]") -> Socket:
    """Run `steps` on a fresh `HeadWithBody` in one step of a real event loop (bytes: a write; "close"; "yield": let
    the loop run a step), then one more step; what reached the socket."""
    socket = Socket()

    async def main() -> None:
        transport = HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
        for step in steps:
            if step == "close":
                transport.close()
            elif step == "yield":
                await asyncio.sleep(0)
            else:
                assert isinstance(step, bytes)
                transport.write(step)
        await asyncio.sleep(0)

    asyncio.run(main())
    return socket


BIG = b"x" * (HELD_BODY_BYTES + 1)
CASES: dict[str, tuple[list[object], list[bytes], bool]] = {
    "head and body: one write": ([HEAD, b"hello"], [HEAD + b"hello"], False),
    "head alone (HEAD, a stream yet to start): at the step's end": ([HEAD], [HEAD], False),
    "head, then the body a step later": ([HEAD, "yield", b"hello"], [HEAD, b"hello"], False),
    "later pieces pass straight through": ([HEAD, b"a", b"b", b"c"], [HEAD + b"a", b"b", b"c"], False),
    "a big body is not copied": ([HEAD, BIG], [HEAD, BIG], False),
    "closed with the head held: written first": ([HEAD, "close"], [HEAD], True),
    "closed after the body": ([HEAD, b"hello", "close"], [HEAD + b"hello"], True),
}


@pytest.mark.parametrize(("steps", "writes", "closed"), CASES.values(), ids=CASES.keys())
def test_what_reaches_the_socket(steps: list[object], writes: list[bytes], closed: bool) -> None:
    socket = cycle(steps)
    assert socket.writes == writes
    assert socket.closed == closed


def test_a_head_held_when_the_peer_has_gone_is_dropped() -> None:
    socket = Socket()

    async def main() -> None:
        transport = HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(HEAD)
        socket.closed = True  # the client went away before the end of the step
        await asyncio.sleep(0)

    asyncio.run(main())
    assert socket.writes == []


def test_anything_else_is_the_transports() -> None:
    async def main() -> str:
        transport = HeadWithBody(Socket(), asyncio.get_running_loop())  # type: ignore[arg-type]
        return str(transport.get_extra_info("peername"))

    assert asyncio.run(main()) == "info peername"
