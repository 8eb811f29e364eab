"""The dashboard in a real browser, as a person uses it: presets, overlays, sharing, errors, reloads, history, layout.

Everything is found through the `data-testid` hooks of the dashboard contract (/tmp/plan/DASHBOARD.md): run cards
carry `data-run-id`, `data-status` and `data-points`; charts carry `data-series`. Waits are on conditions (Playwright's
`expect` and `wait_for_function`), never on sleeps.
"""

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Locator, Page, Response, expect

from tests.conftest import COURSE_RUN, DECAY_SCHEDULE
from tests.dashboard.conftest import PHONE, TIMEOUT_MS, Dashboard, ready
from tests.live import Server
from tests.test_course import CONSTANT_LINE, DECAY_LINE, listing

pytestmark = pytest.mark.timeout(60)
expect.set_options(timeout=TIMEOUT_MS)

CHARTS = ("chart-loss", "chart-w", "chart-lr", "chart-curve")
DONE = re.compile(r"^(finished|diverged)$")
LONG_STEPS = 200_000


# ---------------------------------------------------------------------------------------------------------------
# What the course prints, and the same arithmetic for the runs it only pictures


def float32_descent(rate: float, steps: int = 40) -> tuple[str, str]:
    """Final w and loss, printed with %f, of plain gradient descent on (w+1)² from w = 5 in float32."""
    w, lr, one, two = np.float32(5), np.float32(rate), np.float32(1), np.float32(2)
    for _ in range(steps):
        w = np.float32(w - lr * (one * two * (w + one)))
    return "%f" % w, "%f" % np.float32(one * np.square(w + one))


_, CONSTANT_W, CONSTANT_LOSS = listing(CONSTANT_LINE)[-1]  # "After 39 steps": row 40 of the rate 0.2 run
_, _, DECAY_W, _, DECAY_LOSS = listing(DECAY_LINE)[-1]  # "After 39 steps": row 40 of the decaying run
COURSE_PRESETS = [
    pytest.param("rate-0.2", "converged", CONSTANT_W, CONSTANT_LOSS, ["Converged", "w settled at -1"], id="rate-0.2"),
    pytest.param("rate-1", "oscillating", "5.000000", "36.000000", ["Oscillating", "between -7 and 5"], id="rate-1"),
    pytest.param("rate-0.0001", "slow", *float32_descent(0.0001), ["Slow"], id="rate-0.0001"),
    pytest.param("decay", "converged", DECAY_W, DECAY_LOSS, ["Converged", "decaying to 0.0668972"], id="decay"),
]


def test_the_expected_numbers_are_the_course_numbers() -> None:
    assert float32_descent(0.2) == (CONSTANT_W, CONSTANT_LOSS) == ("-1.000000", "0.000000")
    assert float32_descent(1) == ("5.000000", "36.000000")
    assert (DECAY_W, DECAY_LOSS) == ("-0.995731", "0.000018")


# ---------------------------------------------------------------------------------------------------------------
# Page helpers


def is_run_post(response: Response) -> bool:
    return response.request.method == "POST" and urlsplit(response.url).path == "/v1/runs"


def start(page: Page, action: Callable[[], None], status: int = 202) -> Response:
    """Does `action` (a click, a key press) and returns the `POST /v1/runs` it sends."""
    with page.expect_response(is_run_post) as posted:
        action()
    response = posted.value
    assert response.status == status, f"POST /v1/runs answered {response.status}: {response.text()}"
    return response


def start_run(page: Page, action: Callable[[], None]) -> str:
    """Does `action` and returns the id of the run it started."""
    return str(start(page, action).json()["id"])


def click_preset(page: Page, preset: str) -> str:
    return start_run(page, page.get_by_test_id(f"preset-{preset}").click)


def submit(page: Page) -> Callable[[], None]:
    return page.get_by_test_id("run-submit").click


def run_cards(page: Page) -> Locator:
    return page.get_by_test_id("run-card")


def run_card(page: Page, run_id: str) -> Locator:
    return page.locator(f'[data-testid="run-card"][data-run-id="{run_id}"]')


