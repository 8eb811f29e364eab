"""Share and reload (issue 14, item 9): the link keeps the whole view (runs, hidden runs, the log scale, the zoom,
the step, the open sweep) and, on a phone, opens on the charts rather than on the form."""

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import expect

from tests.dashboard.conftest import PHONE, TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import click_preset, run_card, run_cards, wait_done

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
