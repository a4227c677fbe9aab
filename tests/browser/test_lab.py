"""Every notebook in a real JupyterLab in Chromium: it runs without an error in the page, its figures and widgets
render, and moving a slider of its explorer redraws the figure in the page.

One ``jupyter lab`` serves copies of ``notebooks/`` (so running a notebook never rewrites the committed one) to one
page for the whole module; each test opens one notebook there, clears it, runs all cells, looks, and closes it
with its kernel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser_pages import Explorer, KernelWatch, failure_texts, open_page, save_if_failed, save_scrolled
from browser_servers import LOGS, ROOT, SCREENSHOTS, copy_content, start_lab

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
RUN_TIMEOUT_MS = 240_000

STDERR_OUTPUTS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
PNG_OUTPUTS = '.jp-OutputArea-output[data-mime-type="image/png"] img'

# The notebook under test is window.panel (a NotebookPanel); see the notebook fixture.
OPEN_NOTEBOOK = """async path => {
    window.panel = await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await window.panel.context.ready;
    await window.panel.sessionContext.ready;
    return window.panel.id;
}"""
KERNEL_IDLE = "() => window.panel.sessionContext.session?.kernel?.status === 'idle'"
EXECUTION_COUNTS = """() => {
    const cells = window.panel.content.model.cells, counts = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type === 'code') counts.push(cell.executionCount ?? null);
    }
    return counts;
}"""
RUN_ALL = """() => {
    window.runAllResult = 'running';
    window.jupyterapp.commands.execute('notebook:run-all-cells')
        .then(ok => { window.runAllResult = ok; }, error => { window.runAllResult = String(error); });
}"""
CLOSE_NOTEBOOK = """async () => {
    if (!window.panel) return;
    await window.panel.sessionContext.shutdown();
    window.panel.dispose();  // unsaved by design: no "save changes?" dialog
    window.panel = undefined;
}"""


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """``jupyter lab`` on 127.0.0.1, a free port and a token, serving a copy of ``notebooks/``; always stopped."""
    home = tmp_path_factory.mktemp("lab")
    server = start_lab(home, copy_content(home, "notebooks"), LOGS / "jupyter-lab.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """JupyterLab loaded once in one page, its file browser folded away: ``(page, kernel)``."""
    with open_page(browser) as page:
        kernel = KernelWatch(page)
        page.goto(f"{lab.url}/lab?reset&token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate("() => window.jupyterapp.restored.then(() => window.jupyterapp.shell.collapseLeft())")
        yield page, kernel


@pytest.fixture
def notebook(lab_page, request):
    """Open ``notebooks/<path.name>`` in the lab page and wait for its kernel: ``(page, panel, kernel)``.

    Afterwards the notebook is closed unsaved and its kernel shut down (after a screenshot if the test failed).
    """
    page, kernel = lab_page
    kernel.errors.clear()
    kernel.pending.clear()  # requests to the last notebook's kernel, shut down unanswered
    path: Path = request.node.callspec.params["path"]
    try:
        panel_id = page.evaluate(OPEN_NOTEBOOK, f"notebooks/{path.name}")
        page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
        yield page, page.locator(f"[id='{panel_id}']"), kernel
        save_if_failed(request, page)
    finally:
        page.evaluate(CLOSE_NOTEBOOK)


def _committed(path: Path) -> dict[str, int]:
    """How many figures (image/png) and widgets the committed notebook shows. An explorer's output carries its
    picture too, for pages that cannot run widgets; where the widget runs, it is shown instead."""
    outputs = [o.get("data", {}) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    widgets = ["application/vnd.jupyter.widget-view+json" in data for data in outputs]
    return {
        "figures": sum("image/png" in data and not widget for data, widget in zip(outputs, widgets)),
        "widgets": sum(widgets),
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_explorer_redraws(notebook, path):
    page, panel, kernel = notebook
    # Start from nothing, so every output below comes from this run in this page.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    counts = page.evaluate(EXECUTION_COUNTS)
    assert counts and set(counts) == {None}
    page.evaluate(RUN_ALL)
    page.wait_for_function("() => window.runAllResult !== 'running'", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("() => window.runAllResult") is True, "a cell failed: Run All stopped"
    page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
    kernel.wait_until_idle(RUN_TIMEOUT_MS)
    assert page.evaluate(EXECUTION_COUNTS) == list(range(1, len(counts) + 1))

    cells = panel.locator(".jp-Notebook")
    errors = cells.locator(STDERR_OUTPUTS)
    assert errors.count() == 0, f"error output in the page: {errors.first.inner_text()[:2000]}"
    assert failure_texts(cells.inner_text()) == []
    committed = _committed(path)
    figures = cells.locator(PNG_OUTPUTS)
    assert figures.count() == committed["figures"], "the page shows another number of figures than the notebook"
    for i in range(figures.count()):
        assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), f"figure {i} did not load"
    explorers = Explorer.all_in(cells, kernel)
    assert len(explorers) == committed["widgets"] >= 1
    for explorer in explorers:
        explorer.settled()
    if os.environ.get("SWIN_LAB_FULL_SCREENSHOTS") == "1":  # the whole notebook, scrolled: about 1 s a notebook
        save_scrolled(page, panel.locator(".jp-WindowedPanel-outer"), SCREENSHOTS / path.stem)

    # The notebook's last explorer: move the shift one step (or, if it has none, its first slider), as a student would.
    explorer = explorers[-1]
    before, digest = explorer.view(), explorer.digest()
    name = "shift" if "shift" in before.sliders else next(iter(before.sliders))
    value = before.value(name)
    key, moved_to = ("ArrowRight", value + 1) if value < before.bounds(name)[1] else ("ArrowLeft", value - 1)
    after = explorer.press(name, key)
    assert after is not None, f"the {name} slider did not move"
    assert after.value(name) == moved_to
    if after.layout is not None and after.caption_layout is not None:
        assert after.caption_layout == after.layout
    assert after.src != before.src and explorer.digest() != digest, "the figure in the page did not change"
    explorer.screenshot(SCREENSHOTS / f"{path.stem}-explorer-{name.replace(' ', '_')}-{moved_to}.png")

    assert failure_texts(cells.inner_text()) == []
    assert errors.count() == 0
    kernel.wait_until_idle()