def wait_done(card: Locator, points: int | None = None) -> None:
    expect(card).to_have_attribute("data-status", DONE)
    if points is not None:
        expect(card).to_have_attribute("data-points", str(points))


def expect_series(page: Page, count: int) -> None:
    for chart in CHARTS:
        expect(page.get_by_test_id(chart)).to_have_attribute("data-series", str(count))


def form_field(page: Page, name: str) -> Locator:
    return page.get_by_test_id("run-form").locator(f'[name="{name}"]')


def set_field(page: Page, name: str, value: str | bool) -> None:
    """Sets an input, select or checkbox of the form as a person would."""
    field = form_field(page, name)
    tag = field.evaluate("el => el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase()")
    if tag == "select":
        field.select_option(str(value))
    elif tag == "checkbox":
        field.set_checked(bool(value))
    else:
        field.fill(str(value))


def expect_field(page: Page, name: str, value: str | float | bool) -> None:
    """The form's field `name` holds `value` (numbers compared as numbers, booleans as checkbox or select)."""
    field = form_field(page, name)
    if isinstance(value, bool):
        if field.evaluate("el => el.type") == "checkbox":
            expect(field).to_be_checked(checked=value)
        else:
            expect(field).to_have_value(str(value).lower())
    elif isinstance(value, str):
        expect(field).to_have_value(value)
    else:
        page.wait_for_function(
            "([selector, value]) => Number(document.querySelector(selector)?.value) === value",
            arg=[f'[data-testid="run-form"] [name="{name}"]', value],
            timeout=TIMEOUT_MS,
        )


def fill_course_spec(page: Page) -> None:
    """The course's loss, start and length, typed into the form (the rest stays as the form has it)."""
    set_field(page, "loss.kind", "quadratic")
    for name, value in (("loss.a", "1"), ("loss.b", "1"), ("loss.c", "0"), ("w0", "5"), ("steps", "40")):
        set_field(page, name, value)


def api_run(page: Page, run_id: str) -> dict[str, Any]:
    """`GET /v1/runs/{id}` from the page (JSON)."""
    run: dict[str, Any] = page.evaluate("async (id) => (await fetch(`/v1/runs/${id}`)).json()", run_id)
    return run


def text_or_value(locator: Locator) -> str:
    value: str = locator.evaluate("el => ('value' in el && el.tagName !== 'OUTPUT' ? el.value : el.textContent)")
    return value.strip()


# ---------------------------------------------------------------------------------------------------------------
# 1. The course's four runs, one click each


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.parametrize(("preset", "verdict", "final_w", "final_loss", "words"), COURSE_PRESETS)
def test_course_preset_shows_the_course_result(
    dashboard: Dashboard, preset: str, verdict: str, final_w: str, final_loss: str, words: list[str]
) -> None:
    page = dashboard.open()
    run_id = click_preset(page, preset)
    card = run_card(page, run_id)
    wait_done(card, 41)
    expect(card).to_have_attribute("data-status", "finished")
    expect(card.get_by_test_id("final-w")).to_have_text(final_w)
    expect(card.get_by_test_id("final-loss")).to_have_text(final_loss)
    expect(card.get_by_test_id("verdict")).to_have_text(verdict)
    explanation = card.get_by_test_id("explanation")
    expect(explanation).to_be_visible()
    for word in words:
        expect(explanation).to_contain_text(word)
    expect(card.get_by_test_id("diverged-at")).to_be_hidden()
    expect(card.get_by_test_id("run-label")).not_to_be_empty()
    expect(run_cards(page)).to_have_count(1)
    expect_series(page, 1)
    for chart in CHARTS:
        expect(page.get_by_test_id(chart)).to_be_visible()
    expect(page.get_by_test_id("chart-contour")).to_be_hidden()
    # the preset filled the form with its spec
    expect_field(page, "w0", 5)
    expect_field(page, "steps", 40)
    if preset == "rate-1":  # what the chart draws: w bounces between 5 and -7
        assert set(api_run(page, run_id)["trace"]["w"]) == {5.0, -7.0}
    dashboard.screenshot(page, f"preset-{preset}")


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.parametrize("preset", ["momentum", "onecycle", "restarts"])
def test_catalogue_presets_run_to_the_end(dashboard: Dashboard, preset: str) -> None:
    page = dashboard.open()
    start_run(page, page.get_by_test_id(f"preset-{preset}").click)
    expect(run_cards(page).first).to_be_visible()
    count = run_cards(page).count()
    for i in range(count):
        wait_done(run_cards(page).nth(i))
        expect(run_cards(page).nth(i).get_by_test_id("verdict")).not_to_be_empty()
    expect_series(page, count)
    dashboard.screenshot(page, f"preset-{preset}")


