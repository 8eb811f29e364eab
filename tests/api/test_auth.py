"""Optional API keys (headers or a session cookie for browsers) and the CORS allow-list."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.conftest import COURSE_RUN

ORIGIN = "https://dashboard.example"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        store_path=str(tmp_path / "runs.sqlite3"),
        executor="thread",
        api_keys=["key-one", "key-two"],
        cors_origins=[ORIGIN],
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/runs"),
        ("GET", "/v1/catalog"),
        ("POST", "/v1/runs"),
        ("GET", "/v1/runs/x/events"),
        ("DELETE", "/v1/runs/x"),
    ],
)
def test_v1_routes_need_a_key(secured: TestClient, method: str, path: str) -> None:
    response = secured.request(method, path, json=COURSE_RUN if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert secured.get("/v1/runs").status_code == 401  # and nothing was created


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer key-two"}, {"authorization": "bearer key-one"}, {"X-API-Key": "key-one"}]
)
def test_a_configured_key_opens_v1(secured: TestClient, headers: dict[str, str]) -> None:
    assert secured.post("/v1/runs", json=COURSE_RUN, headers=headers).status_code == 201


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer key-three"}, {"X-API-Key": "key-on"}, {"Authorization": "key-one"}]
)
def test_a_wrong_key_is_refused(secured: TestClient, headers: dict[str, str]) -> None:
    assert secured.get("/v1/runs", headers=headers).status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operational_routes_stay_open(secured: TestClient, path: str) -> None:
    assert secured.get(path).status_code == 200


def test_browser_session_cookie_lets_event_source_in(secured: TestClient) -> None:
    started = secured.post("/v1/session", headers={"Authorization": "Bearer key-one"})
    assert started.status_code == 204
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/v1" in cookie
    run_id = secured.post("/v1/runs", json=COURSE_RUN).json()["id"]  # the cookie alone authenticates
    with secured.stream("GET", f"/v1/runs/{run_id}/events") as stream:
        assert stream.status_code == 200
        assert any(line == "event: end" for line in stream.iter_lines())
    assert secured.delete("/v1/session").status_code == 204
    secured.cookies.clear()
    assert secured.get("/v1/runs").status_code == 401


def test_cors_allows_only_listed_origins(secured: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = secured.options("/v1/runs", headers={"Origin": ORIGIN, **preflight})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    refused = secured.options("/v1/runs", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


def test_keys_and_origins_come_from_comma_separated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCENT_API_KEYS", "a, b")
    monkeypatch.setenv("DESCENT_CORS_ORIGINS", ORIGIN)
    settings = Settings()
    assert settings.api_keys == ["a", "b"]
    assert settings.cors_origins == [ORIGIN]
