"""Run order of the whole suite (tests/, notebooks/ and app/), and the browser check of CI.

The browser tests (tests/browser) go first: they are the longest files, and ``make test`` runs the suite on two
workers (pytest-xdist, ``--dist loadfile --no-loadscope-reorder``: a file, so a notebook's cells, runs whole on
one worker, in this order), so the two browser files start at once and the other files fill the workers around
them. Each browser file closes its Chromium when it ends (``tests/browser/conftest.py``), so the tests that follow
it in the same process see no running asyncio loop.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    in_browser = [item for item in items if BROWSER_TESTS in Path(str(item.path)).parents]
    others = [item for item in items if BROWSER_TESTS not in Path(str(item.path)).parents]
    items[:] = in_browser + others


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
