"""A real server (`python -m service`, what `make run` starts) on loopback for the client's tests, and a client of it.

The server is the repository's `tests.live.Server` (pytest runs from the repository's root, so `tests` is the
service's test package); one server serves the whole session's client tests."""

from collections.abc import Iterator

import pytest

from descent_client import Client
from tests.live import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("client") / "runs.sqlite3")
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.url) as connected:
        yield connected
