"""Share and reload (issue 14, item 9): the link keeps the whole view (runs, hidden runs, the log scale, the zoom,
the step, the open sweep) and, on a phone, opens on the charts rather than on the form. A link that would be long
(many runs) is shared short, as a view saved on the server (`/v/<id>`), and opens the same view whole."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Browser, Page, expect

from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import click_preset, run_card, run_cards, wait_done
from tests.dashboard.test_sign_in import KEY, sign_in
from tests.live import Server

pytestmark = [pytest.mark.timeout(90), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)


def test_the_link_keeps_the_whole_view(dashboard: Dashboard) -> None:
    page = dashboard.open()
    shown = click_preset(page, "rate-1")
    hidden = click_preset(page, "rate-0.2")
    for run_id in (shown, hidden):
        wait_done(run_card(page, run_id), 41)
    run_card(page, hidden).get_by_test_id("toggle-run").click()
    page.get_by_test_id("loss-log").check()
    page.get_by_test_id("lr-log").check()  # every step chart but w (which crosses 0) has its log scale
    page.get_by_test_id("step-forward").click()
    page.get_by_test_id("step-forward").click()
    expect(page.get_by_test_id("stepper")).to_have_attribute("data-step", "1")
    curve = page.get_by_test_id("chart-curve")
    curve.scroll_into_view_if_needed()
    box = curve.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    expect(page.get_by_test_id("curve-zoom-reset")).to_be_visible()
    zoomed = curve.get_attribute("data-x-range")
    page.get_by_test_id("preset-chapter").click()
    expect(page.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    page.get_by_test_id("share-link").click()
    page.wait_for_function("() => location.hash.includes('view=sweep') && location.hash.includes('step=1')")
    shared = page.evaluate("navigator.clipboard.readText()")

    other = dashboard.new_page()
    other.goto(shared)
    ready(other)
    expect(run_cards(other)).to_have_count(2)
    wait_done(run_card(other, shown), 41)
    expect(run_card(other, hidden).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "false")
    expect(run_card(other, shown).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "true")
    expect(other.get_by_test_id("chart-loss")).to_have_attribute("data-series", "1")
    expect(other.get_by_test_id("loss-log")).to_be_checked()
    expect(other.get_by_test_id("lr-log")).to_be_checked()
    expect(other.get_by_test_id("stepper")).to_have_attribute("data-step", "1")
    expect(other.get_by_test_id("chart-curve")).to_have_attribute("data-x-range", str(zoomed))
    expect(other.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    expect(other.get_by_test_id("sweep-view")).to_have_attribute("data-points", "1001")
    dashboard.screenshot(other, "shared-whole-view", full_page=False)


def test_on_a_phone_a_shared_link_opens_on_the_charts(dashboard: Dashboard) -> None:
    page = dashboard.open(viewport=PHONE)
    run_id = click_preset(page, "rate-1")
    wait_done(run_card(page, run_id), 41)
    shared = page.evaluate("location.href")
    other = dashboard.new_page(PHONE)
    other.goto(shared)
    ready(other)
    wait_done(run_card(other, run_id), 41)
    other.wait_for_function(
        "() => { const top = document.querySelector('[data-testid=run-card]').getBoundingClientRect().top;"
        " return top >= 0 && top < innerHeight / 2; }",
        timeout=TIMEOUT_MS,
    )
    dashboard.screenshot(other, "shared-phone-opens-on-charts", full_page=False)


# ---------------------------------------------------------------------------------------------------------------
# Short links: the view saved on the server


SHORT_LINK = re.compile(r"^http://127\.0\.0\.1:\d+/v/[0-9A-Za-z]{11}$")
MANY = 40
"""Runs on the long view: 40 run ids (36 characters each) make a URL of about 1,800 characters."""
JSON_PARTS = ("spec", "zoom", "sweep")
SWEEP_AXES = [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 101}}]


def many_runs(server: Server, count: int = MANY) -> list[str]:
    """`count` finished course runs (rates 0.01 to 1.2), made through the API as any client would."""
    with server.client() as client:
        return [
            client.post("/v1/runs", json={**COURSE_RUN, "schedule": round(0.01 + 0.03 * i, 4)}).json()["id"]
            for i in range(count)
        ]


def long_view(runs: list[str]) -> str:
    """The hash of a view with every part: the form, many runs, two hidden, two log scales, a zoom on the curve,
    the step, and the sweep view open."""
    parts = {
        "spec": json.dumps(COURSE_RUN),
        "runs": ",".join(runs),
        "hidden": ",".join([runs[1], runs[7]]),
        "log": "loss,lr",
        "zoom": json.dumps({"curve": [-2.5, 3.5]}),
        "step": "5",
        "view": "sweep",
        "sweep": json.dumps(SWEEP_AXES),
    }
    return "#" + "&".join(f"{key}={quote(value, safe=',')}" for key, value in parts.items())


def shared_link(page: Page, button: str) -> str:
    """Presses a share button and answers the link it copied, once the page shows it."""
    page.get_by_test_id(button).click()
    expect(page.get_by_test_id("share-url")).to_be_visible()
    expect(page.locator(".share-status")).to_contain_text("copied")
    link = str(page.get_by_test_id("share-url").text_content()).strip()
    assert page.evaluate("navigator.clipboard.readText()") == link
    return link


def expect_same_view(page: Page, other: Page, runs: list[str], hidden: list[str]) -> None:
    """`other` shows `page`'s view: the runs in order, the same hidden, log scales, step, zoom and sweep, and so
    the same whole hash (the page writes its hash from what it shows)."""
    expect(run_cards(other)).to_have_count(len(runs))
    assert (
        other.eval_on_selector_all("[data-testid=run-card]", "cards => cards.map(card => card.dataset.runId)") == runs
    )
    for run_id in hidden:
        expect(run_card(other, run_id).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "false")
    expect(run_card(other, runs[0]).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "true")
    for name in ("loss", "lr"):
        expect(other.get_by_test_id(f"{name}-log")).to_be_checked()
    expect(other.get_by_test_id("stepper")).to_have_attribute("data-step", "5")
    x_range = page.get_by_test_id("chart-curve").get_attribute("data-x-range")
    expect(other.get_by_test_id("chart-curve")).to_have_attribute("data-x-range", str(x_range))
    expect(other.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    expect(other.get_by_test_id("sweep-view")).to_have_attribute("data-points", "101")
    expect_same_hash(page, other)


def view_of(hash_: str) -> dict[str, object]:
    """A view's hash as values: JSON parts parsed (a saved view comes back with its objects' keys sorted)."""
    parts = dict(part.split("=", 1) for part in hash_.lstrip("#").split("&") if "=" in part)
    return {key: json.loads(unquote(value)) if key in JSON_PARTS else unquote(value) for key, value in parts.items()}


SAME_VIEW = """([wanted, jsonParts]) => {
  const sorted = (v) => Array.isArray(v) ? v.map(sorted)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
  const parts = {};
  for (const part of location.hash.slice(1).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const value = decodeURIComponent(part.slice(eq + 1));
    parts[part.slice(0, eq)] = jsonParts.includes(part.slice(0, eq)) ? JSON.parse(value) : value;
  }
  return JSON.stringify(sorted(parts)) === JSON.stringify(sorted(wanted));
}"""
"""`view_of` in the page: its hash, as values, is the one wanted."""


def expect_same_hash(page: Page, other: Page) -> None:
    """`other` comes to write the hash `page` has: it shows the same view (a page writes its hash from what it
    shows)."""
    wanted = view_of(page.evaluate("location.hash"))
    try:
        other.wait_for_function(SAME_VIEW, arg=[wanted, list(JSON_PARTS)], timeout=TIMEOUT_MS)
    finally:
        assert view_of(other.evaluate("location.hash")) == wanted


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_long_view_is_shared_short_and_reopens_whole(dashboard: Dashboard, viewport: tuple[int, int]) -> None:
    runs = many_runs(dashboard.server)
    hidden = [runs[1], runs[7]]
    page = dashboard.open("/" + long_view(runs), viewport=viewport)
    expect(run_cards(page)).to_have_count(MANY)
    expect(page.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("stepper")).to_have_attribute("data-step", "5")
    full = page.evaluate("location.href")
    assert len(full) > 1500, f"the view's URL is only {len(full)} characters: not a long one"

    link = shared_link(page, "share-link")
    assert SHORT_LINK.match(link), f"a {len(full)}-character view was shared as {link[:120]}..."
    assert shared_link(page, "share-link") == link  # the same view: the same id, saved once

    other = dashboard.new_page(viewport)
    other.goto(link)
    ready(other)
    expect_same_view(page, other, runs, hidden)
    if viewport == PHONE:  # it opens on the charts, not on the form above them
        other.wait_for_function(  # the charts fill the screen (the open sweep's picture first, at its top)
            "() => { const box = document.getElementById('charts').getBoundingClientRect();"
            " return box.top <= 2 && box.bottom >= innerHeight; }",
            timeout=TIMEOUT_MS,
        )
        assert other.evaluate("scrollY") > 500
    dashboard.screenshot(other, f"short-link-opened-{'x'.join(map(str, viewport))}", full_page=False)


def test_copy_short_link_saves_even_a_short_view(dashboard: Dashboard) -> None:
    page = dashboard.open()
    shown = click_preset(page, "rate-1")
    hidden = click_preset(page, "rate-0.2")
    for run_id in (shown, hidden):
        wait_done(run_card(page, run_id), 41)
    run_card(page, hidden).get_by_test_id("toggle-run").click()
    page.get_by_test_id("loss-log").check()
    full = shared_link(page, "share-link")
    assert "#spec=" in full  # short enough to share as it is
    link = shared_link(page, "share-short")
    assert SHORT_LINK.match(link), link

    other = dashboard.new_page()
    other.goto(link)
    ready(other)
    expect(run_cards(other)).to_have_count(2)
    wait_done(run_card(other, shown), 41)
    expect(run_card(other, hidden).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "false")
    expect(other.get_by_test_id("loss-log")).to_be_checked()
    expect_same_hash(page, other)


@pytest.mark.parametrize(
    ("locale", "button", "missing"),
    [
        ("en-US", "Copy short link", "The shared view 00000000000 is not on this server."),
        ("zh-CN", "复制短链接", "此服务器上没有分享的视图 00000000000。"),
    ],
)
def test_a_short_link_the_server_does_not_know_says_so(
    dashboard: Dashboard, locale: str, button: str, missing: str
) -> None:
    dashboard.allow(r"404")  # the browser logs the failed GET /v1/views/...
    page = dashboard.open("/v/" + "0" * 11, locale=locale)
    expect(page.locator(".notice")).to_have_text(missing)
    expect(page.get_by_test_id("share-short")).to_have_text(button)
    expect(run_cards(page)).to_have_count(0)
    assert "v=" not in page.evaluate("location.hash")


def test_with_api_keys_a_short_link_opens_once_signed_in(keyed: Dashboard) -> None:
    """A view saved by another client (the Python client's way) opens for a visitor only with their own key: the
    page asks for it, and after signing in opens the whole view with the session cookie."""
    auth = {"X-API-Key": KEY}
    with keyed.server.client() as client:
        runs = [client.post("/v1/runs", json={**COURSE_RUN, "schedule": rate}, headers=auth).json()["id"]
                for rate in (1, 0.2)]  # fmt: skip
        state = {"spec": COURSE_RUN, "runs": runs, "hidden": [runs[1]], "log": ["loss"], "step": 2}
        saved = client.post("/v1/views", json={"state": state}, headers=auth).json()
        assert client.get(f"/v1/views/{saved['id']}").status_code == 401  # no key, no view
    page = keyed.new_page()
    page.goto(saved["url"])
    expect(page.locator("#auth")).to_be_visible()
    sign_in(page, KEY)
    ready(page)
    expect(run_cards(page)).to_have_count(2)
    wait_done(run_card(page, runs[0]), 41)
    expect(run_card(page, runs[1]).get_by_test_id("toggle-run")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("loss-log")).to_be_checked()
    expect(page.get_by_test_id("stepper")).to_have_attribute("data-step", "2")


@contextmanager
def own_server(
    browser: Browser, screenshots: Path, folder: Path, name: str, allow: str, **environment: str
) -> Iterator[Dashboard]:
    """A dashboard on a server of the test's own, with these settings; it checks the consoles as `dashboard` does."""
    server = Server(folder / "runs.sqlite3", DESCENT_LOG_FORMAT="text", **environment)
    board = Dashboard(browser, server, screenshots, name)
    board.allow(allow)
    try:
        yield board
        problems = list(board.problems)
        for context in board.contexts:
            context.close()
        assert not problems, "the dashboard logged errors or warnings:\n" + "\n".join(problems)
    finally:
        server.stop()


@pytest.fixture
def keyed(browser: Browser, screenshots: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """A server that needs an API key (the browser logs each refused request: the catalogue before signing in)."""
    with own_server(browser, screenshots, tmp_path, request.node.name, r"status of 401", DESCENT_API_KEYS=KEY) as board:
        yield board


@pytest.fixture
def stingy(browser: Browser, screenshots: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """A server that saves one view per client and hour (the browser logs the refused POST /v1/views)."""
    with own_server(
        browser, screenshots, tmp_path, request.node.name, r"status of 429", DESCENT_MAX_VIEWS_PER_HOUR="1"
    ) as board:
        yield board


def test_when_the_server_will_not_save_a_view_the_full_link_is_copied_with_the_reason(stingy: Dashboard) -> None:
    page = stingy.open()
    wait_done(run_card(page, click_preset(page, "rate-1")), 41)
    assert SHORT_LINK.match(shared_link(page, "share-short"))
    page.get_by_test_id("loss-log").check()  # another view: the server's quota for this client is used up
    page.get_by_test_id("share-short").click()
    expect(page.locator(".share-status")).to_contain_text("Could not save a short link")
    expect(page.locator(".share-status")).to_contain_text("DESCENT_MAX_VIEWS_PER_HOUR")
    expect(page.locator(".share-status")).to_contain_text("copied")
    full = str(page.get_by_test_id("share-url").text_content()).strip()
    assert "#spec=" in full
    assert "log=loss" in full
    assert page.evaluate("navigator.clipboard.readText()") == full
