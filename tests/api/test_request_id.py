"""`X-Request-ID`: echoed when sane, generated when absent or unsafe."""

import pytest
from fastapi.testclient import TestClient


def test_request_id_is_echoed(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"}).headers["x-request-id"] == "trace-42.a:b"


@pytest.mark.parametrize("sent", [None, "two words", "x" * 200, "line\\nbreak"])
def test_request_id_is_generated_when_absent_or_unsafe(client: TestClient, sent: str | None) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    generated = client.get("/healthz", headers=headers).headers["x-request-id"]
    assert generated != sent
    assert len(generated) == 32
    assert int(generated, 16) >= 0


def test_errors_carry_the_request_id_too(client: TestClient) -> None:
    response = client.get("/v1/runs/nope", headers={"X-Request-ID": "abc"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "abc"
