"""Browser tests: Debian's Chromium, driven by Playwright for Python, against real JupyterLab and Voilà servers.

Without Chromium (``/usr/bin/chromium``, or ``SWIN_LAB_CHROMIUM``) or the ``playwright`` package these tests are
skipped with the reason. ``SWIN_LAB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns that skip into a failure, and
fails the run if no browser test passed at all, so CI cannot go green without them.

Screenshots and server logs go to ``test-artifacts/`` (git-ignored); a failing test leaves ``FAILED-<test>.png``.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from browser_pages import open_page, save_if_failed
from browser_servers import LOGS, SCREENSHOTS

CHROMIUM = os.environ.get("SWIN_LAB_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("SWIN_LAB_REQUIRE_BROWSER", "") == "1"  # see also tests/conftest.py
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or ``None`` if they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does this)"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser():
    """Chromium, launched once per test file; skipped (or, with SWIN_LAB_REQUIRE_BROWSER=1, failed) if missing.

    Playwright's sync API runs an asyncio loop while its browser is open, and an explorer that sees a running loop
    defers its redraws to it (as in a kernel): closed at the end of each file, it leaves the tests that follow in
    the same process a process without that loop."""
    reason = browser_unavailable()
    if reason:
        if REQUIRE:
            pytest.fail(f"SWIN_LAB_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    import matplotlib.font_manager  # noqa: F401  build matplotlib's font cache now, not as stderr in a kernel
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh page for one test; a screenshot of it is kept if the test fails."""
    with open_page(browser) as page:
        yield page
        save_if_failed(request, page)
