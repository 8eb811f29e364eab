"""The workbench views of issue 14: sweeps (1 axis: final loss and verdict bands against the swept value with the
predicted stability edge; 2 axes: a verdict heatmap) and the LR finder, each opening a run with a click."""

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, Request, expect

from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard
from tests.dashboard.test_dashboard import form_field, run_cards, wait_done

pytestmark = [pytest.mark.timeout(90), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)
VIEWS = [
    pytest.param(DESKTOP, "en-US", id="desktop-en"),
    pytest.param(PHONE, "zh-CN", id="phone-zh"),
]


def wait_view(page: Page, testid: str) -> None:
    view = page.get_by_test_id(testid)
    expect(view).to_be_visible()
    expect(view).to_have_attribute("data-state", "done")


def posted_spec(page: Page, click: object) -> dict[str, object]:
    """Does `click` (a callable) and returns the run spec it POSTs."""
    with page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/v1/runs?wait=false")
    ) as posted:
        click()  # type: ignore[operator]
    request: Request = posted.value
    spec = request.post_data_json
    assert isinstance(spec, dict)
    return spec


def rate_of(spec: dict[str, object]) -> float:
    schedule = spec["schedule"]
    assert isinstance(schedule, dict), schedule
    assert schedule["kind"] == "constant"
    return float(schedule["learning_rate"])


@pytest.mark.parametrize(("viewport", "locale"), VIEWS)
def test_the_chapter_in_one_picture(dashboard: Dashboard, viewport: tuple[int, int], locale: str) -> None:
    page = dashboard.open(viewport=viewport, locale=locale)
    page.get_by_test_id("preset-chapter").click()
    wait_view(page, "sweep-view")
    view = page.get_by_test_id("sweep-view")
    expect(view).to_have_attribute("data-points", "1001")
    expect(view).to_have_attribute("data-edge", "1")  # the analytic boundary from summary.stability
    bands = (view.get_attribute("data-bands") or "").split()
    verdicts = [band.split(":")[0] for band in bands]
    assert verdicts == ["stalled", "slow", "converged", "slow", "oscillating", "diverged"], bands
    assert "oscillating:1:1" in bands, "rate 1 (exactly) oscillates, alone between slow and diverged"
    expect(page.get_by_test_id("sweep-edge")).to_be_visible()
    expect(page.get_by_test_id("sweep-legend").locator("li")).to_have_count(5)
    chart = page.get_by_test_id("sweep-chart").bounding_box()  # the picture is on screen, on a phone too
    assert chart is not None
    assert 0 <= chart["y"] < viewport[1] - 100, chart
    dashboard.screenshot(page, f"sweep-chapter-{viewport[0]}-{locale}", full_page=False)

    # a click on the curve at rate 0.2 opens that run: the course's converging run
    over = page.get_by_test_id("sweep-chart").locator(".u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.2 / 1.25, box["y"] + box["height"] / 2
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y)
    spec = posted_spec(page, lambda: page.mouse.click(x, y))
    assert abs(rate_of(spec) - 0.2) < 0.01, spec
    expect(run_cards(page)).to_have_count(1)
    wait_done(run_cards(page).first, 41)
    expect(run_cards(page).first.get_by_test_id("verdict")).to_have_attribute("data-verdict", "converged")


def test_sweep_this_field_from_the_form(dashboard: Dashboard) -> None:
    page = dashboard.open()
    form_field(page, "schedule.learning_rate").focus()
    page.get_by_test_id("sweep-field").click()
    view = page.get_by_test_id("sweep-view")
    expect(view).to_be_visible()
    expect(page.get_by_test_id("sweep-path")).to_have_value("schedule.learning_rate")
    page.get_by_test_id("sweep-start").fill("0.5")
    page.get_by_test_id("sweep-stop").fill("1.5")
    page.get_by_test_id("sweep-num").fill("21")
    page.get_by_test_id("sweep-run").click()
    wait_view(page, "sweep-view")
    expect(view).to_have_attribute("data-points", "21")
    bands = view.get_attribute("data-bands") or ""
    assert bands.startswith("converged:0.5:"), bands
    assert "diverged:" in bands, bands


@pytest.mark.parametrize(("viewport", "locale"), VIEWS)
def test_a_two_axis_sweep_is_a_heatmap_whose_cells_open_runs(
    dashboard: Dashboard, viewport: tuple[int, int], locale: str
) -> None:
    page = dashboard.open(viewport=viewport, locale=locale)
    page.get_by_test_id("preset-momentum-grid").click()
    wait_view(page, "sweep-view")
    expect(page.get_by_test_id("sweep-view")).to_have_attribute("data-cells", str(89 * 39))
    heatmap = page.get_by_test_id("sweep-heatmap")
    expect(heatmap).to_be_visible()
    heatmap.scroll_into_view_if_needed()
    dashboard.screenshot(page, f"sweep-heatmap-{viewport[0]}-{locale}", full_page=False)
    box = heatmap.bounding_box()
    assert box is not None
    # the plot area inside the canvas margins (58 left, 12 right, 10 top, 40 bottom): a cell at a quarter of the
    # rates and the bottom of the momenta
    x = box["x"] + 58 + (box["width"] - 70) * 0.25
    y = box["y"] + 10 + (box["height"] - 50) * 0.99
    spec = posted_spec(page, lambda: page.mouse.click(x, y))
    optimizer = spec["optimizer"]
    assert isinstance(optimizer, dict)
    assert optimizer["kind"] == "torch.SGD"
    assert optimizer["momentum"] == 0, spec
    assert 0.4 < rate_of(spec) < 0.7, spec


@pytest.mark.parametrize(("viewport", "locale"), VIEWS)
def test_the_lr_finder_suggests_rates_and_runs_one(
    dashboard: Dashboard, viewport: tuple[int, int], locale: str
) -> None:
    page = dashboard.open(viewport=viewport, locale=locale)
    page.get_by_test_id("lr-finder").click()
    wait_view(page, "finder-view")
    suggestions = page.get_by_test_id("finder-suggestion")
    expect(suggestions).to_have_count(3)
    for name in ("steepest", "valley", "minimum"):
        expect(page.locator(f'[data-testid="finder-suggestion"][data-name="{name}"]')).to_contain_text(name)
    marked = dict(
        item.split(":") for item in (page.get_by_test_id("finder-view").get_attribute("data-suggestions") or "").split()
    )
    assert marked, "no suggested rate"
    page.get_by_test_id("finder-view").scroll_into_view_if_needed()
    dashboard.screenshot(page, f"lr-finder-{viewport[0]}-{locale}", full_page=False)
    button = page.get_by_test_id("finder-run").first
    suggestion = str(button.locator("xpath=ancestor::li").get_attribute("data-name"))
    spec = posted_spec(page, button.click)
    assert rate_of(spec) == pytest.approx(float(marked[suggestion]), rel=1e-6)
    expect(run_cards(page)).to_have_count(1)
    wait_done(run_cards(page).first)
