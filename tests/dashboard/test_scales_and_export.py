"""Log scales on every chart and SVG export (issue 14, item 8): the w chart's scale is asinh ("symmetric log": w is
signed), the curve chart's loss axis is logarithmic, both kept in the URL; a chart downloads as a vector SVG whose
series' points sit where the chart's own axes put them."""

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, expect

from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard, ready
from tests.dashboard.test_dashboard import run_card, wait_done
from tests.live import Server

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)

SVG = "{http://www.w3.org/2000/svg}"
# rate 1.05 on (w+1)^2 from 5: w+1 = 6·(-1.1)^k, hopping across 0 with a growing magnitude (271 after 40 steps)
HOPPING = {**COURSE_RUN, "schedule": 1.05, "name": "hopping"}
LABELS = {"en-US": ("log scale (±)", "log scale"), "zh-CN": ("对数坐标（±）", "对数坐标")}
VIEWS = [(DESKTOP, "en-US"), (PHONE, "zh-CN"), (DESKTOP, "zh-CN"), (PHONE, "en-US")]


def open_run(dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str) -> tuple[Page, str]:
    with server.client() as client:
        run_id = client.post("/v1/runs", json=HOPPING).json()["id"]
    page = dashboard.new_page(viewport, locale)
    page.goto(f"/#spec={quote(json.dumps(HOPPING))}&runs={run_id}")
    ready(page)
    wait_done(run_card(page, run_id), 41)
    return page, run_id


def download_svg(page: Page, chart: str, folder: Path, name: str) -> ET.Element:
    button = page.get_by_test_id(f"svg-{chart}")
    button.scroll_into_view_if_needed()
    with page.expect_download() as downloaded:
        button.click()
    download = downloaded.value
    assert download.suggested_filename == f"descent-{chart}.svg"
    path = download.path()
    assert path is not None
    text = path.read_text()
    (folder / f"{name}.svg").write_text(text)
    assert "data:image" not in text, "the SVG wraps a bitmap"
    assert "<image" not in text, "the SVG wraps a bitmap"
    return ET.fromstring(text)  # raises if it is not well-formed XML


def ticks(svg: ET.Element, axis: str) -> list[tuple[float, float]]:
    """(value, position) of each labelled tick of the axis, from the SVG's own text elements."""
    group = svg.find(f"{SVG}g[@data-axis='{axis}']")
    assert group is not None, f"no {axis} axis in the SVG"
    out = []
    for text in group.iter(f"{SVG}text"):
        if "data-value" in text.attrib:
            position = float(text.attrib["x"] if axis == "x" else text.attrib["y"]) - (0 if axis == "x" else 4)
            out.append((float(text.attrib["data-value"]), position))
    return out


def series_points(svg: ET.Element, index: int = 1) -> list[tuple[float, float]]:
    path = svg.find(f".//{SVG}path[@data-series='{index}']")
    assert path is not None, f"series {index} is not in the SVG"
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path.attrib["d"])]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def linear_map(pairs: list[tuple[float, float]], forward: Any) -> Any:
    """The map value -> pixel the axis ticks imply for a scale that is linear in `forward(value)`."""
    (v0, p0), (v1, p1) = pairs[0], pairs[-1]
    f0, f1 = forward(v0), forward(v1)
    assert f1 != f0
    return lambda v: p0 + (forward(v) - f0) * (p1 - p0) / (f1 - f0)


