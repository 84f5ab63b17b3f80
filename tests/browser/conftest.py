"""The `browser_page` fixture: a Playwright page in Debian's headless Chromium.

Chromium comes from Debian (`apt-get install chromium`, at /usr/bin/chromium); Playwright's own
browser downloads are never used. Without it the browser tests skip with a loud reason, and fail
instead when MATE_REQUIRE_DOCKER=1 (as CI sets). A failing test leaves a screenshot of its page
in test-artifacts/. Pages may only reach loopback addresses: anything else is aborted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API keeps an event loop running in the test thread; the ORM calls that
# tests make around it are ordinary synchronous calls, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _unavailable(reason: str):
    reason = f"NO BROWSER: {reason} Browser tests cannot run; install it with `apt-get install -y chromium`."
    if os.environ.get("MATE_REQUIRE_DOCKER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium for the session (each test gets its own context and profile)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        _unavailable(f"the Python package playwright is not importable ({exc}).")
    with sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary user-data dir, removed on close.
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Exception as exc:
            _unavailable(f"{CHROMIUM} did not start ({type(exc).__name__}: {exc}).")
        try:
            yield browser
        finally:
            browser.close()


def _loopback_only(route):
    host = urlsplit(route.request.url).hostname or ""
    if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK_HOSTS:
        route.continue_()
    else:
        route.abort("blockedbyclient")


@pytest.fixture
def browser_page(chromium_browser, request):
    """A fresh page; a screenshot lands in test-artifacts/ when the test fails."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", _loopback_only)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed and not page.is_closed():
            folder = Path(request.config.rootpath) / "test-artifacts"
            folder.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[:180]
            try:
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a screenshot must not hide the real failure
                pass
        context.close()
