"""The dashboard on a server that needs an API key: the sign-in form trades the key for the session cookie
(`POST /v1/session`), then runs stream to the page through `EventSource` with that cookie alone; an ended session
asks for the key again."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import TIMEOUT_MS, Dashboard, ready
from tests.live import Server

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.timeout(60)]
expect.set_options(timeout=TIMEOUT_MS)

KEY = "dashboard-key"


@pytest.fixture(scope="module")
def secured_server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dashboard-keys")
    (folder / "keys").write_text(f"# the dashboard test's key\n{KEY}\n", "utf-8")
    running = Server(folder / "runs.sqlite3", DESCENT_LOG_FORMAT="text", DESCENT_API_KEYS_FILE=str(folder / "keys"))
    yield running
    running.stop()


@pytest.fixture
def secured(
    browser: Browser, secured_server: Server, screenshots: Path, request: pytest.FixtureRequest
) -> Iterator[Dashboard]:
    board = Dashboard(browser, secured_server, screenshots, request.node.name)
    board.allow(r"status of 401")  # the browser logs each refused request: the catalogue before signing in
    yield board
    problems = list(board.problems)
    for context in board.contexts:
        context.close()
    assert not problems, "the dashboard logged errors or warnings:\n" + "\n".join(problems)


def sign_in(page: Page, key: str) -> None:
    page.locator("#api-key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_sets_a_session_cookie_and_runs_stream_with_it(secured: Dashboard) -> None:
    page = secured.new_page()
    page.goto("/")
    expect(page.locator("#auth")).to_be_visible()
    sign_in(page, "not-the-key")
    expect(page.locator(".auth-error")).to_be_visible()
    expect(page.locator(".auth-error")).to_contain_text("API key")
    with page.expect_response(lambda response: response.url.endswith("/v1/session")) as posted:
        sign_in(page, KEY)
    assert posted.value.status == 204
    ready(page)  # reloaded, the catalogue came with the cookie alone
    expect(page.locator("#auth")).to_be_hidden()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "descent_session"]
    assert cookie["value"] != KEY
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/v1"
    assert cookie["expires"] > 0  # Max-Age: it expires, unlike a browser-session cookie
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    with page.expect_response(
        lambda response: response.request.method == "POST" and response.url.endswith("/v1/runs?wait=false")
    ) as started:
        page.get_by_test_id("preset-rate-0.2").click()
    run_id = started.value.json()["id"]
    card = page.locator(f'[data-testid="run-card"][data-run-id="{run_id}"]')
    expect(card).to_have_attribute("data-status", re.compile("^finished$"))
    expect(card).to_have_attribute("data-points", "41")  # every row came through the EventSource stream
    secured.screenshot(page, "signed-in-run")


def test_an_ended_session_asks_for_the_key_again(secured: Dashboard) -> None:
    page = secured.new_page()
    page.goto("/")
    sign_in(page, KEY)
    ready(page)
    assert page.evaluate("async () => (await fetch('/v1/session', {method: 'DELETE'})).status") == 204
    page.reload()
    expect(page.locator("#auth")).to_be_visible()
    sign_in(page, KEY)
    ready(page)
