"""`POST /v1/runs` answers its common request straight from the request (`service.api.direct`) and every other
one through FastAPI's own handling: the same answers either way, and every refusal still FastAPI's."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request, Response
from fastapi.testclient import TestClient

from service.api import runs
from service.api.direct import DirectRoute
from service.config import Settings
from service.main import create_app
from tests.conftest import COURSE_RUN

VOLATILE = ("id", "created_at", "finished_at")
KEY = {"X-API-Key": "key-one"}


class Answered:
    """Which requests `direct_create_run` answered (True) or left to FastAPI (False), in order."""

    def __init__(self) -> None:
        self.direct: list[bool] = []

    async def __call__(self, request: Request) -> Response | None:
        answer = await runs.direct_create_run(request)
        self.direct.append(answer is not None)
        return answer


def create_route_class() -> type[DirectRoute]:
    for route in runs.router.routes:
        if isinstance(route, DirectRoute) and route.methods == {"POST"}:
            return type(route)
    raise AssertionError("POST /v1/runs is not a DirectRoute")


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Answered:
    spy = Answered()
    monkeypatch.setattr(create_route_class(), "direct", staticmethod(spy))  # before the app builds its handlers
    return spy


@pytest.fixture
def secured(tmp_path: Path, answered: Answered) -> Iterator[TestClient]:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", api_keys=["key-one"])
    with TestClient(create_app(settings)) as client:
        yield client


def stable(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in VOLATILE}


@pytest.mark.parametrize(
    "headers",
    [KEY, {"Authorization": "Bearer key-one"}, {**KEY, "Accept-Language": "zh-CN"}, {**KEY, "Accept": "*/*"}],
    ids=["X-API-Key", "bearer", "Chinese", "any type"],
)
def test_the_common_request_is_answered_directly_as_fastapi_answers_it(
    secured: TestClient, answered: Answered, headers: dict[str, str]
) -> None:
    direct = secured.post("/v1/runs", json=COURSE_RUN, headers=headers)
    general = secured.post("/v1/runs", json=COURSE_RUN, headers=headers, params={"wait": "true"})
    assert answered.direct == [True, False]
    assert (direct.status_code, general.status_code) == (201, 201)
    assert stable(direct.json()) == stable(general.json())
    assert direct.headers["content-type"] == general.headers["content-type"] == "application/json"
    assert direct.headers["location"] == f"/v1/runs/{direct.json()['id']}"
    assert secured.get(direct.headers["location"], headers=headers).json() == direct.json()  # stored as answered


FALLBACKS: dict[str, tuple[dict[str, Any], int, str | None]] = {
    "a query string": ({"json": COURSE_RUN, "params": {"wait": "false"}, "headers": KEY}, 202, None),
    "no key": ({"json": COURSE_RUN}, 401, "urn:descent:problem:unauthorized"),
    "a wrong key": ({"json": COURSE_RUN, "headers": {"X-API-Key": "key-two"}}, 401, "urn:descent:problem:unauthorized"),
    "a body that does not validate": (
        {"json": {**COURSE_RUN, "steps": -1}, "headers": KEY},
        422,
        "urn:descent:problem:invalid-request",
    ),
    "a body that is not JSON text": (
        {"content": b'{"w0": ', "headers": {**KEY, "Content-Type": "application/json"}},
        422,
        "urn:descent:problem:invalid-request",
    ),
    "NaN, which only Python's reader takes": (
        {"content": b'{"w0": NaN}', "headers": {**KEY, "Content-Type": "application/json"}},
        422,
        "urn:descent:problem:invalid-request",
    ),
    "a body of another type": (
        {"content": b"w0=5", "headers": {**KEY, "Content-Type": "application/x-www-form-urlencoded"}},
        415,
        "about:blank",
    ),
    "an event stream": ({"json": COURSE_RUN, "headers": {**KEY, "Accept": "text/event-stream"}}, 201, None),
}


@pytest.mark.parametrize(("request_", "status", "problem"), FALLBACKS.values(), ids=FALLBACKS.keys())
def test_any_other_request_is_fastapis_to_answer(
    secured: TestClient, answered: Answered, request_: dict[str, Any], status: int, problem: str | None
) -> None:
    answer = secured.post("/v1/runs", **request_)
    assert answered.direct == [False]
    assert answer.status_code == status
    if problem is not None:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == problem


def test_a_body_that_does_not_validate_is_refused_naming_its_field(secured: TestClient, answered: Answered) -> None:
    answer = secured.post("/v1/runs", json={**COURSE_RUN, "steps": -1}, headers=KEY)
    assert answered.direct == [False]
    assert [error["loc"] for error in answer.json()["errors"]] == [["steps"]]


def test_a_session_cookie_is_fastapis_to_look_up(secured: TestClient, answered: Answered) -> None:
    assert secured.post("/v1/session", headers=KEY).status_code == 204
    assert secured.post("/v1/runs", json=COURSE_RUN).status_code == 201  # the cookie alone
    assert answered.direct == [False]
    assert secured.post("/v1/runs", json=COURSE_RUN, headers=KEY).status_code == 201  # a key: direct again
    assert answered.direct == [False, True]


def test_without_configured_keys_every_common_request_is_direct(tmp_path: Path, answered: Answered) -> None:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread")
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/runs", json=COURSE_RUN).status_code == 201
    assert answered.direct == [True]
