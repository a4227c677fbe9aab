"""The reading path: links between the notebooks, credits and sources, the glossary, and what a code host shows.

Read from the committed files (the notebooks as stored, with their outputs), as a reader on a code host sees them.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import ipywidgets
import pytest

from swin_viz.widgets import cyclic_shift_explorer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
APP = ROOT / "app" / "explorer.ipynb"
GLOSSARY = ROOT / "notebooks" / "glossary.md"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The official tracker's questions, and the notebook that answers each.
QUESTIONS = {38: "04", 125: "02", 194: "02", 42: "04", 179: "05", 52: "05"}


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def links(markdown: str) -> list[str]:
    """The targets of the markdown links ``[text](target)`` in ``markdown``."""
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def test_there_are_notebooks_to_read():
    assert len(NOTEBOOKS) >= 10 and NOTEBOOKS[0].name == "00_overview.ipynb"


@pytest.mark.parametrize("path", [*NOTEBOOKS, APP], ids=lambda p: p.name)
def test_every_explorer_cell_stores_its_picture_beside_the_widget(path):
    """A code host cannot run a widget: each explorer's stored output also carries its first picture as PNG."""
    explorer_outputs = [
        output
        for cell in cells(path)
        if cell["cell_type"] == "code" and re.search(r"\w+_explorer\([^)]*\)\s*$", text(cell))
        for output in cell["outputs"]
        if WIDGET_VIEW in output.get("data", {})
    ]
    assert explorer_outputs, f"{path.name} shows no explorer"
    for output in explorer_outputs:
        assert "image/png" in output["data"], "an explorer cell without a picture for code hosts"
        assert base64.b64decode(output["data"]["image/png"]).startswith(PNG_SIGNATURE)


def test_an_explorer_displays_as_the_widget_its_picture_and_its_text():
    explorer = cyclic_shift_explorer()
    try:
        bundle = explorer._repr_mimebundle_()
        widget_only = ipywidgets.VBox._repr_mimebundle_(explorer)  # what ipywidgets itself would display
        assert bundle["text/plain"] == widget_only["text/plain"] == repr(explorer)
        assert bundle[WIDGET_VIEW] == widget_only[WIDGET_VIEW]
        png = base64.b64decode(bundle["image/png"])
        assert png.startswith(PNG_SIGNATURE)
        # the stored picture has the widget's size (bytes 16-24 of a PNG: width and height)
        assert png[16:24] == explorer.image.value[16:24]
        assert len(png) < len(explorer.image.value)
    finally:
        explorer.close()


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=lambda i: NOTEBOOKS[i].name)
def test_every_notebook_ends_with_links_to_its_neighbours_the_contents_and_the_glossary(index):
    last = cells(NOTEBOOKS[index])[-1]
    assert last["cell_type"] == "markdown"
    targets = links(text(last))
    expected = ["glossary.md"]
    if index > 0:
        expected += [NOTEBOOKS[index - 1].name, "00_overview.ipynb"]
    if index + 1 < len(NOTEBOOKS):
        expected.append(NOTEBOOKS[index + 1].name)
    assert set(expected) <= set(targets), f"missing {set(expected) - set(targets)}"
    for target in targets:
        if not target.startswith("http"):
            assert (NOTEBOOKS[index].parent / target).exists(), target


def test_the_overview_links_every_notebook_and_the_glossary():
    targets = {target for cell in cells(NOTEBOOKS[0]) if cell["cell_type"] == "markdown" for target in links(text(cell))}
    assert {path.name for path in NOTEBOOKS[1:]} | {"glossary.md"} <= targets


def test_the_sources_are_credited_with_links():
    overview = "\n".join(text(cell) for cell in cells(NOTEBOOKS[0]))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for where in (overview, readme):
        assert "swin transformer的SW-MSA中的masked理解" in where  # the walkthrough
        assert "https://github.com/WZMIAOMIAO/deep-learning-for-image-processing" in where
        assert "https://github.com/microsoft/Swin-Transformer/blob/0ae00c97cb34ac03d40683c8319ccddd1b36ad8d/models/swin_transformer.py" in where
        assert "https://arxiv.org/abs/2103.14030" in where
        for number in QUESTIONS:
            assert f"https://github.com/microsoft/Swin-Transformer/issues/{number}" in where


@pytest.mark.parametrize("number", QUESTIONS)
def test_each_students_question_links_its_issue_where_it_is_answered(number):
    path = next(p for p in NOTEBOOKS if p.name.startswith(QUESTIONS[number]))
    markdown = "\n".join(text(cell) for cell in cells(path) if cell["cell_type"] == "markdown")
    assert f"https://github.com/microsoft/Swin-Transformer/issues/{number}" in markdown


def test_the_glossary_gives_every_term_its_chinese():
    rows = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines() if line.startswith("| ") and "---" not in line]
    terms = {row.split("|")[1].strip(): row for row in rows}
    for term in ["seam", "band", "region", "window", "token", "oracle", "clamp", "`nW`", "`N`", "`M`", "`s`", "`Wh`, `Ww`", "`Mh`, `Mw`"]:
        assert term in terms, term
        chinese = terms[term].rstrip(" |").rsplit("|", 1)[1]
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"{term} has no Chinese"
    assert "N = M·M" in terms["`N`"] and "Wh*Ww" in terms["`N`"]


@pytest.mark.parametrize("path", [*NOTEBOOKS, APP], ids=lambda p: p.name)
def test_no_test_machinery_in_what_a_student_reads(path):
    for cell in cells(path):
        assert "NBVAL" not in text(cell), "mark the cell with nbval's cell tags instead"
