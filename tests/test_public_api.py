"""swin_viz uses only the public API of its dependencies, and no module takes another module's private names.

Read from the source (``ast``), not by running it: a private name of matplotlib or ipywidgets that changes in a
release would otherwise show up only as a wrong or slow picture.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "swin_viz"
SOURCES = sorted(PACKAGE.rglob("*.py"))
#: The project's scripts: held to the same public-API rule (their length is their own business).
SCRIPTS = sorted((PACKAGE.parent / "bench").glob("*.py")) + sorted((PACKAGE.parent / "tools").glob("*.py"))
#: The libraries whose classes swin_viz subclasses: an attribute ``self._x`` of such a subclass must not be a name
#: the library uses (it would read or overwrite the library's own private state).
LIBRARIES = ("matplotlib", "ipywidgets", "traitlets")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=None)
def _library_names() -> frozenset[str]:
    """Every identifier that starts with ``_`` in the sources of :data:`LIBRARIES`."""
    names: set[str] = set()
    for library in LIBRARIES:
        spec = importlib.util.find_spec(library)
        assert spec is not None and spec.submodule_search_locations, library
        for root in spec.submodule_search_locations:
            for path in Path(root).rglob("*.py"):
                names.update(re.findall(r"\b_[A-Za-z]\w*", path.read_text(encoding="utf-8", errors="replace")))
    return frozenset(names)


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    where = path.relative_to(PACKAGE.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno}: imports the private name {alias.name} from {node.module}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                if node.attr in _library_names():
                    found.append(f"{where}:{node.lineno}: self.{node.attr} is a name {'/'.join(LIBRARIES)} use")
            else:
                found.append(f"{where}:{node.lineno}: reads the private attribute {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "hasattr"):
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                name = node.args[1].value
                own = isinstance(node.args[0], ast.Name) and node.args[0].id == "self" and name not in _library_names()
                if _private(name) and not own:
                    found.append(f"{where}:{node.lineno}: {node.func.id}(..., {name!r})")
    return found


@pytest.mark.parametrize("path", SOURCES + SCRIPTS, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_private_names_of_other_modules(path):
    assert _findings(path) == []


def test_the_scan_finds_what_it_forbids(tmp_path):
    """The scan itself can fail: each forbidden form in a small module is reported."""
    sample = PACKAGE / "_scan_sample.py"
    sample.write_text(
        "from matplotlib.text import _get_textbox\n"
        "import matplotlib\n"
        "class A(matplotlib.artist.Artist):\n"
        "    def f(self, fig):\n"
        "        self._axes = None\n"
        "        self._mine_only = 1\n"
        "        return fig._suptitle, getattr(fig, '_get_renderer')\n"
    )
    try:
        found = _findings(sample)
    finally:
        sample.unlink()
    assert len(found) == 4, found
    assert any("_get_textbox" in f for f in found)
    assert any("self._axes" in f for f in found)
    assert any("fig._suptitle" in f for f in found)
    assert any("'_get_renderer'" in f for f in found)


def test_no_module_is_too_long():
    """One module per stage, small enough to read: none over 600 lines."""
    lengths = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines()) for p in SOURCES}
    assert {name: n for name, n in lengths.items() if n > 600} == {}
