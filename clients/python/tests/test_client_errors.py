"""Refusals as exceptions carrying the server's RFC 9457 problem: field locations, Retry-After, API keys."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from course_specs import COURSE, SLOW

from descent_client import APIError, Client, DescentError, InvalidRequest, NotFound, TooManyRequests, Unauthorized
from descent_client.cli import main
from tests.live import Server

pytestmark = pytest.mark.live


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({**COURSE, "loss": {"kind": "quadratic", "a": [1, 2]}, "w0": [1, 2, 3]}, ["loss.a"]),
        (
            {**COURSE, "schedule": {"kind": "tf1.exponential_decay", "learning_rate": 0.1}},
            ["schedule.decay_steps", "schedule.decay_rate"],
        ),
        ({**COURSE, "steps": 0}, ["steps"]),
        ({**COURSE, "optimizer": {"kind": "torch.SGD", "momentum": -1}}, ["optimizer.momentum"]),
    ],
)
def test_a_refused_spec_names_its_fields(
    client: Client, server: Server, spec: dict[str, object], fields: list[str]
) -> None:
    raw = httpx.post(f"{server.url}/v1/runs", json=spec).json()
    with pytest.raises(InvalidRequest) as caught:
        client.run(spec)
    error = caught.value
    assert error.status == 422
    assert error.problem.type == raw["type"] == "urn:descent:problem:invalid-request"
    assert error.detail == raw["detail"]
    assert error.fields == fields
    assert [(list(item.loc), item.msg, item.type) for item in error.errors] == [
        (item["loc"], item["msg"], item["type"]) for item in raw["errors"]
    ]
    assert all(item.type for item in error.errors)
    assert all(field in str(error) for field in fields)


def test_an_unknown_run_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as caught:
        client.get("no-such-run")
    assert caught.value.status == 404
    assert caught.value.problem.instance == "/v1/runs/no-such-run"
    assert caught.value.request_id


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server with API keys from a file and room for one run only (no queue)."""
    folder = tmp_path_factory.mktemp("locked")
    keys = folder / "keys"
    keys.write_text("# the class's key\nsecret-one\n", "utf-8")
    running = Server(
        folder / "runs.sqlite3",
        DESCENT_API_KEYS_FILE=str(keys),
        DESCENT_MAX_CONCURRENT_RUNS="1",
        DESCENT_MAX_QUEUED_RUNS="0",
    )
    yield running, keys
    running.stop()


def test_api_keys_as_bearer_from_a_key_file(locked_server: tuple[Server, Path]) -> None:
    server, keys = locked_server
    with Client(server.url, api_key="") as anonymous, pytest.raises(Unauthorized) as caught:
        anonymous.run(COURSE)
    assert caught.value.status == 401
    with Client(server.url, api_key_file=keys) as keyed:
        assert keyed.run(COURSE).status == "finished"
    with Client(server.url, api_key="secret-one") as keyed:
        assert keyed.catalog().losses
    empty = keys.with_name("no-keys")
    empty.write_text("# nothing yet\n", "utf-8")
    with pytest.raises(DescentError, match="lists no API key"):
        Client(server.url, api_key_file=empty)


def test_a_full_pool_is_429_with_retry_after(locked_server: tuple[Server, Path]) -> None:
    server, _ = locked_server
    with Client(server.url, api_key="secret-one") as client:
        running = client.submit(SLOW)
        try:
            with pytest.raises(TooManyRequests) as caught:
                client.submit(SLOW)
            assert caught.value.status == 429
            assert caught.value.retry_after is not None
            assert caught.value.retry_after > 0
            assert isinstance(caught.value, APIError)
        finally:
            client.cancel(running.id)


def test_busy_retries_wait_out_a_full_pool(locked_server: tuple[Server, Path]) -> None:
    server, _ = locked_server
    with (
        Client(server.url, api_key="secret-one") as first,
        Client(server.url, api_key="secret-one", busy_retries=5) as patient,
    ):
        running = first.submit(SLOW)
        canceller = threading.Timer(0.5, first.cancel, args=(running.id,))
        canceller.start()
        begun = time.monotonic()
        try:
            run = patient.run(COURSE)  # 429 at first; retried after Retry-After until the slot is free
        finally:
            canceller.join()
        assert run.status == "finished"
        assert time.monotonic() - begun >= 0.5
        assert first.info(running.id).status == "cancelled"


def test_the_command_line_sends_a_key_from_a_file(locked_server: tuple[Server, Path]) -> None:
    server, keys = locked_server
    options = ["run", "--loss", "(w+1)**2", "--w0", "5", "--rate", "0.2", "--steps", "3", "--format", "csv"]
    refused = CliRunner().invoke(main, [*options, "--server", server.url], env={"DESCENT_API_KEY": ""})
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 401 Unauthorized")
    keyed = CliRunner().invoke(main, [*options, "--server", server.url, "--api-key-file", str(keys)])
    assert keyed.exit_code == 0, keyed.stderr
    assert keyed.stdout.splitlines()[0] == "step,w,loss,lr,grad"
