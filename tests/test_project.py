"""The project's own promises: one environment in two files, notebooks that read well and call the package."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import swin_viz
from swin_viz import figures, tensors, widgets

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment_requirements() -> dict[str, Requirement]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    return {Requirement(line).name: Requirement(line) for line in pip_section}


def test_environment_yml_and_pyproject_list_the_same_packages():
    project = _pyproject()["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["lab"], *project["optional-dependencies"]["test"]]
    from_pyproject = {Requirement(line).name: Requirement(line) for line in declared}
    from_environment = _environment_requirements()
    assert set(from_pyproject) == set(from_environment)
    for name, requirement in from_pyproject.items():
        if name != "torch":
            assert requirement.specifier == from_environment[name].specifier, name


def test_the_pinned_cpu_torch_satisfies_the_declared_range():
    torch_range = next(Requirement(r) for r in _pyproject()["project"]["dependencies"] if r.startswith("torch"))
    pinned = _environment_requirements()["torch"]
    makefile_pin = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert str(pinned.specifier) == f"=={makefile_pin}"
    assert torch_range.specifier.contains(makefile_pin)
    # an open range would let pip replace the CPU build with a newer multi-GB one
    assert not torch_range.specifier.contains("2.14.0")


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_notebooks_are_numbered_in_reading_order():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(len(NOTEBOOKS))) and len(NOTEBOOKS) >= 6
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme, f"README does not list {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_and_small(path):
    notebook = json.loads(path.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in code]
    assert counts == list(range(1, len(code) + 1)), "re-run the notebook top to bottom (make execute)"
    outputs = [output for cell in code for output in cell["outputs"]]
    assert outputs and not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a stage notebook shows its figures"
    texts = [text for o in outputs for text in o.get("data", {}).get("text/plain", [])]
    assert not [t for t in texts if "<Figure size" in t or " at 0x" in t], "unstable reprs break nbval"
    assert path.stat().st_size < 1_000_000


PACKAGE_NAMES = {name for module in (tensors, figures, widgets) for name in module.__all__} | set(swin_viz.__all__)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_calls_the_package_instead_of_redefining_it(path):
    notebook = json.loads(path.read_text())
    source = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    tree = ast.parse(source)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert not defined & PACKAGE_NAMES, f"{path.name} redefines {defined & PACKAGE_NAMES}"
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "matplotlib.pyplot" not in imported | modules, "figures belong in swin_viz.figures"
    assert any(module and module.startswith("swin_viz") for module in modules)
    # the notebook ends with a slider explorer
    last_code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"][-1]
    assert "_explorer(" in "".join(last_code["source"])
