"""A real server, Debian's Chromium under Playwright, a fresh page per test, and the screenshots folder.

The browser is `/usr/bin/chromium` (`apt-get install chromium`), never Playwright's own download. Without it, or
without the `playwright` package, every dashboard test skips with the reason, so `make test` still passes.

Each test's pages report their console errors and warnings and uncaught exceptions; any that the test did not
announce with `Dashboard.allow` fails the test at teardown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, WebError

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu"]
DESKTOP = (1280, 800)
PHONE = (390, 844)
TIMEOUT_MS = 20_000  # Playwright's wait for any one condition; each test stays well under a minute
SCREENSHOTS = pytest.StashKey[Path]()


def screenshot_folder(config: pytest.Config) -> Path:
    """`$DESCENT_SCREENSHOTS`, or `/tmp/descent-screenshots/<timestamp>`: one folder per pytest session."""
    if SCREENSHOTS not in config.stash:
        chosen = os.environ.get("DESCENT_SCREENSHOTS")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        config.stash[SCREENSHOTS] = Path(chosen) if chosen else Path("/tmp/descent-screenshots") / stamp
    return config.stash[SCREENSHOTS]


def pytest_report_header(config: pytest.Config) -> str:
    # Shown when this folder is on the command line (`pytest tests/dashboard`); the summary line below always is.
    return f"dashboard screenshots: {screenshot_folder(config)}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    folder = config.stash.get(SCREENSHOTS, None)
    if folder is not None and folder.is_dir():
        terminalreporter.write_line(f"dashboard screenshots: {folder}")


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    folder = screenshot_folder(pytestconfig)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]'): dashboard tests skipped")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): dashboard tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Asks for `browser` first so that a machine without Chromium skips before starting a server.
    running = Server(tmp_path_factory.mktemp("dashboard") / "runs.sqlite3", DESCENT_LOG_FORMAT="text")
    yield running
    running.stop()


PREVIEW_REFUSED = re.compile(r"status of 422 .*/v1/schedules/preview")
"""The schedule preview follows the form as it is typed (debounced): a half-typed schedule (decay_steps 0, say) is
refused, the preview says why, and Chromium logs the refused request. Whether a test sees it depends on the
machine's speed, so no test fails for it."""


@dataclass
class Dashboard:
    """Opens pages on the server in fresh browser contexts and collects what their consoles report."""

    browser: Browser
    server: Server
    screenshots: Path
    test_name: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=lambda: [PREVIEW_REFUSED])
    contexts: list[BrowserContext] = field(default_factory=list)

    def new_page(self, viewport: tuple[int, int] = DESKTOP, locale: str = "en-US") -> Page:
        """A page in a new context (its own storage, as another browser or person would have), whose browser
        language is `locale` (the page follows it: zh-* gives the Chinese page)."""
        width, height = viewport
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport={"width": width, "height": height},
            permissions=["clipboard-read", "clipboard-write"],
            locale=locale,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.on("console", self._console)
        context.on("weberror", self._page_error)
        self.contexts.append(context)
        return context.new_page()

    def open(self, path: str = "/", viewport: tuple[int, int] = DESKTOP, locale: str = "en-US") -> Page:
        """Opens the dashboard at `path` and waits until the form is built from the catalogue."""
        page = self.new_page(viewport, locale)
        page.goto(path)
        ready(page)
        return page

    def allow(self, pattern: str) -> None:
        """A console message the test provokes on purpose (e.g. the 422 of an invalid spec)."""
        self.allowed.append(re.compile(pattern))

    def screenshot(self, page: Page, name: str, full_page: bool = True) -> Path:
        path = self.screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def _console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning", "assert"):
            return
        text = f"console {message.type}: {message.text} ({message.location.get('url', '')})"
        if not any(pattern.search(text) for pattern in self.allowed):
            self.problems.append(text)

    def _page_error(self, error: WebError) -> None:
        self.problems.append(f"uncaught exception: {error.error}")


def ready(page: Page) -> None:
    """The page has built its form from `GET /v1/catalog` (the `steps` input exists and is visible)."""
    page.get_by_test_id("run-form").locator('[name="steps"]').wait_for(state="visible")


@pytest.fixture
def dashboard(
    browser: Browser, server: Server, screenshots: Path, request: pytest.FixtureRequest
) -> Iterator[Dashboard]:
    board = Dashboard(browser, server, screenshots, request.node.name)
    yield board
    problems = list(board.problems)  # read before closing: closing pages may log their own disconnections
    for context in board.contexts:
        context.close()
    assert not problems, "the dashboard logged errors or warnings:\n" + "\n".join(problems)
