"""The dashboard's "Code" tab (a run as a program in each library, with a copy button) and the schedule field's
preview (the rate over the run, beside its other libraries' counterparts), in Chromium against a real server."""

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_dashboard import click_preset, run_card, wait_done

pytestmark = [pytest.mark.browser, pytest.mark.live]


def open_code(page: Page, run_id: str) -> None:
    card = run_card(page, run_id)
    wait_done(card)
    card.get_by_test_id("show-code").click()
    expect(page.get_by_test_id("code-panel")).to_be_visible()


def test_the_course_run_as_code_in_each_library_and_copied(dashboard: Dashboard) -> None:
    page = dashboard.open()
    run_id = click_preset(page, "decay")
    open_code(page, run_id)
    code = page.get_by_test_id("code-text")
    expect(code).to_contain_text("global_step = tf.Variable(0, trainable=False)")
    expect(code).to_contain_text("sess.run(train_step)")
    expect(page.locator('.code-tab[data-library="tf1"]')).to_have_attribute("aria-selected", "true")
    for library, idiom in [
        ("keras", "opt.apply_gradients"),
        ("torch", "sched.step()"),
        ("optax", "optax.apply_updates"),
    ]:
        page.locator(f'.code-tab[data-library="{library}"]').click()
        expect(code).to_contain_text(idiom)
    page.get_by_test_id("code-copy").click()
    expect(page.get_by_test_id("code-status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == code.text_content()
    assert copied.startswith('"""Run ')
    assert "import optax" in copied
    dashboard.screenshot(page, "code-tab")


def test_a_library_without_counterpart_says_so(dashboard: Dashboard) -> None:
    dashboard.allow(r"422")  # the browser logs the failed fetch of the program
    page = dashboard.open()
    run_id = click_preset(page, "onecycle")
    open_code(page, run_id)
    page.locator('.code-tab[data-library="keras"]').click()
    expect(page.get_by_test_id("code-status")).to_contain_text("has no keras counterpart")
    expect(page.get_by_test_id("code-copy")).to_be_disabled()


def test_the_schedule_preview_draws_as_you_type(dashboard: Dashboard) -> None:
    page = dashboard.open()
    preview = page.get_by_test_id("schedule-preview")
    expect(preview).to_have_attribute("data-state", "drawn")
    form = page.get_by_test_id("run-form")
    form.locator('[name="schedule.kind"]').select_option("torch.CosineAnnealingLR")
    form.locator('[name="schedule.lr"]').fill("0.1")
    form.locator('[name="schedule.T_max"]').fill("10")
    form.locator('[name="steps"]').fill("40")
    equivalents = page.get_by_test_id("schedule-equivalents")
    expect(equivalents).to_contain_text("keras.CosineDecay: differs by up to 0.1")
    expect(page.get_by_test_id("schedule-preview-range")).to_contain_text("torch.CosineAnnealingLR")
    expect(preview.locator("polyline")).to_have_count(4)
    dashboard.screenshot(page, "schedule-preview")
    # a constant rate is `constant` in every library: each line names its library
    form.locator('[name="schedule.kind"]').select_option("constant")
    for library in ("tf1", "keras", "torch", "optax"):
        expect(equivalents).to_contain_text(f"{library} constant: ")
