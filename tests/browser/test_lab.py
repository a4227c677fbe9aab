"""The notebooks in a real JupyterLab in Chromium: a whole notebook runs without an error in the page and its figures
and widgets render; every explorer of every notebook renders there, and moving one of its sliders redraws its
figure in the page.

One ``jupyter lab`` serves copies of ``notebooks/`` (so running a notebook never rewrites the committed one) to one
page for the whole module. Whole notebooks (:data:`WHOLE`) are run cell by cell as a student would. The explorers
are run together in one more notebook, ``explorers.ipynb``, written into the copy: its first cell imports every
explorer function, then one cell per explorer cell of the notebooks, with the same source, in reading order. One
kernel draws them all: a notebook's other cells and its own kernel start add nothing the page shows of its
explorer, and nbval already runs every notebook top to bottom and compares its text outputs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from browser_pages import Explorer, KernelWatch, failure_texts, open_page, save_if_failed, save_scrolled
from browser_servers import LOGS, ROOT, SCREENSHOTS, copy_content, start_lab

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: The notebooks run whole in the page: the overview, with its walkthrough figures, text and the pipeline explorer.
WHOLE = [ROOT / "notebooks" / "00_overview.ipynb"]
RUN_TIMEOUT_MS = 240_000

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STDERR_OUTPUTS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
PNG_OUTPUTS = '.jp-OutputArea-output[data-mime-type="image/png"] img'
EXPLORER_CALL = re.compile(r"^(\w+_explorer)\(\)$")

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


def explorer_cells(path: Path) -> list[str]:
    """The explorer calls of a committed notebook (``pipeline_explorer``, ...): its cells that show a widget."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    calls = []
    for cell in cells:
        if any(WIDGET_VIEW in output.get("data", {}) for output in cell["outputs"]):
            match = EXPLORER_CALL.match("".join(cell["source"]).strip())
            assert match, f"{path.name}: an explorer cell is not one call `name_explorer()`: {cell['source']!r}"
            calls.append(match.group(1))
    return calls


#: (notebook stem, explorer function) of every explorer cell, in reading order.
EXPLORERS = [(path.stem, name) for path in NOTEBOOKS for name in explorer_cells(path)]


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """``jupyter lab`` on 127.0.0.1, a free port and a token, serving a copy of ``notebooks/`` with
    ``explorers.ipynb`` added; always stopped."""
    home = tmp_path_factory.mktemp("lab")
    root = copy_content(home, "notebooks")
    names = sorted({name for _, name in EXPLORERS})
    cells = [nbformat.v4.new_code_cell(f"from swin_viz.widgets import {', '.join(names)}")]
    cells += [nbformat.v4.new_code_cell(f"{name}()", metadata={"from": stem}) for stem, name in EXPLORERS]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=json.loads(NOTEBOOKS[0].read_text())["metadata"])
    nbformat.write(notebook, root / "notebooks" / "explorers.ipynb")
    server = start_lab(home, root, LOGS / "jupyter-lab.log")
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


def _open(page, name: str):
    """Open ``notebooks/<name>`` in the lab page and wait for its kernel; the panel's locator."""
    panel_id = page.evaluate(OPEN_NOTEBOOK, f"notebooks/{name}")
    page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
    return page.locator(f"[id='{panel_id}']")


