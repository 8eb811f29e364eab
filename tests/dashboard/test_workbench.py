"""The engineer's tools (issue 14, item 8): a sortable comparison table of the runs, PNG export of a chart, and a rate
slider that re-runs as it moves (debounced), replacing its own previous run."""

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import expect

from tests.dashboard.conftest import TIMEOUT_MS, Dashboard
from tests.dashboard.test_dashboard import (
    click_preset,
    form_field,
    run_card,
    run_cards,
    set_field,
    start,
    submit,
    wait_done,
)


def api_state(page: object, run_id: str) -> dict[str, object]:
    """The run's recorded optimizer state, by slot, from `GET /v1/runs/{id}`."""
    state: dict[str, object] = page.evaluate(  # type: ignore[attr-defined]
        "async (id) => (await (await fetch(`/v1/runs/${id}`)).json()).trace.state", run_id
    )
    return state


pytestmark = [pytest.mark.timeout(90), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)


def test_the_comparison_table_sorts_by_any_column(dashboard: Dashboard) -> None:
    page = dashboard.open()
    ids = {preset: click_preset(page, preset) for preset in ("rate-1", "rate-0.2", "rate-0.0001")}
    for run_id in ids.values():
        wait_done(run_card(page, run_id), 41)
    table = page.get_by_test_id("compare-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    table.locator('[data-sort="final"]').click()
    order = [row.get_attribute("data-run-id") for row in table.locator("tbody tr").all()]
    assert order == [ids["rate-0.2"], ids["rate-0.0001"], ids["rate-1"]], order  # 3.6e-15, 35.4, 36
    table.locator('[data-sort="final"]').click()
    order = [row.get_attribute("data-run-id") for row in table.locator("tbody tr").all()]
    assert order == [ids["rate-1"], ids["rate-0.0001"], ids["rate-0.2"]], order
    expect(table.locator('th[aria-sort="descending"]')).to_contain_text("final loss")


def test_a_chart_downloads_as_a_png(dashboard: Dashboard) -> None:
    page = dashboard.open()
    wait_done(run_card(page, click_preset(page, "rate-1")), 41)
    with page.expect_download() as downloaded:
        page.get_by_test_id("png-loss").click()
    download = downloaded.value
    assert download.suggested_filename == "descent-loss.png"
    path = download.path()
    assert path is not None
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert len(data) > 2000


def test_the_rate_slider_reruns_as_it_moves_and_keeps_one_run(dashboard: Dashboard) -> None:
    page = dashboard.open()
    slider = page.get_by_test_id("rate-slider")
    expect(slider).to_be_visible()
    with page.expect_request(lambda r: r.method == "POST" and "/v1/runs" in r.url) as posted:
        slider.focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")  # ten notches: one run after the pause, not ten
    spec = posted.value.post_data_json
    assert isinstance(spec, dict)
    rate = float(form_field(page, "schedule.learning_rate").input_value())
    assert spec["schedule"] == {"kind": "constant", "learning_rate": rate}
    assert rate > 0.2
    expect(run_cards(page)).to_have_count(1)
    wait_done(run_cards(page).first, 41)
    with page.expect_request(lambda r: r.method == "POST" and "/v1/runs" in r.url):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "(rate) => { const cards = document.querySelectorAll('[data-testid=run-card]');"
        " return cards.length === 1 && !cards[0].textContent.includes(`rate ${rate}`); }",
        arg=rate,
        timeout=TIMEOUT_MS,
    )
    expect(run_cards(page)).to_have_count(1)


@pytest.mark.parametrize(("optimizer", "slots"), [("torch.Adam", 2), ("torch.SGD", 1)])
def test_recorded_optimizer_state_gets_its_chart(dashboard: Dashboard, optimizer: str, slots: int) -> None:
    page = dashboard.open()
    expect(page.get_by_test_id("chart-state")).to_be_hidden()
    set_field(page, "optimizer.kind", optimizer)
    if optimizer == "torch.SGD":
        set_field(page, "optimizer.momentum", "0.9")
    page.locator("details.advanced summary").click()
    set_field(page, "record.state", True)
    response = start(page, submit(page))
    sent = response.request.post_data_json
    assert isinstance(sent, dict)
    assert sent["record"] == {"state": True}
    wait_done(run_card(page, str(response.json()["id"])), 41)
    chart = page.get_by_test_id("chart-state")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-series", "1")
    expect(chart).to_have_attribute("data-drawn-rows", "41")
    chart.scroll_into_view_if_needed()
    dashboard.screenshot(page, f"state-{optimizer}", full_page=False)
    assert len(page.evaluate("document.querySelector('[data-testid=chart-state]').dataset.yTicks").split()) >= 2
    expect(chart.locator("canvas")).to_have_count(1)  # one uPlot, drawn
    assert slots == len(api_state(page, str(response.json()["id"])))
