"""The contour chart's log scale and SVG export (issue 14, item 8, for the hand-drawn canvas): ticked, the levels
are log-spaced (a constant ratio between successive heights above the lowest value), kept in the URL; the SVG is
vectors rebuilt from the data: each contour line where the loss has its level, the path of w through the run's
iterates, the axes' ticks."""

import json
import math
import re
from itertools import pairwise
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, expect

from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import run_card, wait_done
from tests.dashboard.test_scales_and_export import LABELS, SVG, VIEWS, download_svg, linear_map, ticks
from tests.live import Server

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)

BOWL = {**COURSE_RUN, "loss": {"kind": "expression", "formula": "x**2 + 3*y**2"}, "w0": [-1.5, 2], "schedule": 0.1}


def bowl(x: float, y: float) -> float:
    return x**2 + 3 * y**2


def levels(page: Page) -> list[float]:
    return [
        float(v) for v in json.loads(page.get_by_test_id("chart-contour").get_attribute("data-level-values") or "[]")
    ]


def open_bowl(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str, extra: str = ""
) -> tuple[Page, str]:
    with server.client() as client:
        run_id = client.post("/v1/runs", json=BOWL).json()["id"]
    page = dashboard.new_page(viewport, locale)
    page.goto(f"/#spec={quote(json.dumps(BOWL))}&runs={run_id}{extra}")
    ready(page)
    wait_done(run_card(page, run_id), 41)
    page.get_by_test_id("chart-contour").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=chart-contour]').dataset.levels) >= 5", timeout=TIMEOUT_MS
    )
    return page, run_id


@pytest.mark.parametrize(("viewport", "locale"), VIEWS, ids=lambda v: str(v))
def test_the_contour_levels_go_log_spaced_and_the_link_keeps_it(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str
) -> None:
    page, _ = open_bowl(dashboard, server, viewport, locale)
    quantiles = levels(page)
    box = page.get_by_test_id("contour-log")
    expect(box.locator("xpath=..")).to_contain_text(LABELS[locale][1])
    box.check()
    expect(page.get_by_test_id("chart-contour")).to_have_attribute("data-log", "true")
    expect(page).to_have_url(re.compile(r"log=contour(&|$)"))
    logged = levels(page)
    assert logged != quantiles
    gaps = [b - a for a, b in pairwise(logged)]
    ratios = [b / a for a, b in pairwise(gaps)]
    assert len(ratios) >= 10, ratios
    assert ratios[0] > 1.5, ratios
    assert all(math.isclose(r, ratios[0], rel_tol=1e-6) for r in ratios), ratios  # a constant ratio: log-spaced
    dashboard.screenshot(page, f"contour-log-{viewport[0]}-{locale}", full_page=False)

    again = dashboard.new_page(viewport, locale)  # the link opens on the same scale and the same levels
    again.goto(page.url)
    ready(again)
    expect(again.get_by_test_id("contour-log")).to_be_checked()
    expect(again.get_by_test_id("chart-contour")).to_have_attribute("data-log", "true")
    again.wait_for_function(
        "() => Number(document.querySelector('[data-testid=chart-contour]').dataset.levels) >= 5", timeout=TIMEOUT_MS
    )
    assert levels(again) == logged
    box = again.get_by_test_id("contour-log")
    box.uncheck()
    expect(again.get_by_test_id("chart-contour")).to_have_attribute("data-log", "false")
    assert levels(again) == quantiles


@pytest.mark.parametrize(("viewport", "locale"), VIEWS, ids=lambda v: str(v))
def test_the_contour_chart_exports_an_svg_of_its_lines_path_and_axes(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str
) -> None:
    page, run_id = open_bowl(dashboard, server, viewport, locale, "&log=contour")
    expect(page.get_by_test_id("contour-log")).to_be_checked()
    svg = download_svg(page, "contour", dashboard.screenshots, f"contour-log-{viewport[0]}-{locale}")
    x_ticks, y_ticks = ticks(svg, "x"), ticks(svg, "y")
    assert len(x_ticks) >= 2
    assert len(y_ticks) >= 2
    to_x, to_y = linear_map(x_ticks, float), linear_map(y_ticks, float)
    from_x = linear_map([(p, v) for v, p in x_ticks], float)
    from_y = linear_map([(p, v) for v, p in y_ticks], float)

    lines = [p for p in svg.iter(f"{SVG}path") if "data-level" in p.attrib]
    drawn = int(page.get_by_test_id("chart-contour").get_attribute("data-levels") or 0)
    assert len(lines) == drawn >= 5
    assert {float(p.attrib["data-level"]) for p in lines} <= set(levels(page))
    span = max(levels(page)) - min(levels(page))
    for line in lines:  # every vertex of a contour line lies where the loss has the line's level
        level = float(line.attrib["data-level"])
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", line.attrib["d"])]
        vertices = list(zip(numbers[::2], numbers[1::2], strict=True))
        for px, py in vertices[:: max(1, len(vertices) // 25)]:
            value = bowl(from_x(px), from_y(py))
            assert abs(value - level) < 0.01 * span + 0.02 * level, (level, value)

    run = page.evaluate("async (id) => (await (await fetch(`/v1/runs/${id}`)).json()).trace", run_id)
    paths = [p for p in svg.iter(f"{SVG}path") if "data-run" in p.attrib]
    assert len(paths) == 1
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", paths[0].attrib["d"])]
    points = list(zip(numbers[::2], numbers[1::2], strict=True))
    assert len(points) == len(run["w"]) == 41
    for (px, py), (w0, w1) in zip(points, run["w"], strict=True):  # the path goes through every iterate
        assert abs(px - to_x(w0)) < 0.6, ((px, py), (w0, w1))
        assert abs(py - to_y(w1)) < 0.6, ((px, py), (w0, w1))
    assert svg.find(f".//{SVG}circle[@data-mark='w0']") is not None
