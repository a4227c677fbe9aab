"""bench/bench_redraw.py runs and writes the JSON its readers expect (a smoke run: no timing is checked here;
``make bench`` measures speed)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import ipywidgets
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_redraw", ROOT / "bench" / "bench_redraw.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _changes(bench, control, count, alternate=False):
    """The values the bench would set, applied to a bare control."""
    start, queue, rng = control.value, [], bench.random.Random(0)
    values = []
    for _ in range(count):
        value = bench._next_value(control, start, alternate, queue, rng)
        assert value != control.value
        control.value = value
        values.append(control.value)
    return values


def test_values_are_valid_distinct_and_cover_the_positions(bench):
    size = ipywidgets.IntSlider(value=56, min=7, max=56, step=7)
    assert _changes(bench, size, 4, alternate=True) == [49, 56, 49, 56]
    buttons = ipywidgets.ToggleButtons(options=[("a", 1.5), ("b", -2.0), ("c", 7.0)], value=1.5)
    assert set(_changes(bench, buttons, 2)) == {-2.0, 7.0}
    shift = ipywidgets.IntSlider(value=3, min=0, max=6)
    assert set(_changes(bench, shift, 6)) == {0, 1, 2, 4, 5, 6}  # every other position, once
    scale = ipywidgets.FloatLogSlider(value=1.0, base=10, min=-1, max=4, step=0.05)
    grid = bench._positions(scale)
    assert len(grid) == 101 and grid[0] == pytest.approx(0.1) and grid[-1] == pytest.approx(1e4)
    assert all(value in grid for value in _changes(bench, scale, 10))


def test_quick_run_writes_every_key(bench, tmp_path, capsys):
    output = tmp_path / "redraw.json"
    output.write_text(json.dumps({"runs": {"before": {"kept": True}}}))
    run = bench.main(["--quick", "--stages", "region_labels", "--explorers", "numerics", "--output", str(output), "--label", "smoke"])
    stored = json.loads(output.read_text())["runs"]
    assert stored["before"] == {"kept": True} and stored["smoke"] == run
    printed = capsys.readouterr().out
    assert "region_labels" in printed and "numerics" in printed and "out of reach" in printed

    # the stage part, with the keys of earlier runs
    stage = run["stages"]["region_labels"]
    assert set(stage) == set(bench.LAYOUTS)
    for result in stage.values():
        assert {"build_ms", "median_ms", "max_ms", "max_picker_ms", "median_picker_ms", "median_picker_cpu_ms"} <= set(result)
        assert list(result["sliders"]) == ["height", "width", "window", "shift"]
    assert {"slowest_picker_change_56x56_ms", "slowest_picker_median_56x56_ms", "budget_ms", "changes_per_slider"} <= set(run)

    # the notebook explorer: every control, three changes each, each to a new value
    (layout,) = run["explorers"]["numerics"]
    result = run["explorers"]["numerics"][layout]
    assert list(result["sliders"]) == ["dtype", "window_index", "logit_scale", "head", "fill"]
    for entry in result["sliders"].values():
        assert entry["changes"] == len(entry["values"]) == 3
        assert all(a != b for a, b in zip(entry["values"], entry["values"][1:]))
        assert entry["max_ms"] >= entry["median_ms"] > 0 and entry["slowest_value"] in entry["values"]
    assert "out of reach" in result["note"] and run["explorer_layouts"]["numerics"]["large_layout"] == layout

    # the summary: the slowest change at the large layouts, at 56x56, and every control over the budget
    large = run["slowest_change_large_layout"]
    assert set(large) == {"region_labels", "numerics"} and large["numerics"]["layout"] == layout
    assert run["slowest_change_56x56_ms"] == stage["56x56/7/3"]["max_ms"] >= run["slowest_picker_change_56x56_ms"]
    assert run["slowest_change_large_layout_ms"] == max(entry["max_ms"] for entry in large.values())
    over = {(e["explorer"], e["layout"], e["control"]) for e in run["over_budget"]}
    expected = {
        (name, layout_name, control)
        for family in ("stages", "explorers") for name, layouts in run[family].items()
        for layout_name, res in layouts.items() for control, entry in res["sliders"].items() if entry["max_ms"] > run["budget_ms"]
    }
    assert over == expected


def test_unknown_names_are_refused(bench, tmp_path):
    with pytest.raises(SystemExit):
        bench.main(["--explorers", "no_such", "--output", str(tmp_path / "x.json")])


def test_a_redraw_that_draws_the_same_picture_is_timed(bench):
    """The broadcast stage shows one window's operands: moving the height from 9 to 6 keeps window 8's labels,
    so the new PNG equals the old one (no observer of the image fires); the change is still one redraw, timed."""
    from swin_viz.widgets import explorer

    view = explorer("broadcast")
    before = bytes(view.image.value)
    wall, cpu = bench.time_changes(view, "height", [6])
    assert bytes(view.image.value) == before and view.draw_count == 2
    assert wall[0] > 0 and cpu[0] > 0
    view.close()


# --------------------------------------------------------------------------- #
# Issue 13, item 8: a quick run never overwrites the committed results        #
# --------------------------------------------------------------------------- #
def _git_ignored(path: Path) -> bool:
    return subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(path)], check=False).returncode == 0


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_quick_runs_write_to_a_git_ignored_folder(bench):
    mask_spec = importlib.util.spec_from_file_location("bench_mask", ROOT / "bench" / "bench_mask.py")
    mask_bench = importlib.util.module_from_spec(mask_spec)
    sys.modules[mask_spec.name] = mask_bench  # its dataclass looks its module up there
    try:
        mask_spec.loader.exec_module(mask_bench)
    finally:
        sys.modules.pop(mask_spec.name, None)
    committed = ROOT / "bench" / "results"
    assert mask_bench.output_dir(None, quick=False) == committed
    assert mask_bench.output_dir(None, quick=True) == committed / "quick"
    assert mask_bench.output_dir(Path("elsewhere"), quick=True) == Path("elsewhere")
    assert bench.DEFAULT_OUTPUT == committed / "redraw.json" and bench.QUICK_OUTPUT == committed / "quick" / "redraw.json"
    for path in (mask_bench.output_dir(None, quick=True) / "mask.json", bench.QUICK_OUTPUT):
        assert _git_ignored(path)
    for path in (committed / "mask.json", committed / "mask.png", bench.DEFAULT_OUTPUT):
        assert not _git_ignored(path)


def test_a_quick_run_leaves_the_full_results_alone(bench, tmp_path, monkeypatch):
    full, quick = tmp_path / "redraw.json", tmp_path / "quick" / "redraw.json"
    full.write_text('{"runs": {"current": {"stages": "eleven of them"}}}\n')
    before = full.read_bytes()
    monkeypatch.setattr(bench, "DEFAULT_OUTPUT", full)
    monkeypatch.setattr(bench, "QUICK_OUTPUT", quick)
    run = bench.main(["--quick", "--stages", "region_labels", "--explorers"])
    assert full.read_bytes() == before
    assert json.loads(quick.read_text())["runs"]["current"] == run
