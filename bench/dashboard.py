"""Click to first point in the dashboard, in real Chromium: the median time from a click to the first row (or the
sweep or range-test picture) drawn on the page, for a course preset, the Run button, the chapter's sweep of 1,001
rates and the LR finder.

`python -m bench.dashboard` starts `python -m service` through `tests.live.Server` (a throw-away SQLite store) and
Debian's /usr/bin/chromium under Playwright at 1280x800. Each repeat opens a fresh page (not timed), then times in
the page itself, with `performance.now()`, from the click to the first animation frame at which the chart holds its
data. The actions are interleaved repeat by repeat; the baseline, measured the same way in the same run, is a
`fetch('/healthz')` from the page (the floor any click pays for a round trip). Results go to stdout and to
bench/results/dashboard.json.
"""

import argparse
import platform
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import publish
from tests.live import Server

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"

# Each action: the click, and the test that its picture is drawn (checked once per animation frame).
WAIT = """async () => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const start = performance.now();
  await CLICK;
  for (;;) {
    await frame();
    if (READY) return performance.now() - start;
    if (performance.now() - start > 60000) return -1;
  }
}"""

ACTIONS: dict[str, tuple[str, str]] = {
    "baseline: fetch /healthz": ("fetch('/healthz').then((r) => r.text())", "true"),
    "preset rate 0.2": (
        "document.querySelector('[data-testid=\"preset-rate-0.2\"]').click()",
        "Number(document.querySelector('[data-testid=\"chart-loss\"]').dataset.drawnRows) > 0",
    ),
    "Run button": (
        "document.querySelector('[data-testid=\"run-submit\"]').click()",
        "Number(document.querySelector('[data-testid=\"chart-loss\"]').dataset.drawnRows) > 0",
    ),
    "sweep of 1,001 rates": (
        "document.querySelector('[data-testid=\"preset-chapter\"]').click()",
        "document.querySelector('[data-testid=\"sweep-view\"]').dataset.state === 'done'"
        " && !!document.querySelector('[data-testid=\"sweep-chart\"] canvas')",
    ),
    "LR finder": (
        "document.querySelector('[data-testid=\"lr-finder\"]').click()",
        "document.querySelector('[data-testid=\"finder-view\"]').dataset.state === 'done'"
        " && !!document.querySelector('[data-testid=\"finder-chart\"] canvas')",
    ),
}


def script(click: str, ready: str) -> str:
    """The timed function: the click and the readiness test are written into it (the page's CSP forbids eval)."""
    return WAIT.replace("CLICK", click).replace("READY", ready)


def measure(repeats: int, warmup: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[float]] = {name: [] for name in ACTIONS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = Server(Path(tmp) / "descent.sqlite3", DESCENT_LOG_FORMAT="text")
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for repeat in range(warmup + repeats):
                for name, (click, ready) in ACTIONS.items():
                    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto("/")
                    page.locator('[name="steps"]').wait_for()
                    ms = float(page.evaluate(script(click, ready)))
                    context.close()
                    if ms < 0:
                        raise RuntimeError(f"{name}: nothing drawn within 60 s")
                    if repeat >= warmup:
                        samples[name].append(ms)
        finally:
            browser.close()
            server.stop()
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    samples = measure(args.repeats, args.warmup)
    base = statistics.median(samples["baseline: fetch /healthz"])
    lines = [f"{'action':<28} {'median ms':>10} {'min':>8} {'max':>8} {'x baseline':>11}"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<28} {median:>10.1f} {min(values):>8.1f} {max(values):>8.1f} {median / base:>11.1f}")
    document: dict[str, Any] = {
        "benchmark": "dashboard click to first point",
        "when": datetime.now(UTC).isoformat(),
        "machine": platform.platform(),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "samples_ms": samples,
        "medians_ms": {name: statistics.median(values) for name, values in samples.items()},
    }
    publish("\n".join(lines), document, args.output)


if __name__ == "__main__":
    main()
