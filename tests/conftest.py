"""Run order: the browser tests (tests/browser) go last.

Playwright's sync API keeps an asyncio event loop running in the test process while its browser is open
(the browser fixture lives for the whole session). An explorer that sees a running loop defers its
redraws to it, as it does in a kernel, so widget tests after a browser test would never see their redraw.
Run last, the browser tests leave every other test a process without that loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    in_browser = [item for item in items if BROWSER_TESTS in Path(str(item.path)).parents]
    others = [item for item in items if BROWSER_TESTS not in Path(str(item.path)).parents]
    items[:] = others + in_browser