# ---------------------------------------------------------------------------------------------------------------
# 2. Overlay two runs, share the link, open it elsewhere


@pytest.mark.browser
@pytest.mark.live
def test_overlay_and_share_link_reproduces_the_experiment(dashboard: Dashboard) -> None:
    page = dashboard.open()
    oscillating = click_preset(page, "rate-1")
    wait_done(run_card(page, oscillating), 41)
    decaying = click_preset(page, "decay")
    wait_done(run_card(page, decaying), 41)
    expect(run_cards(page)).to_have_count(2)
    expect_series(page, 2)
    colours = {
        run_cards(page)
        .nth(i)
        .get_by_test_id("run-swatch")
        .evaluate("el => getComputedStyle(el).backgroundColor || getComputedStyle(el).color")
        for i in range(2)
    }
    assert len(colours) == 2, f"the two runs share a colour: {colours}"
    dashboard.screenshot(page, "overlay-rate-1-and-decay")

    page.get_by_test_id("share-link").click()
    handle = page.wait_for_function(
        """() => {
            const el = document.querySelector('[data-testid="share-url"]');
            const text = el && ('value' in el && el.tagName !== 'OUTPUT' ? el.value : el.textContent);
            return text && text.includes('#spec=') ? text.trim() : null;
        }""",
        timeout=TIMEOUT_MS,
    )
    shared = str(handle.json_value())
    assert shared.startswith(dashboard.server.url + "/"), shared
    assert page.evaluate("navigator.clipboard.readText()") == shared, "share-link did not copy the URL"
    fragment = parse_qs(urlsplit(shared).fragment)
    spec = json.loads(fragment["spec"][0])
    assert spec["schedule"] == DECAY_SCHEDULE
    assert set(fragment["runs"][0].split(",")) == {oscillating, decaying}

    other = dashboard.new_page()  # another person: a fresh browser context, nothing stored
    other.goto(shared)
    ready(other)
    for run_id, verdict in ((oscillating, "oscillating"), (decaying, "converged")):
        card = run_card(other, run_id)
        wait_done(card, 41)
        expect(card.get_by_test_id("verdict")).to_have_text(verdict)
    expect(run_cards(other)).to_have_count(2)
    expect_series(other, 2)
    expect_field(other, "loss.kind", "quadratic")
    for name, number in (("loss.a", 1), ("loss.b", 1), ("loss.c", 0), ("w0", 5), ("steps", 40)):
        expect_field(other, name, number)
    expect_field(other, "schedule.kind", "tf1.exponential_decay")
    for name, value in (("learning_rate", 0.1), ("decay_steps", 1.0), ("decay_rate", 0.99)):
        expect_field(other, f"schedule.{name}", value)
    expect_field(other, "schedule.staircase", True)
    dashboard.screenshot(other, "shared-link-opened")


