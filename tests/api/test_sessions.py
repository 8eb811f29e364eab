"""Browser sessions in process: the cookie is an opaque token whose hash the store keeps, a session cannot start
another, an ended one is refused and its cookie cleared; the key file and the session lifetime settings."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.auth import COOKIE
from service.api.keys import KeyFileError
from service.config import Settings
from service.main import create_app
from service.store.base import RunStore


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    path.write_text("# the lab's keys\nfile-key\n", "utf-8")
    return path


@pytest.fixture
def secured(tmp_path: Path, keys_file: Path) -> Iterator[TestClient]:
    settings = Settings(
        store_path=str(tmp_path / "runs.sqlite3"),
        executor="thread",
        api_keys=["env-key"],
        api_keys_file=str(keys_file),
        session_seconds=600,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def store(client: TestClient) -> RunStore:
    runs: RunStore = client.app.state.lifecycle.store  # type: ignore[attr-defined]
    return runs


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def start(client: TestClient, key: str) -> str:
    response = client.post("/v1/session", headers={"X-API-Key": key})
    assert response.status_code == 204, response.text
    token: str = response.cookies[COOKIE]
    return token


@pytest.mark.parametrize("key", ["env-key", "file-key"])
def test_the_cookie_is_an_opaque_token_the_store_knows_only_by_hash(secured: TestClient, key: str) -> None:
    response = secured.post("/v1/session", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 204
    header = response.headers["set-cookie"]
    assert key not in header
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/v1", "Max-Age=600"):
        assert attribute in header
    token = response.cookies[COOKIE]
    assert len(token) >= 43  # 32 random bytes, base64url
    session = store(secured).get_session(sha256(token))
    assert session is not None
    assert session.key_fingerprint == sha256(key)
    assert session.expires_at - session.created_at == 600
    assert store(secured).get_session(token) is None  # not stored as itself
    assert secured.get("/v1/runs").status_code == 200  # the cookie alone
    assert start(secured, key) != token  # every session its own token


def test_a_session_cannot_start_another(secured: TestClient) -> None:
    start(secured, "file-key")
    refused = secured.post("/v1/session")
    assert refused.status_code == 401
    assert "header" in refused.json()["detail"]


def test_a_new_session_ends_the_one_it_replaces(secured: TestClient) -> None:
    old = start(secured, "file-key")
    new = start(secured, "env-key")  # the client sends the old cookie along
    old_session, new_session = store(secured).get_session(sha256(old)), store(secured).get_session(sha256(new))
    assert old_session is not None
    assert old_session.revoked_at is not None
    assert new_session is not None
    assert new_session.revoked_at is None


def test_an_ended_session_gets_401_and_its_cookie_is_cleared(secured: TestClient) -> None:
    token = start(secured, "file-key")
    assert secured.delete("/v1/session").status_code == 204
    secured.cookies.set(COOKIE, token)  # a client that kept it
    refused = secured.get("/v1/runs")
    assert refused.status_code == 401
    assert "ended" in refused.json()["detail"]
    assert 'descent_session=""' in refused.headers["set-cookie"]
    assert "Max-Age=0" in refused.headers["set-cookie"]
    secured.cookies.set(COOKIE, "a-token-nobody-issued")
    assert secured.get("/v1/runs").status_code == 401
    assert secured.get("/v1/runs", headers={"X-API-Key": "env-key"}).status_code == 200  # a key still works


def test_the_key_as_cookie_no_longer_lets_in(secured: TestClient) -> None:
    secured.cookies.set(COOKIE, "env-key")  # what the previous release put in the cookie
    assert secured.get("/v1/runs").status_code == 401


def test_without_keys_a_session_is_not_needed_and_not_set(client: TestClient) -> None:
    response = client.post("/v1/session")
    assert response.status_code == 204
    assert "set-cookie" not in response.headers
    assert client.get("/v1/runs").status_code == 200


def test_an_unreadable_key_file_stops_the_start(tmp_path: Path) -> None:
    settings = Settings(store_path=":memory:", api_keys_file=str(tmp_path / "missing"))
    with pytest.raises(KeyFileError, match="missing"), TestClient(create_app(settings)):
        pass


def test_a_key_file_alone_puts_the_keys_in_the_api_document(keys_file: Path) -> None:
    document = create_app(Settings(store_path=":memory:", api_keys_file=str(keys_file))).openapi()
    assert "securitySchemes" in document["components"]
    assert "401" in document["paths"]["/v1/runs"]["get"]["responses"]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, keys_file: Path) -> None:
    assert Settings().session_seconds == 8 * 3600
    assert Settings().api_keys_file is None
    monkeypatch.setenv("DESCENT_SESSION_SECONDS", "2")
    monkeypatch.setenv("DESCENT_API_KEYS_FILE", str(keys_file))
    settings = Settings()
    assert settings.session_seconds == 2
    assert settings.api_keys_file == str(keys_file)
