"""Every notebook in a real JupyterLab in Chromium: it runs without an error in the page, its figures and widgets
render, and moving a slider of its explorer redraws the figure in the page.

One ``jupyter lab`` serves copies of ``notebooks/`` for the whole module (so running a notebook never rewrites
the committed one); each test opens one notebook in a fresh workspace, clears it, runs all cells and looks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_pages import Explorer, KernelErrors, failure_texts, save_scrolled
from browser_servers import LOGS, ROOT, SCREENSHOTS, copy_content, start_lab

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
RUN_TIMEOUT_MS = 240_000

STDERR_OUTPUTS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
PNG_OUTPUTS = '.jp-OutputArea-output[data-mime-type="image/png"]'

CURRENT = "window.jupyterapp?.shell.currentWidget"
KERNEL_IDLE = f"() => {CURRENT}?.sessionContext?.session?.kernel?.status === 'idle'"
EXECUTION_COUNTS = f"""() => {{
    const cells = {CURRENT}.content.model.cells, counts = [];
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type === 'code') counts.push(cell.executionCount ?? null);
    }}
    return counts;
}}"""


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """``jupyter lab`` on 127.0.0.1, a free port and a token, serving a copy of ``notebooks/``; always stopped."""
    home = tmp_path_factory.mktemp("lab")
    server = start_lab(home, copy_content(home, "notebooks"), LOGS / "jupyter-lab.log")
    try:
        yield server
    finally:
        server.stop()


def _committed(path: Path) -> dict[str, int]:
    """How many figures (image/png) and widgets the committed notebook shows."""
    outputs = [o for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    return {
        "figures": sum("image/png" in o.get("data", {}) for o in outputs),
        "widgets": sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs),
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_explorer_redraws(page, lab, path):
    kernel_errors = KernelErrors(page)
    page.goto(f"{lab.url}/lab/tree/notebooks/{path.name}?reset&token={lab.token}")
    page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    try:
        # Start from nothing, so every output below comes from this run in this page.
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        counts = page.evaluate(EXECUTION_COUNTS)
        assert counts and set(counts) == {None}
        page.evaluate("""() => {
            window.runAllResult = 'running';
            window.jupyterapp.commands.execute('notebook:run-all-cells')
                .then(ok => { window.runAllResult = ok; }, error => { window.runAllResult = String(error); });
        }""")
        page.wait_for_function("() => window.runAllResult !== 'running'", timeout=RUN_TIMEOUT_MS)
        assert page.evaluate("() => window.runAllResult") is True, "a cell failed: Run All stopped"
        page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
        assert page.evaluate(EXECUTION_COUNTS) == list(range(1, len(counts) + 1))

        notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
        errors = page.locator(f".jp-Notebook {STDERR_OUTPUTS}")
        assert errors.count() == 0, f"error output in the page: {errors.first.inner_text()[:2000]}"
        assert failure_texts(notebook.inner_text()) == []

        committed = _committed(path)
        figures = page.locator(f".jp-Notebook {PNG_OUTPUTS} img")
        assert figures.count() == committed["figures"], "the page shows a different number of figures than the notebook"
        for i in range(figures.count()):
            assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), f"figure {i} did not load"
        explorers = Explorer.all_in(notebook)
        assert len(explorers) == committed["widgets"] >= 1
        for explorer in explorers:
            explorer.settled()
        save_scrolled(page, page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer"), SCREENSHOTS / path.stem)

        # The notebook's last explorer: move the shift one step, as a student would.
        explorer = explorers[-1]
        before, digest = explorer.view(), explorer.digest()
        h, w, m, s = before.layout
        key, shift = ("ArrowRight", s + 1) if s + 1 < m else ("ArrowLeft", s - 1)
        after = explorer.press("shift", key)
        assert after is not None, "the shift slider did not move"
        assert after.caption_layout == after.layout == (h, w, m, shift)
        assert after.src != before.src and explorer.digest() != digest, "the figure in the page did not change"
        explorer.screenshot(SCREENSHOTS / f"{path.stem}-explorer-shift-{shift}.png")

        assert failure_texts(notebook.inner_text()) == []
        assert errors.count() == 0
        assert kernel_errors.messages == []
    finally:
        page.evaluate("() => window.jupyterapp.serviceManager.sessions.shutdownAll()")
