"""Run order and grouping of the whole suite (tests/, notebooks/ and app/).

The browser tests (tests/browser) go last. Playwright's sync API keeps an asyncio event loop running in the
test process while its browser is open (the browser fixture lives for the whole session). An explorer that sees a
running loop defers its redraws to it, as it does in a kernel, so widget tests after a browser test would never
see their redraw. Run last, the browser tests leave every other test a process without that loop.

``make test`` runs the suite on two workers (pytest-xdist, ``--dist loadfile``): each file runs whole on one
worker, so a notebook's cells run in order in one kernel; the browser test files, queued last, start when every
other file has been handed out, and no other test runs after them in their worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    in_browser = [item for item in items if BROWSER_TESTS in Path(str(item.path)).parents]
    others = [item for item in items if BROWSER_TESTS not in Path(str(item.path)).parents]
    items[:] = others + in_browser


#: browser tests passed in this run, counted where the reports arrive (this process, or pytest-xdist's controller)
_browser_passed: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid.replace("\\", "/").startswith("tests/browser/"):
        _browser_passed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """``SWIN_LAB_REQUIRE_BROWSER=1`` (``.ci/run``): a run in which no browser test passed fails."""
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller decides
        return
    if os.environ.get("SWIN_LAB_REQUIRE_BROWSER", "") == "1" and exitstatus == pytest.ExitCode.OK and not _browser_passed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line("SWIN_LAB_REQUIRE_BROWSER=1 but no browser test passed", red=True)
