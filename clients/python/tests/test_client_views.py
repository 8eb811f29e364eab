"""Saved views from Python: a view saved once under its id, read back with its state, opened by its URL."""

import httpx
import pytest
from loops import run_in_thread

from descent_client import AsyncClient, Client, NotFound, View
from tests.live import Server

pytestmark = pytest.mark.live

STATE = {"runs": ["a-run", "another"], "hidden": ["another"], "log": ["loss"], "zoom": {"curve": [-1, 2]}, "step": 7}


def test_a_saved_view_reads_back_and_its_url_opens_the_dashboard_on_it(client: Client, server: Server) -> None:
    saved = client.save_view(STATE)
    assert saved.state == STATE
    assert saved.url == f"{server.url}/v/{saved.id}"
    assert client.save_view(dict(reversed(STATE.items()))).id == saved.id  # the same view, the same id
    read = client.view(saved.id)
    assert read == saved
    opened = httpx.get(saved.url)
    assert opened.status_code == 302
    assert opened.headers["location"] == f"/#v={saved.id}"


def test_an_unknown_view_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.view("0" * 11)


def test_the_async_client_saves_and_reads_views(server: Server) -> None:
    async def save_and_read() -> tuple[View, View]:
        async with AsyncClient(server.url) as client:
            saved = await client.save_view({"step": 11})
            return saved, await client.view(saved.id)

    saved, read = run_in_thread(save_and_read())
    assert read == saved
    assert read.state == {"step": 11}
