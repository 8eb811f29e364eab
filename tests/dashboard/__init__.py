"""End-to-end tests of the dashboard: a real server, Debian's Chromium driven by Playwright for Python."""
