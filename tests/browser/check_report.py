"""Fail unless a pytest JUnit report shows the browser tests ran and passed: every notebook's explorers, and the app's.

``.ci/run`` calls this after ``make test``, so a change that stops collecting ``tests/browser`` (a renamed folder,
a narrowed ``testpaths``, a glob that finds no notebook, a skip) fails CI instead of passing silently. It prints
only when it fails.

Usage: ``python tests/browser/check_report.py test-artifacts/pytest-report.xml``
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def browser_results(report: Path) -> dict[str, str]:
    """``{test name: outcome}`` for every test under ``tests/browser`` in the report."""
    results = {}
    for case in ElementTree.parse(report).iter("testcase"):
        if case.get("classname", "").startswith("tests.browser."):
            outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
            results[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return results


def main(report: Path) -> int:
    if not report.is_file():
        print(f"browser tests: no report at {report}", file=sys.stderr)
        return 1
    results = browser_results(report)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    passed = [name for name, outcome in results.items() if outcome == "passed"]
    problems = {name: outcome for name, outcome in results.items() if outcome != "passed"}
    if not notebooks:
        problems["notebooks/[0-9]*.ipynb"] = "no notebook found"
    for notebook in notebooks:
        if not any(name.startswith("tests.browser.test_lab::") and f"[{notebook.stem}/" in name for name in passed):
            problems[f"tests.browser.test_lab: {notebook.name}"] = "missing"
    if not any(name.startswith("tests.browser.test_app::") for name in passed):
        problems["tests.browser.test_app"] = "missing"
    if problems:
        print(f"browser tests: {len(passed)} passed, but:", file=sys.stderr)
        for name, outcome in sorted(problems.items()):
            print(f"  {outcome}: {name}", file=sys.stderr)
        return 1
    return 0  # silent: pytest's summary stays the last line of the CI log


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
