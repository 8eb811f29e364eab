"""Many runs and long runs (issue 14, item 10): a compact legend past four runs keeps the charts on the first
screen; a live run shows its progress out of the planned rows with an ETA, on an x axis already sized to its
planned steps."""

import json
import re
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import expect

from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import run_card, run_cards, set_field, start_run, submit
from tests.live import Server

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_with_thirteen_runs_the_legend_is_compact_and_the_charts_stay_on_screen(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int]
) -> None:
    with server.client() as client:
        ids = [
            client.post("/v1/runs", json={**COURSE_RUN, "schedule": 0.05 * (i + 1), "name": f"run {i}"}).json()["id"]
            for i in range(13)
        ]
    page = dashboard.new_page(viewport)
    page.goto(f"/#spec={quote(json.dumps(COURSE_RUN))}&runs={','.join(ids)}")
    ready(page)
    expect(run_cards(page)).to_have_count(13)
    expect(page.get_by_test_id("legend-toggle")).to_have_attribute("aria-pressed", "true")
    page.locator("#runs-title").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#runs-title').scrollIntoView({block: 'start'})")
    top = page.get_by_test_id("chart-loss").bounding_box()
    assert top is not None
    assert top["y"] + 120 < viewport[1], f"the loss chart starts {top['y']:.0f}px down a {viewport[1]}px screen"
    dashboard.screenshot(page, f"thirteen-runs-{viewport[0]}", full_page=False)
    page.get_by_test_id("legend-toggle").click()  # the full cards come back on request
    expect(page.get_by_test_id("legend-toggle")).to_have_attribute("aria-pressed", "false")
    expect(run_cards(page).first.get_by_test_id("final-w")).to_be_visible()


def test_a_live_run_shows_progress_out_of_its_planned_rows_on_a_sized_axis(dashboard: Dashboard) -> None:
    page = dashboard.open()
    set_field(page, "optimizer.kind", "keras.Adam")
    set_field(page, "steps", "200000")
    card = run_card(page, start_run(page, submit(page)))
    page.wait_for_function(
        "() => /of 200,001 rows/.test(document.querySelector('[data-testid=run-card] [data-testid=explanation]')"
        ".textContent)",
        timeout=TIMEOUT_MS,
    )
    expect(card).to_have_attribute("data-status", "running")
    expect(page.get_by_test_id("chart-loss")).to_have_attribute("data-x-max", "200000")
    expect(card.get_by_test_id("explanation")).to_contain_text(re.compile(r"\(\d+%\)"))
    page.wait_for_function(
        "() => /s left/.test(document.querySelector('[data-testid=run-card] [data-testid=explanation]').textContent)"
        " || document.querySelector('[data-testid=run-card]').dataset.status !== 'running'",
        timeout=TIMEOUT_MS,
    )
    expect(card).to_have_attribute("data-status", "finished", timeout=90_000)
    expect(card).to_have_attribute("data-points", "200001")