def _run_all(page, kernel: KernelWatch) -> None:
    """Clear every output, run all cells as a student would, and check each ran once, in order."""
    # Start from nothing, so every output afterwards comes from this run in this page.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    counts = page.evaluate(EXECUTION_COUNTS)
    assert counts and set(counts) == {None}
    page.evaluate(RUN_ALL)
    page.wait_for_function("() => window.runAllResult !== 'running'", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("() => window.runAllResult") is True, "a cell failed: Run All stopped"
    page.wait_for_function(KERNEL_IDLE, timeout=RUN_TIMEOUT_MS)
    kernel.wait_until_idle(RUN_TIMEOUT_MS)
    assert page.evaluate(EXECUTION_COUNTS) == list(range(1, len(counts) + 1))


def _no_error_shown(cells) -> None:
    errors = cells.locator(STDERR_OUTPUTS)
    assert errors.count() == 0, f"error output in the page: {errors.first.inner_text()[:2000]}"
    assert failure_texts(cells.inner_text()) == []


@pytest.fixture
def notebook(lab_page, request):
    """``notebooks/<path.name>`` open in the lab page with its kernel ready: ``(page, panel, kernel)``.

    Afterwards the notebook is closed unsaved and its kernel shut down (after a screenshot if the test failed).
    """
    page, kernel = lab_page
    kernel.errors.clear()
    kernel.pending.clear()  # requests to the last notebook's kernel, shut down unanswered
    try:
        panel = _open(page, request.node.callspec.params["path"].name)
        yield page, panel, kernel
        save_if_failed(request, page)
    finally:
        page.evaluate(CLOSE_NOTEBOOK)


@pytest.fixture(scope="module")
def explorers(lab_page):
    """``explorers.ipynb`` run in the lab page: its explorers in cell order (open until the module ends)."""
    page, kernel = lab_page
    kernel.errors.clear()
    kernel.pending.clear()
    try:
        panel = _open(page, "explorers.ipynb")
        _run_all(page, kernel)
        cells = panel.locator(".jp-Notebook")
        _no_error_shown(cells)
        found = Explorer.all_in(cells, kernel)
        assert len(found) == len(EXPLORERS)
        yield page, cells, found
    finally:
        page.evaluate(CLOSE_NOTEBOOK)


def _committed(path: Path) -> dict[str, int]:
    """How many figures (image/png) and widgets the committed notebook shows. An explorer's output carries its
    picture too, for pages that cannot run widgets; where the widget runs, it is shown instead."""
    outputs = [o.get("data", {}) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    widgets = [WIDGET_VIEW in data for data in outputs]
    return {
        "figures": sum("image/png" in data and not widget for data, widget in zip(outputs, widgets)),
        "widgets": sum(widgets),
    }


@pytest.mark.parametrize("path", WHOLE, ids=lambda p: p.stem)
def test_whole_notebook_runs_in_jupyterlab_and_shows_its_figures_and_explorers(notebook, path):
    page, panel, kernel = notebook
    _run_all(page, kernel)
    cells = panel.locator(".jp-Notebook")
    _no_error_shown(cells)
    committed = _committed(path)
    figures = cells.locator(PNG_OUTPUTS)
    assert figures.count() == committed["figures"], "the page shows another number of figures than the notebook"
    for i in range(figures.count()):
        assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), f"figure {i} did not load"
    found = Explorer.all_in(cells, kernel)
    assert len(found) == committed["widgets"] >= 1
    for explorer in found:
        explorer.settled()
    if os.environ.get("SWIN_LAB_FULL_SCREENSHOTS") == "1":  # the whole notebook, scrolled: about 1 s a notebook
        save_scrolled(page, panel.locator(".jp-WindowedPanel-outer"), SCREENSHOTS / path.stem)


@pytest.fixture
def explorer_page(explorers, request):
    """:func:`explorers`, with a screenshot of the page afterwards if the test failed."""
    yield explorers
    save_if_failed(request, explorers[0])


@pytest.mark.parametrize(("stem", "name"), EXPLORERS, ids=[f"{stem}/{name}" for stem, name in EXPLORERS])
def test_explorer_renders_in_jupyterlab_and_a_slider_step_redraws_it(explorer_page, stem, name):
    page, cells, found = explorer_page
    explorer = found[EXPLORERS.index((stem, name))]
    before = explorer.settled()
    digest = explorer.digest()
    # Move the shift one step (or, if it has none, its first slider), as a student would.
    slider = "shift" if "shift" in before.sliders else next(iter(before.sliders))
    value = before.value(slider)
    key, moved_to = ("ArrowRight", value + 1) if value < before.bounds(slider)[1] else ("ArrowLeft", value - 1)
    after = explorer.press(slider, key)
    assert after is not None, f"the {slider} slider did not move"
    assert after.value(slider) == moved_to
    if after.layout is not None and after.caption_layout is not None:
        assert after.caption_layout == after.layout
    assert after.src != before.src and explorer.digest() != digest, "the figure in the page did not change"
    explorer.screenshot(SCREENSHOTS / f"{stem}-{name}-{slider.replace(' ', '_')}-{moved_to}.png")
    _no_error_shown(cells)
    explorer.kernel.wait_until_idle()
