"""Two languages (issue 14, item 7): the page follows the browser's language (Chinese for zh-*, else English), can be
switched and remembers the switch, and shows the run's explanation in its language; every visible text keeps WCAG
AA contrast in both, with the sweep and LR finder views open."""

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import expect

from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import CONTRAST, click_preset, run_card, wait_done

pytestmark = [pytest.mark.timeout(90), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_chinese_browser_gets_the_chinese_page_and_can_switch(
    dashboard: Dashboard, viewport: tuple[int, int]
) -> None:
    page = dashboard.open(viewport=viewport, locale="zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("run-submit")).to_have_text("运行")
    expect(page.get_by_test_id("preset-rate-0.2")).to_have_text("学习率 0.2")
    form = page.get_by_test_id("run-form")
    expect(form.locator('[data-section="loss"] .help').first).to_contain_text("按维度计算后求和")  # the course's kinds
    expect(form.locator('[data-section="schedule"] .help').first).to_contain_text("每一步都用同一个学习率")
    card = run_card(page, click_preset(page, "rate-0.2"))
    wait_done(card, 41)
    expect(card.get_by_test_id("verdict")).to_have_text("收敛")
    expect(card.get_by_test_id("run-label")).to_have_text("学习率 0.2")
    expect(card.get_by_test_id("explanation")).to_contain_text("收敛：损失从 36 降到")
    expect(card.get_by_test_id("why")).to_contain_text("原因：")
    dashboard.screenshot(page, f"zh-CN-{viewport[0]}", full_page=False)

    page.get_by_test_id("language").select_option("en")  # the page reloads in English, the run comes back
    ready(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("run-submit")).to_have_text("Run")
    wait_done(card, 41)
    expect(card.get_by_test_id("verdict")).to_have_text("converged")
    expect(card.get_by_test_id("explanation")).to_contain_text("Converged: the loss fell from 36 to")
    page.reload()  # the choice is remembered over the browser's language
    ready(page)
    expect(page.get_by_test_id("run-submit")).to_have_text("Run")


def test_an_english_browser_gets_english_and_can_switch_to_chinese(dashboard: Dashboard) -> None:
    page = dashboard.open(locale="en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # the page's own words (the history may list runs other people named in Chinese)
    texts = " ".join(
        page.locator(selector).inner_text() for selector in ("header", ".presets", ".form-panel", "#charts")
    )
    assert not HAN.search(texts.replace("中文", "")), "Chinese on the English page"
    page.get_by_test_id("language").select_option("zh-CN")
    ready(page)
    expect(page.get_by_test_id("run-submit")).to_have_text("运行")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_contrast_holds_in_both_languages_with_every_view_open(dashboard: Dashboard, locale: str) -> None:
    page = dashboard.open(locale=locale)
    for preset in ("rate-0.2", "rate-1"):
        wait_done(run_card(page, click_preset(page, preset)), 41)
    page.get_by_test_id("preset-chapter").click()
    expect(page.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    page.get_by_test_id("lr-finder").click()
    expect(page.get_by_test_id("finder-view")).to_have_attribute("data-state", "done")
    page.get_by_test_id("step-forward").click()
    failures = page.evaluate(CONTRAST)
    assert failures == [], f"text below WCAG AA contrast: {failures}"
