"""The HTTP edge against a real server (`python -m service`) on loopback: methods and `Allow`, HEAD, media types,
security headers on HTML, who the client is behind (or without) a proxy, and connections that idle or trickle."""

import base64
import hashlib
import re
import resource
import select
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from service.api.dashboard import SECURITY_HEADERS
from tests.conftest import COURSE_RUN
from tests.live import Server, answers_healthz, wait_for

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
def test_the_api_docs_pages_load_from_this_server_only(server: Server, path: str) -> None:
    """Their scripts and styles are the vendored copies; their own inline scripts run, allowed by hash, no other."""
    with server.client() as client:
        response = client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(directive.split(" ", 1) for directive in response.headers["content-security-policy"].split("; "))
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'" for script in inline]
    assert policy["script-src"].split() == ["'self'", *hashes]
    assert policy["default-src"] == policy["connect-src"] == policy["font-src"] == "'self'"
    redoc = path == "/redoc"  # ReDoc's styled-components and search worker; Swagger UI needs neither
    assert policy["style-src"] == ("'self' 'unsafe-inline'" if redoc else "'self'")
    assert policy["worker-src"] == ("'self' blob:" if redoc else "'self'")
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == policy["object-src"] == policy["base-uri"] == "'none'"
    assert "http" not in response.headers["content-security-policy"]
    remote = re.findall(r"""(?:src|href)=["']?(https?:[^"' >]*)""", response.text)
    assert remote == [], f"{path} loads {remote}"
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


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with 1 s idle, header and body timeouts."""
    running = Server(
        tmp_path_factory.mktemp("impatient") / "runs.sqlite3",
        DESCENT_EXECUTOR="thread",
        DESCENT_KEEP_ALIVE_TIMEOUT="1",
        DESCENT_HEADER_TIMEOUT="1",
        DESCENT_BODY_TIMEOUT="1",
    )
    yield running
    running.stop()


def seconds_until_closed(connection: socket.socket, limit: float, trickle: bytes = b"", every: float = 0.2) -> float:
    """Seconds until the server closes `connection` (sending `trickle` every `every` s meanwhile); fails after
    `limit` s, or if the server answers anything."""
    start = time.monotonic()
    connection.settimeout(every)
    while time.monotonic() - start < limit:
        try:
            if trickle:
                connection.sendall(trickle)
            received = connection.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        assert received == b"", received
        return time.monotonic() - start
    raise AssertionError(f"still open after {limit} s")


def read_until(connection: socket.socket, end: bytes) -> bytes:
    """What the server sends until it ends with `end`, however it is split into packets."""
    received = b""
    while not received.endswith(end):
        chunk = connection.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    return received


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_a_connection_that_never_sends_a_request_is_closed(impatient: Server) -> None:
    with connect(impatient) as idle:
        assert 0.8 < seconds_until_closed(idle, limit=5) < 3


def test_a_connection_idle_after_a_response_is_closed(impatient: Server) -> None:
    with connect(impatient) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
        answer = read_until(connection, b'{"status":"ok"}')
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert seconds_until_closed(connection, limit=5) < 3


def test_headers_that_trickle_in_are_cut_off(impatient: Server) -> None:
    """A header line every 0.2 s keeps bytes coming, yet the header block has 1 s in all."""
    with connect(impatient) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n")
        assert 0.8 < seconds_until_closed(connection, limit=5, trickle=b"X-Slow: 1\r\n") < 3


def test_a_body_that_stalls_gets_408_and_the_connection_closes(impatient: Server) -> None:
    body = orjson.dumps(COURSE_RUN)
    head = (
        f"POST /v1/runs HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with connect(impatient) as connection:
        connection.sendall(head.encode() + body[:10])
        start = time.monotonic()
        answer = b""
        while chunk := connection.recv(65536):  # the server closes after its answer
            answer += chunk
        assert 0.8 < time.monotonic() - start < 3
    head_block, problem = answer.split(b"\r\n\r\n", 1)
    assert head_block.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head_block.lower()
    assert b"content-type: application/problem+json" in head_block.lower()
    assert "DESCENT_BODY_TIMEOUT" in orjson.loads(problem)["detail"]


def test_a_body_sent_in_chunks_closer_than_the_timeout_is_taken(impatient: Server) -> None:
    """The timeout is between chunks: a body that takes longer in all, but never pauses for 1 s, is read."""
    body = orjson.dumps(COURSE_RUN)
    head = f"POST /v1/runs HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with connect(impatient) as connection:
        connection.sendall(head.encode() + b"Connection: close\r\n\r\n")
        for start in range(0, len(body), len(body) // 5 + 1):  # six pieces, 0.3 s apart: 1.5 s in all
            time.sleep(0.3)
            connection.sendall(body[start : start + len(body) // 5 + 1])
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 ")


def test_an_answer_before_the_body_is_read_closes_the_connection(impatient: Server) -> None:
    """A body nobody reads (no such route) cannot keep the connection open by trickling in after the answer."""
    with connect(impatient) as connection:
        connection.sendall(b"POST /v1/nothing HTTP/1.1\r\nHost: edge\r\nContent-Length: 100000\r\n\r\n{")
        answer = read_until(connection, b"}")  # the whole problem document
        assert answer.startswith(b"HTTP/1.1 404 ")
        assert b"connection: close" in answer.lower()
        assert seconds_until_closed(connection, limit=3, trickle=b" ") < 1


def test_healthz_stays_quick_while_200_idle_connections_are_held(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_EXECUTOR="thread", DESCENT_KEEP_ALIVE_TIMEOUT="3")
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: a new client must get in
    try:
        with ExitStack() as held, httpx.Client(base_url=server.url, timeout=5, limits=fresh) as client:
            idle = [held.enter_context(connect(server)) for _ in range(200)]
            took = []
            for _ in range(50):
                start = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                took.append(time.perf_counter() - start)
            p95 = statistics.quantiles(took, n=20)[-1]
            print(f"/healthz, 200 idle connections held: p50 {statistics.median(took):.4f} s, p95 {p95:.4f} s")
            assert p95 < 0.5
            readable, _, _ = select.select(idle, [], [], 0)
            assert not readable  # every one was still held while /healthz was measured...
            for connection in idle:  # ...and the idle timeout then closes every one
                seconds_until_closed(connection, limit=6)
    finally:
        server.stop()


def test_beyond_max_connections_a_request_gets_503_at_once(tmp_path: Path) -> None:
    server = Server(
        tmp_path / "runs.sqlite3",
        DESCENT_EXECUTOR="thread",
        DESCENT_MAX_CONNECTIONS="10",
        DESCENT_KEEP_ALIVE_TIMEOUT="2",
    )
    try:
        wait_for(lambda: httpx.get(f"{server.url}/healthz").status_code == 200)  # the start-up probes are gone
        with ExitStack() as held:
            idle = [held.enter_context(connect(server)) for _ in range(10)]
            refused = httpx.get(f"{server.url}/healthz", timeout=5)
            assert refused.status_code == 503
            for connection in idle:
                seconds_until_closed(connection, limit=5)
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
def test_idle_connections_past_the_open_file_limit_take_healthz_down_only_briefly(tmp_path: Path) -> None:
    """The incident: idle connections held every file descriptor the server may open, so it could accept no one,
    /healthz included. They are now closed after the keep-alive timeout, and /healthz answers again."""
    server = Server(tmp_path / "runs.sqlite3", DESCENT_EXECUTOR="thread", DESCENT_KEEP_ALIVE_TIMEOUT="2")
    try:
        resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (256, 256))
        with ExitStack() as held:
            for _ in range(300):  # the kernel completes them all; the server can accept fewer than 256
                held.enter_context(connect(server))
            assert answers_healthz(server.url, 15)
    finally:
        server.stop()
