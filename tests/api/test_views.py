"""`/v1/views`: a dashboard view saved under a short id derived from its content, read back as it was sent,
immutable and cached as such; bounded in size, per client per hour, and in total; `/v/{id}` opens it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.views import ID_LENGTH, canonical, view_id

VIEW = {
    "spec": {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40},
    "runs": ["r1", "r2", "r3"],
    "hidden": ["r2"],
    "log": ["loss", "lr"],
    "zoom": {"curve": [-1.5, 2.25]},
    "step": 3,
    "view": None,
}


def app(tmp_path: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", **settings)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with app(tmp_path) as test_client:
        yield test_client


def test_a_saved_view_reads_back_as_sent_under_a_short_id(client: TestClient) -> None:
    saved = client.post("/v1/views", json={"state": VIEW})
    assert saved.status_code == 201
    body = saved.json()
    assert len(body["id"]) == ID_LENGTH
    assert body["id"].isalnum()
    assert body["id"] == view_id(canonical(VIEW))
    assert body["url"] == f"/v/{body['id']}"
    assert saved.headers["location"] == f"/v1/views/{body['id']}"
    read = client.get(f"/v1/views/{body['id']}")
    assert read.status_code == 200
    assert read.json() == {**body, "state": VIEW}
    assert read.json()["created_at"].endswith("Z")


def test_the_same_view_is_the_same_id_and_stored_once(client: TestClient) -> None:
    first = client.post("/v1/views", json={"state": VIEW}).json()
    reordered = dict(reversed(list(VIEW.items())))
    again = client.post("/v1/views", json={"state": reordered})
    assert again.status_code == 200  # not created: it was there
    assert again.json() == first
    other = client.post("/v1/views", json={"state": {**VIEW, "step": 4}})
    assert other.status_code == 201
    assert other.json()["id"] != first["id"]


def test_a_view_is_cached_as_immutable_and_revalidates_by_its_etag(client: TestClient) -> None:
    ident = client.post("/v1/views", json={"state": VIEW}).json()["id"]
    read = client.get(f"/v1/views/{ident}")
    assert read.headers["etag"] == f'"{ident}"'
    assert read.headers["cache-control"] == "private, max-age=31536000, immutable"
    for tag in (f'"{ident}"', f'W/"{ident}"', f'"other", "{ident}"', "*"):
        unchanged = client.get(f"/v1/views/{ident}", headers={"If-None-Match": tag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
    assert client.get(f"/v1/views/{ident}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_an_unknown_view_is_404_and_a_malformed_id_422(client: TestClient) -> None:
    missing = client.get("/v1/views/" + "0" * ID_LENGTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "No view has this id" in missing.json()["detail"]
    malformed = client.get("/v1/views/not-an-id")
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["loc"] == ["path", "view_id"]


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        (b'{"state": [1, 2]}', ["state"], "object"),
        (b'{"runs": []}', ["state"], ""),
        (b'{"state": {}, "name": "x"}', ["name"], ""),
        (b'{"state": {"step": 9007199254740993}}', ["state", "step"], "9007199254740991"),
        (b'{"state": {"zoom": {"curve": [NaN, 1]}}}', ["state", "zoom", "curve", 0], "finite"),
        (b'{"state": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}", ["state", "a", *[0] * 32], "32 levels"),
    ],
)
def test_a_view_json_cannot_carry_faithfully_is_a_422_naming_where(
    client: TestClient, body: bytes, loc: list[object], says: str
) -> None:
    refused = client.post("/v1/views", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == loc
    assert says in refused.json()["errors"][0]["msg"]


def test_a_view_beyond_the_size_limit_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with app(tmp_path, max_view_bytes=2048) as client:
        fits = {"note": "x" * (2048 - len('{"note":""}'))}
        assert len(canonical(fits)) == 2048
        assert client.post("/v1/views", json={"state": fits}).status_code == 201
        refused = client.post("/v1/views", json={"state": {"note": "x" * 2048}})
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["type"] == "urn:descent:problem:limit-exceeded"
        assert problem["errors"][0]["loc"] == ["state"]
        assert "DESCENT_MAX_VIEW_BYTES" in problem["errors"][0]["msg"]
        assert "2,059 bytes" in problem["errors"][0]["msg"]


def test_a_client_saves_at_most_its_hourly_quota_of_new_views(tmp_path: Path) -> None:
    with app(tmp_path, max_views_per_hour=2) as client:
        first = client.post("/v1/views", json={"state": {"step": 1}})
        assert client.post("/v1/views", json={"state": {"step": 2}}).status_code == 201
        refused = client.post("/v1/views", json={"state": {"step": 3}})
        assert refused.status_code == 429
        assert "DESCENT_MAX_VIEWS_PER_HOUR" in refused.json()["detail"]
        assert 3500 <= int(refused.headers["retry-after"]) <= 3600
        again = client.post("/v1/views", json={"state": {"step": 1}})  # saved before: answered, nothing stored
        assert again.status_code == 200
        assert again.json() == first.json()
        assert client.get("/v1/views/" + view_id(canonical({"step": 3}))).status_code == 404


def test_views_stop_at_the_store_wide_cap_and_say_retrying_does_not_help(tmp_path: Path) -> None:
    with app(tmp_path, max_views_mb=1, max_views_per_hour=1000) as client:
        note = "x" * 60_000
        saved = [client.post("/v1/views", json={"state": {"i": i, "note": note}}) for i in range(17)]
        assert [response.status_code for response in saved[:17]] == [201] * 17
        full = client.post("/v1/views", json={"state": {"i": 18, "note": note}})
        assert full.status_code == 507
        assert full.json()["type"] == "urn:descent:problem:store-full"
        assert "DESCENT_MAX_VIEWS_MB" in full.json()["detail"]
        assert client.post("/v1/views", json={"state": {"i": 0, "note": note}}).status_code == 200


def test_the_short_link_opens_the_dashboard_on_the_view(client: TestClient) -> None:
    ident = client.post("/v1/views", json={"state": VIEW}).json()["id"]
    opened = client.get(f"/v/{ident}", follow_redirects=False)
    assert opened.status_code == 302
    assert opened.headers["location"] == f"/#v={ident}"
    assert client.get("/v/not-an-id", follow_redirects=False).status_code == 422


def test_with_api_keys_a_view_needs_a_key_like_the_runs_it_names_but_the_link_does_not(tmp_path: Path) -> None:
    with app(tmp_path, api_keys=["key-one"]) as client:
        assert client.post("/v1/views", json={"state": VIEW}).status_code == 401
        saved = client.post("/v1/views", json={"state": VIEW}, headers={"X-API-Key": "key-one"})
        assert saved.status_code == 201
        ident = saved.json()["id"]
        assert client.get(f"/v1/views/{ident}").status_code == 401
        assert client.get(f"/v1/views/{ident}", headers={"X-API-Key": "key-one"}).json()["state"] == VIEW
        assert client.get(f"/v/{ident}", follow_redirects=False).status_code == 302