@pytest.mark.parametrize(("viewport", "locale"), VIEWS, ids=lambda v: str(v))
def test_w_on_an_asinh_scale_exports_as_svg_with_its_points_where_the_axes_put_them(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str
) -> None:
    page, run_id = open_run(dashboard, server, viewport, locale)
    box = page.get_by_test_id("w-log")
    expect(box.locator("xpath=..")).to_contain_text(LABELS[locale][0])
    box.check()
    chart = page.get_by_test_id("chart-w")
    expect(chart).to_have_attribute("data-linthresh", "1")  # |w| from 0.1 to 270: the threshold is the decade of 5
    expect(chart).to_have_attribute("data-y-ticks", re.compile(r"(^| )-100( |$)"))  # drawn on the next frame
    labels = (chart.get_attribute("data-y-ticks") or "").split()
    for label in ("0", "100", "-100"):  # both signs, whole decades
        assert label in labels, labels
    expect(page).to_have_url(re.compile(r"log=w(&|$)"))
    dashboard.screenshot(page, f"w-asinh-{viewport[0]}-{locale}", full_page=False)

    svg = download_svg(page, "w", dashboard.screenshots, f"w-asinh-{viewport[0]}-{locale}")
    trace = page.evaluate("async (id) => (await (await fetch(`/v1/runs/${id}`)).json()).trace", run_id)
    y_ticks = ticks(svg, "y")
    x_ticks = ticks(svg, "x")
    assert len(y_ticks) >= 3, y_ticks
    assert len(x_ticks) >= 2, x_ticks
    # the tick labels themselves lie on one asinh scale (threshold 1): linear in asinh(w)
    to_y = linear_map(y_ticks, math.asinh)
    for value, position in y_ticks:
        assert abs(to_y(value) - position) < 0.6, (value, position)
    to_x = linear_map(x_ticks, float)
    points = series_points(svg)
    assert len(points) == 41
    for step, w, (x, y) in zip(trace["step"], trace["w"], points, strict=True):
        assert abs(x - to_x(step)) < 0.6, (step, x, to_x(step))
        assert abs(y - to_y(w)) < 0.6, (step, w, y, to_y(w))

    page.reload()  # the URL keeps the scale
    ready(page)
    wait_done(run_card(page, run_id), 41)
    expect(page.get_by_test_id("w-log")).to_be_checked()
    expect(chart).to_have_attribute("data-linthresh", "1")


@pytest.mark.parametrize(("viewport", "locale"), VIEWS[:2], ids=lambda v: str(v))
def test_the_curve_chart_takes_a_log_loss_axis_and_exports_the_curve_and_the_path(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int], locale: str
) -> None:
    page, run_id = open_run(dashboard, server, viewport, locale)
    chart = page.get_by_test_id("chart-curve")
    expect(chart).to_have_attribute("data-curves", "1")
    box = page.get_by_test_id("curve-log")
    expect(box.locator("xpath=..")).to_contain_text(LABELS[locale][1])
    box.check()
    expect(page).to_have_url(re.compile(r"log=curve(&|$)"))
    # the chart redraws on its next frame: wait for the log axis (its range is positive) before reading it
    page.wait_for_function(
        "() => +document.querySelector('[data-testid=chart-curve]').dataset.yRange?.split(' ')[0] > 0",
        timeout=TIMEOUT_MS,
    )
    low, high = (float(v) for v in (chart.get_attribute("data-y-range") or "0 0").split())
    assert 0 < low < 36, low  # below the path, whose lowest loss is the first, 36
    assert high > 7e4, high  # above the last loss, 36·1.1^80
    dashboard.screenshot(page, f"curve-log-{viewport[0]}-{locale}", full_page=False)

    svg = download_svg(page, "curve", dashboard.screenshots, f"curve-log-{viewport[0]}-{locale}")
    y_ticks = ticks(svg, "y")
    x_ticks = ticks(svg, "x")
    assert all(v > 0 and math.log10(v) == round(math.log10(v)) for v, _ in y_ticks), y_ticks  # whole decades
    to_y = linear_map(y_ticks, math.log10)
    to_x = linear_map(x_ticks, float)
    from_x = linear_map([(p, v) for v, p in x_ticks], float)  # pixel -> w
    curve = series_points(svg)
    assert len(curve) > 100
    for x, y in curve[:: max(1, len(curve) // 40)]:
        w = from_x(x)
        assert abs(y - to_y((w + 1) ** 2)) < 1.0, (w, y, to_y((w + 1) ** 2))  # the server's (w+1)^2 at that w
    # the path of the iterates is in it too: a polyline through (w_k, loss_k)
    trace = page.evaluate("async (id) => (await (await fetch(`/v1/runs/${id}`)).json()).trace", run_id)
    first = (to_x(trace["w"][0]), to_y(trace["loss"][0]))
    paths = [p for p in svg.iter(f"{SVG}path") if "data-series" not in p.attrib and p.attrib["d"].count("L") >= 40]
    assert paths, "the path of w is missing from the SVG"
    start = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", paths[0].attrib["d"])[:2]]
    assert abs(start[0] - first[0]) < 0.6, (start, first)
    assert abs(start[1] - first[1]) < 0.6, (start, first)