# ---------------------------------------------------------------------------------------------------------------
# 3. Invalid input: the API's problem message next to the field


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.parametrize(
    ("field", "bad", "good"), [("schedule.decay_steps", "0", "1"), ("steps", "-1", "40")], ids=["decay_steps", "steps"]
)
def test_invalid_input_shows_the_api_message_next_to_the_field(
    dashboard: Dashboard, field: str, bad: str, good: str
) -> None:
    dashboard.allow(r"status of 422 .*/v1/(runs|schedules/preview)")  # Chromium logs the 422s the test provokes
    page = dashboard.open()
    fill_course_spec(page)
    set_field(page, "schedule.kind", "tf1.exponential_decay")
    for name, value in (("learning_rate", "0.1"), ("decay_steps", "1"), ("decay_rate", "0.99")):
        set_field(page, f"schedule.{name}", value)
    set_field(page, field, bad)
    problem = start(page, submit(page), status=422).json()
    messages = {".".join(str(part) for part in error["loc"]): error["msg"] for error in problem["errors"]}
    assert field in messages, problem
    error = page.locator(f'[data-error-for="{field}"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text(messages[field])
    error_id = error.get_attribute("id")
    described_by = form_field(page, field).get_attribute("aria-describedby") or ""
    assert error_id, "the error has no id to link it to its input"
    assert error_id in described_by.split(), "the input is not linked to its error (aria-describedby)"
    expect(run_cards(page)).to_have_count(0)
    dashboard.screenshot(page, f"error-{field}")

    # nothing crashed: correct the field, and the run goes through
    set_field(page, field, good)
    run_id = start_run(page, submit(page))
    wait_done(run_card(page, run_id), 41)
    expect(error).not_to_contain_text(messages[field])


@pytest.mark.browser
@pytest.mark.live
def test_a_diverging_run_shows_where_it_diverged(dashboard: Dashboard) -> None:
    page = dashboard.open()
    fill_course_spec(page)
    set_field(page, "schedule.kind", "constant")
    set_field(page, "schedule.learning_rate", "3")
    run_id = start_run(page, submit(page))
    card = run_card(page, run_id)
    expect(card).to_have_attribute("data-status", "diverged")
    summary = api_run(page, run_id)["summary"]
    expect(card).to_have_attribute("data-points", str(summary["steps_run"] + 1))
    expect(card.get_by_test_id("verdict")).to_have_text("diverged")
    expect(card.get_by_test_id("diverged-at")).to_be_visible()
    expect(card.get_by_test_id("diverged-at")).to_contain_text(str(summary["diverged_at"]))
    dashboard.screenshot(page, "diverged-rate-3")


# ---------------------------------------------------------------------------------------------------------------
# 4. A reload during a long run resumes the chart without a gap or a duplicate


@pytest.mark.browser
@pytest.mark.live
def test_reload_during_a_long_run_resumes_without_gap(dashboard: Dashboard, server: Server) -> None:
    page = dashboard.open()
    wait_done(run_card(page, click_preset(page, "rate-0.0001")), 41)  # the preset fills the form
    page.get_by_test_id("clear-runs").click()
    expect(run_cards(page)).to_have_count(0)
    # keras.Adadelta (on the NumPy path: no compiled kernel, see kernels/adapters.py) makes the run take a few
    # seconds, so the reload meets it still running
    set_field(page, "optimizer.kind", "keras.Adadelta")
    set_field(page, "steps", str(LONG_STEPS))
    run_id = start_run(page, submit(page))
    card = run_card(page, run_id)
    page.wait_for_function(
        "(id) => Number(document.querySelector(`[data-testid=run-card][data-run-id='${id}']`)?.dataset.points) > 0",
        arg=run_id,
        timeout=TIMEOUT_MS,
    )
    received = int(card.get_attribute("data-points") or 0)
    with server.client() as client:
        status_at_reload = client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"]
    page.reload()
    ready(page)
    expect(card).to_have_attribute("data-status", "finished", timeout=45_000)
    expect(card).to_have_attribute("data-points", str(LONG_STEPS + 1), timeout=45_000)
    stored = page.evaluate(
        """async (id) => {
            const steps = (await (await fetch(`/v1/runs/${id}`)).json()).trace.step;
            return {length: steps.length, contiguous: steps.every((step, i) => step === i)};
        }""",
        run_id,
    )
    assert stored == {"length": LONG_STEPS + 1, "contiguous": True}
    print(f"reloaded after {received} points, the run was {status_at_reload}")
    assert received < LONG_STEPS + 1, "the whole stream arrived before the reload: nothing was resumed"
    dashboard.screenshot(page, "reload-long-run-finished")


# ---------------------------------------------------------------------------------------------------------------
# 5. History: past runs, newest first, re-opened with a click


@pytest.mark.browser
@pytest.mark.live
def test_history_lists_runs_newest_first_and_reopens_them(dashboard: Dashboard, server: Server) -> None:
    with server.client() as client:
        made = [
            client.post("/v1/runs", json={**COURSE_RUN, "schedule": rate, "name": f"history {i}"}).json()["id"]
            for i, rate in enumerate([0.1, 0.3, 0.5] * 8)  # more than a page of 20
        ]
        newest_first = [item["id"] for item in client.get("/v1/runs", params={"limit": 100}).json()["items"]]
    assert newest_first[: len(made)] == made[::-1]
    page = dashboard.open()
    items = page.get_by_test_id("history").get_by_test_id("history-item")
    expect(items.first).to_have_attribute("data-run-id", made[-1])
    first_page = [items.nth(i).get_attribute("data-run-id") for i in range(items.count())]
    assert first_page == newest_first[: len(first_page)]
    page.get_by_test_id("history-more").click()
    expect(items).not_to_have_count(len(first_page))
    both_pages = [items.nth(i).get_attribute("data-run-id") for i in range(items.count())]
    assert both_pages == newest_first[: len(both_pages)], "the next page repeats or skips runs"
    dashboard.screenshot(page, "history")

    page.locator(f'[data-testid="history-item"][data-run-id="{made[0]}"]').click()
    card = run_card(page, made[0])
    wait_done(card, 41)
    expect(card.get_by_test_id("run-label")).to_contain_text("history 0")
    expect_series(page, 1)


# ---------------------------------------------------------------------------------------------------------------
# 6. Layout: phone and desktop, no horizontal scrolling, every chart on screen


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.parametrize("viewport", [PHONE, (1280, 800)], ids=["phone", "desktop"])
def test_layout_fits_the_width(dashboard: Dashboard, viewport: tuple[int, int]) -> None:
    page = dashboard.open(viewport=viewport)
    for preset in ("rate-1", "decay"):
        wait_done(run_card(page, click_preset(page, preset)), 41)
    expect_series(page, 2)
    width = viewport[0]
    assert page.evaluate("window.innerWidth") == width
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scrolling: the page is {scroll_width}px wide in a {width}px window"
    for chart in CHARTS:
        locator = page.get_by_test_id(chart)
        locator.scroll_into_view_if_needed()
        expect(locator).to_be_visible()
        box = locator.bounding_box()
        assert box is not None
        assert box["x"] >= 0, f"{chart} sticks out on the left: {box}"
        assert box["x"] + box["width"] <= width + 0.5, f"{chart} sticks out on the right: {box}"
        assert box["width"] >= 0.6 * min(width, 600), f"{chart} is too narrow: {box}"
        assert box["height"] >= 100, f"{chart} is too low: {box}"
    name = f"layout-{width}x{viewport[1]}"
    run_cards(page).first.scroll_into_view_if_needed()
    dashboard.screenshot(page, f"{name}-runs-and-charts", full_page=False)
    page.evaluate("window.scrollTo(0, 0)")
    dashboard.screenshot(page, f"{name}-first-screen", full_page=False)
    dashboard.screenshot(page, name)


CONTRAST = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length === 3 || (color.length === 4 && color[3] > 0.95)) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = element.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || element.closest("[hidden]")) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    const [a, b] = [luminance(rgb(style.color).slice(0, 3)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const text = element.textContent.trim().slice(0, 40);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)}: ${element.tagName} "${text}"`);
  }
  return failures;
}"""


@pytest.mark.browser
@pytest.mark.live
def test_text_meets_wcag_aa_contrast(dashboard: Dashboard) -> None:
    """Every visible piece of text, in the states a person sees (a finished run of each verdict, an error shown),
    has a contrast of at least 4.5:1 against its background (3:1 for large text), WCAG AA."""
    page = dashboard.open()
    for preset in ("rate-0.2", "rate-1", "rate-0.0001"):
        wait_done(run_card(page, click_preset(page, preset)), 41)
    failures = page.evaluate(CONTRAST)
    assert failures == [], f"text below WCAG AA contrast: {failures}"


# ---------------------------------------------------------------------------------------------------------------
# 7. Keyboard only: Tab to the rate, type it, Enter


@pytest.mark.browser
@pytest.mark.live
def test_keyboard_only_starts_a_run(dashboard: Dashboard) -> None:
    page = dashboard.open()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.getAttribute('name')") == "schedule.learning_rate":
            break
    else:
        pytest.fail("Tab never reached the learning-rate field")
    assert page.evaluate("!!document.activeElement.closest('[data-testid=run-form]')")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("0.5")
    response = start(page, lambda: page.keyboard.press("Enter"))
    spec = response.request.post_data_json
    assert isinstance(spec, dict)
    schedule = spec["schedule"]
    assert (schedule if isinstance(schedule, float | int) else schedule["learning_rate"]) == 0.5, spec
    wait_done(run_card(page, str(response.json()["id"])))


# ---------------------------------------------------------------------------------------------------------------
# 8. Toggle and remove runs; download the trace


@pytest.mark.browser
@pytest.mark.live
def test_toggle_remove_and_download(dashboard: Dashboard) -> None:
    page = dashboard.open()
    first = click_preset(page, "rate-0.2")
    wait_done(run_card(page, first), 41)
    second = click_preset(page, "rate-1")
    wait_done(run_card(page, second), 41)
    expect_series(page, 2)

    toggle = run_card(page, first).get_by_test_id("toggle-run")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect_series(page, 1)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect_series(page, 2)

    page.get_by_test_id("loss-log").check()
    expect(page.get_by_test_id("loss-log")).to_be_checked()
    dashboard.screenshot(page, "loss-log-scale")
    page.get_by_test_id("loss-log").uncheck()

    card = run_card(page, second)
    csv_href = card.get_by_test_id("download-csv").get_attribute("href") or ""
    json_href = card.get_by_test_id("download-json").get_attribute("href") or ""
    csv_url, json_url = (
        urlsplit(page.evaluate("(href) => new URL(href, location.href).href", h)) for h in (csv_href, json_href)
    )
    assert (csv_url.path, csv_url.query) == (f"/v1/runs/{second}", "format=csv")
    assert json_url.path == f"/v1/runs/{second}"
    assert json_url.query in ("", "format=json"), json_url
    csv = page.request.get(csv_url.geturl())
    assert csv.status == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text().splitlines()
    assert lines[0] == "step,w,loss,lr,grad"
    assert len(lines) == 42
    assert lines[1].startswith("0,5.0,36.0,1.0,")
    document = page.request.get(json_url.geturl())
    assert document.status == 200
    run = document.json()
    assert run["id"] == second
    assert len(run["trace"]["step"]) == 41

    card.get_by_test_id("remove-run").click()
    expect(run_card(page, second)).to_have_count(0)
    expect(run_cards(page)).to_have_count(1)
    expect_series(page, 1)


# ---------------------------------------------------------------------------------------------------------------
# 2-D losses: the contour view


@pytest.mark.browser
@pytest.mark.live
def test_two_dimensional_run_shows_contours(dashboard: Dashboard, server: Server) -> None:
    loss = {"kind": "quadratic", "a": [1, 4], "b": [1, -1], "c": 0}
    spec = {**COURSE_RUN, "loss": loss, "w0": [5, 3], "schedule": 0.1}
    with server.client() as client:
        run_id = client.post("/v1/runs", json=spec).json()["id"]
    page = dashboard.new_page()
    page.goto(f"/#spec={quote(json.dumps(spec))}&runs={run_id}")
    ready(page)
    wait_done(run_card(page, run_id), 41)
    contour = page.get_by_test_id("chart-contour")
    expect(contour).to_be_visible()
    expect(contour).to_have_attribute("data-series", "1")
    contour.scroll_into_view_if_needed()
    dashboard.screenshot(page, "contour-2d")
