"""The HTTP edge against a real server (`python -m service`) on loopback: methods and `Allow`, HEAD, media types,
security headers on HTML, who the client is behind (or without) a proxy, and connections that idle or trickle."""

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from service.api.dashboard import SECURITY_HEADERS
from service.api.security_headers import DOCS_HEADERS
from tests.conftest import COURSE_RUN
from tests.live import Server, wait_for

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("edge") / "runs.sqlite3", DESCENT_EXECUTOR="thread")
    yield running
    running.stop()


def raw(server: Server, request: bytes, timeout: float = 5) -> bytes:
    """Send `request` as it is and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/healthz", "GET, HEAD"),
        ("PUT", "/v1/runs", "GET, HEAD, POST"),
        ("PATCH", "/v1/runs/no-such-run", "DELETE, GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/static/index.html", "GET, HEAD"),
    ],
)
def test_405_names_every_method_of_the_path(server: Server, method: str, path: str, allow: str) -> None:
    with server.client() as client:
        response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"
    *others, last = allow.split(", ")
    assert response.json()["detail"] == f"{method} is not allowed here; use {', '.join(others)} or {last}."


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/catalog", "/", "/static/index.html", "/openapi.json"])
def test_head_answers_as_get_without_a_body(server: Server, path: str) -> None:
    with server.client() as client:
        get, head = client.get(path), client.head(path)
    assert (head.status_code, get.status_code) == (200, 200)
    assert head.content == b""
    for name in ("content-type", "content-length", "content-security-policy", "x-content-type-options"):
        assert head.headers.get(name) == get.headers.get(name), name
    # On the wire: the header block, then nothing, though Content-Length announces the GET's body.
    answer = raw(server, f"HEAD {path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
    head_block, rest = answer.split(b"\r\n\r\n", 1)
    assert head_block.startswith(b"HTTP/1.1 200 ")
    assert f"content-length: {len(get.content)}".encode() in head_block.lower()
    assert rest == b""


def test_head_of_an_event_stream_ends_at_once_and_frees_its_slot(server: Server) -> None:
    with server.client(timeout=5) as client:
        run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
        head = client.head(f"/v1/runs/{run_id}/events", params={"interval_ms": 10_000})  # a GET would last 400 s
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        assert head.content == b""
        wait_for(lambda: "descent_active_streams 0.0" in client.get("/metrics").text, timeout=5)


def test_head_where_get_is_refused_is_refused_alike(server: Server) -> None:
    with server.client() as client:
        assert client.head("/v1/runs/no-such-run").status_code == 404
        refused = client.head("/v1/landscape")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/v1/runs", "/v1/sweeps", "/v1/lr-finder", "/v1/landscape"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(server: Server, path: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with server.client() as client:
        response = client.post(path, content=orjson.dumps(COURSE_RUN), headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["accept-post"] == "application/json"
    problem = response.json()
    assert problem["title"] == "Unsupported Media Type"
    assert (content_type or "no Content-Type") in problem["detail"]
    assert "application/json" in problem["detail"]


def test_json_bodies_are_still_taken(server: Server) -> None:
    with server.client() as client:
        for content_type in ("application/json", "application/json; charset=utf-8", "application/merge-patch+json"):
            response = client.post("/v1/runs", content=orjson.dumps(COURSE_RUN), headers={"Content-Type": content_type})
            assert response.status_code == 201, content_type
        # No body at all stays the body's own 422, whatever the type says.
        empty = client.post("/v1/runs", content=b"", headers={"Content-Type": "text/plain"})
        assert empty.status_code == 422


@pytest.mark.parametrize("path", ["/", "/static/index.html"])
def test_every_html_answer_carries_the_dashboards_security_headers(server: Server, path: str) -> None:
    with server.client() as client:
        for response in (client.get(path), client.head(path)):
            assert response.headers["content-type"].startswith("text/html")
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, name


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_api_docs_pages_get_a_policy_that_lets_them_load(server: Server, path: str) -> None:
    with server.client() as client:
        response = client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy == DOCS_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_answers_that_are_not_html_are_left_alone(server: Server) -> None:
    with server.client() as client:
        for path in ("/healthz", "/static/app.js", "/openapi.json"):
            assert "content-security-policy" not in client.get(path).headers, path


def _hold_a_stream(streams: ExitStack, client: httpx.Client, run_id: str, **headers: str) -> Iterator[ServerSentEvent]:
    """Open a slow replay (an event every 10 s) of a finished run, held open by `streams`; returns its events once
    the first has come (keep them: a dropped iterator closes the response)."""
    params = {"interval_ms": 10_000}
    source = streams.enter_context(
        connect_sse(client, "GET", f"/v1/runs/{run_id}/events", params=params, headers=headers)
    )
    events = source.iter_sse()
    assert next(events).event == "run"
    return events


def test_x_forwarded_for_from_loopback_does_not_make_a_new_client(tmp_path: Path) -> None:
    """By default no proxy is trusted, so a client cannot claim another address to get more streams."""
    server = Server(tmp_path / "runs.sqlite3", DESCENT_EXECUTOR="thread", DESCENT_MAX_STREAMS_PER_CLIENT="1")
    try:
        with server.client() as client, server.client() as other, ExitStack() as streams:
            run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
            held = _hold_a_stream(streams, client, run_id)
            posing = other.get(f"/v1/runs/{run_id}/events", headers={"X-Forwarded-For": "203.0.113.7"})
            assert posing.status_code == 429
            assert "open event streams" in posing.json()["detail"]
            assert held
    finally:
        log = server.stop()
    assert "203.0.113.7" not in log  # the access log names the real peer


def test_x_forwarded_for_from_a_configured_proxy_names_the_client(tmp_path: Path) -> None:
    server = Server(
        tmp_path / "runs.sqlite3",
        DESCENT_EXECUTOR="thread",
        DESCENT_MAX_STREAMS_PER_CLIENT="1",
        DESCENT_FORWARDED_ALLOW_IPS="127.0.0.1",
    )
    try:
        with server.client() as client, server.client() as other, server.client() as third, ExitStack() as streams:
            run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
            held = [
                _hold_a_stream(streams, client, run_id, **{"X-Forwarded-For": "203.0.113.7"}),
                _hold_a_stream(streams, other, run_id, **{"X-Forwarded-For": "203.0.113.8"}),  # another client
            ]
            again = third.get(f"/v1/runs/{run_id}/events", headers={"X-Forwarded-For": "203.0.113.7"})
            assert again.status_code == 429
            assert held
    finally:
        log = server.stop()
    assert "203.0.113.7:0" in log
    assert "203.0.113.8:0" in log
