"""The Chinese page (issue 14, item 7) beyond its own labels: every help text of the catalogue (the API writes them in
English; the page has a Chinese table keyed by kind and field), the API's 422 problems (the page's own sentence for
the field and the kind of error, the server's English after it), the LR finder's rules, the sweep's stability rule,
the Code panel and the schedule preview; with every view open, no English sentence is left on the page."""

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, expect

from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard
from tests.dashboard.test_dashboard import click_preset, run_card, set_field, submit, wait_done
from tests.live import Server

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)
HAN = re.compile(r"[\u4e00-\u9fff]")

# Visible text (and titles, aria-labels) with three English words in a row: a sentence left in English. The
# server's own words quoted after a Chinese sentence ("服务器原文：…") and code are not counted.
ENGLISH_LEFT = r"""() => {
  const english = /\b[A-Za-z]{2,}\s+[a-z]{2,}\s+[a-z]{2,}\b/;
  const strip = (text) => text.replace(/（服务器原文：[^）]*）/g, '');
  const out = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('[hidden], script, style, code, pre, .history-list')) continue;
    const style = getComputedStyle(parent);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const text = strip(node.textContent.trim());
    if (english.test(text)) out.add(text.slice(0, 200));
  }
  for (const element of document.querySelectorAll('[title], [aria-label]')) {
    if (element.closest('[hidden], .history-list')) continue;
    for (const name of ['title', 'aria-label']) {
      const value = element.getAttribute(name);
      if (value && english.test(strip(value))) out.add(`${name}: ${value.slice(0, 200)}`);
    }
  }
  return [...out];
}"""


def test_every_kind_and_field_of_the_catalogue_has_a_chinese_help_text(dashboard: Dashboard, server: Server) -> None:
    with server.client() as client:
        catalog = client.get("/v1/catalog").json()
    page = dashboard.open(locale="zh-CN")
    table: dict[str, str] = page.evaluate("async () => (await import('/static/catalog_zh.js')).CATALOG_ZH")
    missing = []
    for group, kinds in catalog.items():
        for entry in kinds:
            keys = [f"{group}.{entry['kind']}"] + [f"{group}.{entry['kind']}.{p['name']}" for p in entry["parameters"]]
            missing += [key for key in keys if not HAN.search(table.get(key, ""))]
    assert missing == [], f"no Chinese help text for {missing}"
    # and the form shows them: a kind outside the course, each of its fields
    set_field(page, "schedule.kind", "torch.OneCycleLR")
    helps = page.get_by_test_id("run-form").locator('[data-section="schedule"] .help')
    expect(helps.first).to_contain_text("torch OneCycleLR：")
    for text in helps.all_inner_texts():
        assert HAN.search(text), f"an English help text in the Chinese form: {text!r}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_422_is_said_in_chinese_with_the_servers_words_after_it(
    dashboard: Dashboard, viewport: tuple[int, int]
) -> None:
    dashboard.allow(r"422")
    page = dashboard.open(viewport=viewport, locale="zh-CN")
    set_field(page, "steps", "0")
    submit(page)()
    error = page.locator('[data-error-for="steps"]')
    expect(error).to_have_text("steps：请填一个不小于 1 的数。（服务器原文：Give a number at least 1.）")
    expect(page.locator('[name="steps"]')).to_be_focused()
    dashboard.screenshot(page, f"zh-422-{viewport[0]}", full_page=False)

    english = dashboard.open(viewport=viewport, locale="en-US")  # the English page shows the server's words alone
    set_field(english, "steps", "0")
    submit(english)()
    expect(english.locator('[data-error-for="steps"]')).to_have_text("Give a number at least 1.")


def open_every_view(page: Page) -> None:
    wait_done(run_card(page, click_preset(page, "rate-0.2")), 41)
    page.get_by_test_id("preset-chapter").click()
    expect(page.get_by_test_id("sweep-view")).to_have_attribute("data-state", "done")
    page.get_by_test_id("lr-finder").click()
    expect(page.get_by_test_id("finder-view")).to_have_attribute("data-state", "done")
    page.get_by_test_id("show-code").first.click()
    expect(page.get_by_test_id("code-text")).to_contain_text("import")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_with_every_view_open_the_chinese_page_has_no_english_sentence_left(
    dashboard: Dashboard, viewport: tuple[int, int]
) -> None:
    page = dashboard.open(viewport=viewport, locale="zh-CN")
    open_every_view(page)
    expect(page.get_by_test_id("finder-suggestion").first.locator(".suggestion-rule")).to_contain_text("建议")
    expect(page.get_by_test_id("sweep-view")).to_contain_text("普通梯度下降")  # the stability rule
    expect(page.get_by_test_id("code-panel").locator("h2")).to_contain_text("生成代码")
    expect(page.get_by_test_id("code-status")).to_contain_text("CSV")
    expect(page.get_by_test_id("schedule-preview-range")).to_contain_text("步内从")
    dashboard.screenshot(page, f"zh-every-view-{viewport[0]}")
    left = page.evaluate(ENGLISH_LEFT)
    assert left == [], f"English left on the Chinese page: {left}"
