"""Browser sessions and key rotation against real servers (`python -m service`), two of them sharing one store.

What a browser does: trade a key for the session cookie once, then send only the cookie (an `EventSource` stream
included); the session expires, ends on DELETE, and ends when its key is taken out of the key file, which the
servers notice within a second, without a restart.
"""

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from service.api.auth import COOKIE
from service.store.migrations import SCHEMA_VERSION
from tests.conftest import COURSE_RUN
from tests.live import LONG_RUN, Server, wait_for
from tests.store.test_sessions import schema_4_store

pytestmark = pytest.mark.live

KEYS = "# keys of the live tests\nkey-one\nrotating-old\n"


def write_keys(path: Path, text: str) -> None:
    """Rotation as the README describes it: a new file renamed over the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text, "utf-8")
    os.replace(fresh, path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sessions")
    write_keys(path / "keys", KEYS)
    return path


@pytest.fixture(scope="module")
def servers(folder: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one store and one key file, as replicas behind a load balancer would be."""
    environment = {"DESCENT_API_KEYS": "env-key", "DESCENT_API_KEYS_FILE": str(folder / "keys")}
    first = Server(folder / "runs.sqlite3", **environment)
    try:
        second = Server(folder / "runs.sqlite3", **environment)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def start_session(server: Server, key: str) -> httpx.Response:
    with server.client() as client:
        response = client.post("/v1/session", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 204, response.text
    return response


def session_client(server: Server, token: str) -> httpx.Client:
    """A client that sends only the session cookie, as a browser would, with no key anywhere."""
    return httpx.Client(base_url=server.url, timeout=30, cookies={COOKIE: token})


def stored_session(folder: Path, token: str) -> tuple[str, float, float, float | None] | None:
    with sqlite3.connect(folder / "runs.sqlite3") as db:
        row = db.execute(
            "SELECT key_fingerprint, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = ?",
            (hashlib.sha256(token.encode()).hexdigest(),),
        ).fetchone()
    return row if row is None else tuple(row)


def status(server: Server, token: str, path: str = "/v1/runs?limit=1") -> int:
    with session_client(server, token) as client:
        return client.get(path).status_code


def test_the_cookie_is_an_opaque_token_not_the_key(servers: tuple[Server, Server], folder: Path) -> None:
    response = start_session(servers[0], "key-one")
    header = response.headers["set-cookie"]
    token = response.cookies[COOKIE]
    assert "key-one" not in header
    assert token != "key-one"
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/v1", f"Max-Age={8 * 3600}"):
        assert attribute in header
    assert "Secure" not in header  # plain HTTP here; over HTTPS the cookie is Secure
    stored = stored_session(folder, token)
    assert stored is not None
    fingerprint, created, expires, revoked = stored
    assert fingerprint == hashlib.sha256(b"key-one").hexdigest()
    assert expires - created == 8 * 3600
    assert revoked is None
    store_bytes = b"".join(path.read_bytes() for path in folder.glob("runs.sqlite3*"))
    assert token.encode() not in store_bytes
    assert b"key-one" not in store_bytes


def test_a_session_opens_v1_and_event_streams_on_every_server(servers: tuple[Server, Server]) -> None:
    token = start_session(servers[0], "key-one").cookies[COOKIE]
    for server in servers:
        with session_client(server, token) as client:
            created = client.post("/v1/runs", json=COURSE_RUN)
            assert created.status_code == 201
            assert client.get("/v1/catalog").status_code == 200
            with connect_sse(client, "GET", f"/v1/runs/{created.json()['id']}/events") as source:
                assert source.response.status_code == 200
                assert [event.event for event in source.iter_sse()][-1] == "end"
        with httpx.Client(base_url=server.url) as anonymous:
            assert anonymous.get("/v1/runs").status_code == 401


def test_delete_revokes_the_session_on_every_server(servers: tuple[Server, Server], folder: Path) -> None:
    token = start_session(servers[0], "key-one").cookies[COOKIE]
    other = start_session(servers[0], "key-one").cookies[COOKIE]
    assert [status(server, token) for server in servers] == [200, 200]
    with session_client(servers[1], token) as client:
        ended = client.delete("/v1/session")
    assert ended.status_code == 204
    assert "Max-Age=0" in ended.headers["set-cookie"]
    assert [status(server, token) for server in servers] == [401, 401]  # the same cookie, kept by a client
    assert [status(server, other) for server in servers] == [200, 200]  # another session is not touched
    stored = stored_session(folder, token)
    assert stored is not None
    assert stored[3] is not None


@pytest.mark.parametrize("ended_by", ["sign-out", "key withdrawn"])
def test_an_open_stream_ends_with_its_session(servers: tuple[Server, Server], folder: Path, ended_by: str) -> None:
    """A stream outlives the request that opened it: once its session ends (signed out on the other server, or its
    key taken out of the key file), the stream sends an `error` event (401) within seconds and closes, and the
    browser's reconnection gets a 401."""
    key = "key-one" if ended_by == "sign-out" else "rotating-old"
    token = start_session(servers[0], key).cookies[COOKIE]
    with session_client(servers[0], token) as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
    try:
        with session_client(servers[1], token) as client:
            # paced (interval_ms): the stream lasts ~20 s however fast the run computes
            paced = {"batch": 100, "interval_ms": 20}
            with connect_sse(client, "GET", f"/v1/runs/{run_id}/events", params=paced) as source:
                assert source.response.status_code == 200
                events = source.iter_sse()
                assert next(events).event == "run"
                assert next(events).event == "steps"
                if ended_by == "sign-out":
                    with session_client(servers[0], token) as other:
                        assert other.delete("/v1/session").status_code == 204
                else:
                    write_keys(folder / "keys", "# withdrawn\nkey-one\n")
                ended = time.monotonic()
                rest = list(events)
                waited = time.monotonic() - ended
            assert rest[-1].event == "error", [event.event for event in rest[-3:]]
            assert "end" not in [event.event for event in rest]
            assert '"status":401' in rest[-1].data.replace(" ", "")
            assert waited < 10, f"the stream went on for {waited:.1f} s"
            assert client.get(f"/v1/runs/{run_id}/events").status_code == 401  # EventSource's reconnection
    finally:
        write_keys(folder / "keys", KEYS)
        with servers[0].client() as admin:
            admin.delete(f"/v1/runs/{run_id}", headers={"X-API-Key": "key-one"})


def test_a_session_cannot_renew_itself(servers: tuple[Server, Server]) -> None:
    token = start_session(servers[0], "key-one").cookies[COOKIE]
    with session_client(servers[0], token) as client:
        assert client.post("/v1/session").status_code == 401


def test_a_session_expires(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_API_KEYS="key-one", DESCENT_SESSION_SECONDS="2")
    try:
        began = time.monotonic()
        response = start_session(server, "key-one")
        assert "Max-Age=2" in response.headers["set-cookie"]
        token = response.cookies[COOKIE]
        assert status(server, token) == 200
        wait_for(lambda: status(server, token) == 401, timeout=10, interval=0.1)
        assert time.monotonic() - began >= 1.9
        with server.client() as client:  # the key itself still works
            assert client.get("/v1/runs", headers={"X-API-Key": "key-one"}).status_code == 200
    finally:
        server.stop()


def test_rotating_the_key_file_without_a_restart(servers: tuple[Server, Server], folder: Path) -> None:
    pids = [server.process.pid for server in servers]
    old_token = start_session(servers[0], "rotating-old").cookies[COOKIE]
    steady_token = start_session(servers[1], "key-one").cookies[COOKIE]
    assert [status(server, old_token) for server in servers] == [200, 200]

    def key_status(server: Server, key: str) -> int:
        with server.client() as client:
            return client.get("/v1/runs?limit=1", headers={"Authorization": f"Bearer {key}"}).status_code

    assert key_status(servers[0], "rotating-new") == 401
    rotated = time.monotonic()
    write_keys(folder / "keys", "# rotated\nkey-one\nrotating-new\n")
    for server in servers:
        wait_for(lambda server=server: key_status(server, "rotating-new") == 200, timeout=10, interval=0.05)
    assert time.monotonic() - rotated < 3  # checked once a second (polling and loaded machines add a little)
    for server in servers:
        assert key_status(server, "rotating-old") == 401
        assert status(server, old_token) == 401
        assert status(server, steady_token) == 200
        assert key_status(server, "env-key") == 200
    stored = stored_session(folder, old_token)
    assert stored is not None
    assert stored[3] is not None  # revoked in the store, not only refused
    write_keys(folder / "keys", KEYS)  # the old key comes back: its old session stays ended
    for server in servers:
        wait_for(lambda server=server: key_status(server, "rotating-old") == 200, timeout=10, interval=0.05)
        assert status(server, old_token) == 401
    assert [server.process.pid for server in servers] == pids
    assert all(server.process.poll() is None for server in servers)


def test_a_schema_4_store_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    schema_4_store(path)
    server = Server(path, DESCENT_API_KEYS="key-one")
    try:
        with server.client() as client:
            run = client.get("/v1/runs/kept", headers={"X-API-Key": "key-one"})
            assert run.status_code == 200
            assert len(run.json()["trace"]["step"]) == 41
        token = start_session(server, "key-one").cookies[COOKIE]
        assert status(server, token, "/v1/runs/kept") == 200
    finally:
        server.stop()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
