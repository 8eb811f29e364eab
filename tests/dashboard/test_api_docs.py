"""The API documentation pages offline: Swagger UI (`/docs`) and ReDoc (`/redoc`) render the service's operations in
Chromium with every request to anything but the server refused, from the copies vendored under /static/vendor/.

The `dashboard` fixture fails a test on any console error (a refused request, a blocked script or style, a
content-security-policy violation) or uncaught exception.
"""

import json
import re
from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, Route, expect

from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import TIMEOUT_MS, Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.timeout(60)]
expect.set_options(timeout=TIMEOUT_MS)


def offline_page(dashboard: Dashboard) -> tuple[Page, list[str], list[str]]:
    """A page whose requests to any other origin are aborted (and listed), with the list of same-origin URLs."""
    page = dashboard.new_page()
    server = urlsplit(dashboard.server.url).netloc
    refused: list[str] = []
    served: list[str] = []

    def only_the_server(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == server or url.startswith(("data:", "blob:")):
            served.append(url)
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.route("**/*", only_the_server)
    return page, refused, served


def test_swagger_ui_renders_the_operations_offline(dashboard: Dashboard) -> None:
    page, refused, served = offline_page(dashboard)
    page.goto("/docs")
    create = page.locator("#operations-runs-create_run_v1_runs_post")  # Swagger UI's id: tag and operationId
    expect(create.locator(".opblock-summary")).to_be_visible()
    expect(create.locator(".opblock-summary-method")).to_have_text("POST")
    expect(create.locator(".opblock-summary-path")).to_have_text("/v1/runs")
    expect(page.locator(".opblock-get").filter(has_text="/v1/runs/{run_id}").first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("Descent")
    # An operation opens with an example of its request body, built from the RunSpec schema in /openapi.json.
    create.locator(".opblock-summary").click()
    expect(create.locator(".opblock-section-request-body")).to_contain_text('"w0"')
    dashboard.screenshot(page, "api-docs-swagger-ui")
    assert refused == []
    assert any(urlsplit(url).path == "/static/vendor/swagger-ui/swagger-ui-bundle.js" for url in served)
    assert any(urlsplit(url).path == "/openapi.json" for url in served)


def test_swagger_ui_sends_a_run_offline(dashboard: Dashboard) -> None:
    """Try it out on POST /v1/runs: the course's run, sent from the page (the policy lets it reach its server)."""
    page, refused, _ = offline_page(dashboard)
    page.goto("/docs")
    create = page.locator("#operations-runs-create_run_v1_runs_post")
    create.locator(".opblock-summary").click()
    create.get_by_role("button", name="Try it out").click()
    create.locator("textarea.body-param__text").fill(json.dumps(COURSE_RUN))
    with page.expect_response(lambda response: urlsplit(response.url).path == "/v1/runs") as posted:
        create.get_by_role("button", name="Execute").click()
    assert posted.value.status == 201
    answer = create.locator(".live-responses-table")
    expect(answer.locator("tbody .response-col_status")).to_have_text("201")
    expect(answer).to_contain_text('"verdict": "converged"')
    assert refused == []


def test_redoc_renders_the_operations_offline(dashboard: Dashboard) -> None:
    # ReDoc 2 warns (a warning, not an error) where it cannot merge a `oneOf` branch into its parent for display:
    # `schedule` is a number or a schedule object, an optional parameter an integer or null.
    dashboard.allow(r"^console warning: Incompatible types in allOf at \"#/components/schemas/")
    page, refused, served = offline_page(dashboard)
    page.goto("/redoc")
    expect(page.locator("h1").first).to_contain_text("Descent")
    menu = page.locator(".menu-content")
    expect(menu).to_be_visible()
    expect(menu.get_by_text("Run a spec: answer with the finished run").first).to_be_attached()
    expect(page.locator(".api-content")).to_contain_text("/v1/runs")
    dashboard.screenshot(page, "api-docs-redoc")
    assert refused == []
    assert any(urlsplit(url).path == "/static/vendor/redoc/redoc.standalone.js" for url in served)
    assert any(urlsplit(url).path == "/openapi.json" for url in served)


def test_the_dashboard_links_to_the_local_api_docs(dashboard: Dashboard) -> None:
    page, refused, _ = offline_page(dashboard)
    page.goto("/")
    link = page.get_by_role("link", name="API docs")
    assert link.get_attribute("href") == "/docs"
    link.click()
    expect(page).to_have_url(re.compile(r"/docs$"))
    expect(page.locator(".opblock").first).to_be_visible()
    assert refused == []
