"""bench/bench_memory.py runs and writes what it promises (a smoke run of two cell runs: memory flatness itself
is measured by ``make bench``, not checked here); a closed explorer's figure is freed on every run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "bench" / "bench_memory.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_every_explorer_type_is_measured(bench):
    from swin_viz.widgets import STAGES

    assert set(bench.explorer_types()) == set(STAGES) | {"block_leak", "pad_order", "numerics", "cost", "masks_in_the_wild", "relative_position"}
    assert bench.checkpoints(50) == [1, 10, 25, 50] and bench.checkpoints(10) == [1, 5, 10]


def test_a_short_run_writes_every_key_and_frees_the_closed_figures(bench, tmp_path, capsys):
    output = tmp_path / "memory.json"
    run = bench.main(["--runs", "2", "--types", "broadcast", "--output", str(output)])
    assert json.loads(output.read_text()) == run
    closed, kept = run["types"]["broadcast"], run["types"]["broadcast (not closed)"]
    assert list(closed["checkpoints"]) == ["1", "2"] and closed["rss_growth_mb"] == pytest.approx(
        closed["checkpoints"]["2"]["rss_mb"] - closed["checkpoints"]["1"]["rss_mb"], abs=0.15
    )
    # closed each time: only the current explorer's figure is alive; not closed: every run's figure is
    assert closed["live_figures_end"] == 1 and closed["closed_figures_alive_end"] == 0
    assert kept["live_figures_end"] == 2 and kept["left_after_closing_all"]["figures"] == 0
    assert "broadcast (not closed)" in capsys.readouterr().out
