"""The lesson on the page (issue 14, items 5 and 6): stepping through a run with every chart highlighting the step,
the why of a quadratic (the factor per step, the stable band and one-step rate on the lr chart), and the chapter's
own printout of a run, digit for digit and copyable."""

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import expect

from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard
from tests.dashboard.test_dashboard import click_preset, run_card, wait_done
from tests.test_course import SEED

pytestmark = [pytest.mark.timeout(90), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)
VIEWS = [pytest.param(DESKTOP, "en-US", id="desktop-en"), pytest.param(PHONE, "zh-CN", id="phone-zh")]


@pytest.mark.parametrize(("viewport", "locale"), VIEWS)
def test_step_through_watches_w_hop_between_5_and_minus_7(
    dashboard: Dashboard, viewport: tuple[int, int], locale: str
) -> None:
    page = dashboard.open(viewport=viewport, locale=locale)
    wait_done(run_card(page, click_preset(page, "rate-1")), 41)
    stepper = page.get_by_test_id("stepper")
    expect(stepper).to_be_visible()
    readout = page.get_by_test_id("step-readout")
    for step, w in ((0, "5.000000"), (1, "-7.000000"), (2, "5.000000")):
        page.get_by_test_id("step-forward").click()
        expect(stepper).to_have_attribute("data-step", str(step))
        expect(readout).to_contain_text(f"w {w}")
    page.get_by_test_id("step-back").click()
    expect(stepper).to_have_attribute("data-step", "1")
    page.get_by_test_id("step-scrubber").fill("40")
    expect(stepper).to_have_attribute("data-step", "40")
    # every chart draws the highlighted step: the step charts mark it, the curve rings the iterate
    for chart in ("chart-loss", "chart-w", "chart-lr", "chart-curve"):
        expect(page.get_by_test_id(chart)).to_have_attribute("data-drawn-step", "40")
    page.get_by_test_id("step-play").click()  # from the end, play starts over
    expect(stepper).to_have_attribute("data-playing", "true")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=stepper]').dataset.step) >= 2", timeout=TIMEOUT_MS
    )
    page.get_by_test_id("step-play").click()
    expect(stepper).to_have_attribute("data-playing", "false")
    paused = stepper.get_attribute("data-step")
    page.wait_for_timeout(800)  # paused: the step must not move any more (a negative check needs a wait)
    expect(stepper).to_have_attribute("data-step", str(paused))
    page.get_by_test_id("chart-curve").scroll_into_view_if_needed()
    dashboard.screenshot(page, f"step-through-{viewport[0]}-{locale}", full_page=False)


@pytest.mark.parametrize(("viewport", "locale"), VIEWS)
def test_the_why_of_a_quadratic_on_the_card_and_the_lr_chart(
    dashboard: Dashboard, viewport: tuple[int, int], locale: str
) -> None:
    page = dashboard.open(viewport=viewport, locale=locale)
    card = run_card(page, click_preset(page, "rate-0.2"))
    wait_done(card, 41)
    why = card.get_by_test_id("why")
    expect(why).to_be_visible()
    expect(why).to_contain_text("1 − 2·a·lr = 1 − 2·1·0.2 = 0.6")
    expect(why).to_contain_text("0 < lr < 1")
    lr_chart = page.get_by_test_id("chart-lr")
    expect(lr_chart).to_have_attribute("data-stable", "1")  # summary.analysis.max_stable_lr
    expect(lr_chart).to_have_attribute("data-one-step", "0.5")  # summary.analysis.one_step_lr
    lr_chart.scroll_into_view_if_needed()
    dashboard.screenshot(page, f"why-lr-band-{viewport[0]}-{locale}", full_page=False)


@pytest.mark.parametrize(
    ("preset", "pattern"), [("rate-0.2", r"After \d+ steps:w is "), ("decay", r"After \d+ steps: global_step is ")]
)
def test_the_chapter_table_prints_the_course_listing_digit_for_digit(
    dashboard: Dashboard, preset: str, pattern: str
) -> None:
    course = [line for line in SEED.read_text("utf-8").splitlines() if re.match(pattern, line)]
    assert len(course) == 40
    page = dashboard.open()
    card = run_card(page, click_preset(page, preset))
    wait_done(card, 41)
    card.get_by_test_id("show-table").click()
    table = page.get_by_test_id("run-table")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("table-offset")).to_contain_text("i + 1")
    assert page.get_by_test_id("table-text").inner_text().splitlines() == course
    page.get_by_test_id("table-copy").click()
    assert page.evaluate("navigator.clipboard.readText()").splitlines() == course
