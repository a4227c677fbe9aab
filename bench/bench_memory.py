"""Memory when an explorer cell is run again and again (``make bench``).

A student re-runs a cell like ``view = explorer("broadcast")`` many times. ipywidgets keeps every open widget
alive in the kernel until it is closed, so an old explorer that is not closed stays in memory with its figure;
one that is closed (``view.close()``) must let everything go. This script simulates re-running such a cell
``--runs`` times (50) for every explorer type: each run builds a new explorer with its defaults (as the cell
would), moves its first integer slider one step (a student's change: it fills the figure's per-layout caches),
closes the previous explorer, drops it and runs ``gc.collect()``. After runs 1, 10, 25 and 50 it records

* the process's resident memory (RSS, ``psutil``),
* the live :class:`~swin_viz.figures.LabFigure` objects and the live ``ipywidgets.Widget`` objects, counted
  over ``gc.get_objects()`` (ipywidgets 8.1 has no public, non-deprecated count of its open widgets:
  ``Widget.widgets`` warns that it is deprecated, so every live widget object is counted instead; an open
  widget is alive, because ipywidgets holds it),
* how many of the closed explorers' figures are still alive (a weak reference to each, taken before
  ``close()``).

The explorer types: every stage of :data:`swin_viz.widgets.STAGES` (``explorer(name)``) and the notebook
explorers ``block_leak_explorer``, ``pad_order_explorer``, ``numerics_explorer``, ``cost_explorer``,
``masks_in_the_wild_explorer``, ``relative_position_explorer``. For one
type (``broadcast``, the one the issue measured) it also runs the cell without closing the old explorers,
to show what ``close()`` saves.

It prints a table (per type: RSS after runs 1/10/25/50, growth from run 10 to the last run, live figures and
widgets at the end) and writes ``bench/results/memory.json``. ``--quick`` (10 runs, checkpoints 1/5/10) writes
to ``bench/results/quick/memory.json`` instead (git-ignored), so a quick run never overwrites committed
results.

    python bench/bench_memory.py             # 50 runs per type
    python bench/bench_memory.py --quick     # 10 runs per type, into bench/results/quick/
    python bench/bench_memory.py --types broadcast cost --runs 20
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Sequence

import ipywidgets
import matplotlib
import psutil

from swin_viz.widgets import (
    STAGES,
    Explorer,
    block_leak_explorer,
    cost_explorer,
    explorer,
    masks_in_the_wild_explorer,
    numerics_explorer,
    pad_order_explorer,
    relative_position_explorer,
)

RESULTS = Path(__file__).resolve().parent / "results"
#: Where ``--quick`` writes: git-ignored (the repository's .gitignore), so a smoke run never replaces committed results.
QUICK_RESULTS = RESULTS / "quick"
#: The type also run without closing the old explorers (the issue measured it: +319 MB and 50 figures kept).
NOT_CLOSED_TYPE = "broadcast"

_MB = 1024 * 1024


def explorer_types() -> dict[str, Callable[[], Explorer]]:
    """Every explorer type, by name, as a cell builds it (its defaults)."""
    builders: dict[str, Callable[[], Explorer]] = {name: (lambda name=name: explorer(name)) for name in STAGES}
    builders.update(
        block_leak=block_leak_explorer,
        pad_order=pad_order_explorer,
        numerics=numerics_explorer,
        cost=cost_explorer,
        masks_in_the_wild=masks_in_the_wild_explorer,
        relative_position=relative_position_explorer,
    )
    return builders


def _count(kind: type) -> int:
    """How many objects of ``kind`` the cyclic collector tracks now (after a collection, the live ones)."""
    with warnings.catch_warnings():  # isinstance() on torch's deprecated module attributes warns about them
        warnings.simplefilter("ignore", FutureWarning)
        return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / _MB


def _student_change(view: Explorer) -> None:
    """Move the first integer slider of ``view`` one step (down if it is at its maximum), as a student would."""
    for control in view.controls:
        if isinstance(control, ipywidgets.IntSlider) and control.max > control.min:
            up = control.value + control.step
            control.value = up if up <= control.max else control.value - control.step
            return


def checkpoints(runs: int) -> list[int]:
    """The runs after which memory is recorded: 1, 10, 25, 50 for 50 runs (1, 5, 10 for 10), always the last."""
    marks = {1, runs} | ({10, 25} if runs >= 50 else {max(1, runs // 2)})
    return sorted(mark for mark in marks if mark <= runs)


def rerun_cell(build: Callable[[], Explorer], runs: int, close: bool = True) -> dict[str, Any]:
    """Build an explorer ``runs`` times as a re-run cell does; close each old one first if ``close``.

    Returns the checkpoints (run -> RSS MB, live figures, live widgets, closed explorers' figures still alive),
    the RSS growth from the second checkpoint (run 10) to the last, and the ms per run.
    """
    gc.collect()
    widgets_before = _count(ipywidgets.Widget)
    view: Explorer | None = None
    made_figures: list[weakref.ref] = []  # every run's figure: what is alive is counted exactly, whatever else the process holds
    closed_figures: list[weakref.ref] = []
    marks = checkpoints(runs)
    points: dict[int, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for run in range(1, runs + 1):
        new = build()
        _student_change(new)
        made_figures.append(weakref.ref(new.figure))
        if view is not None and close:
            closed_figures.append(weakref.ref(view.figure))  # taken before close(), which drops view.figure
            view.close()
        view = new  # the cell's variable now names the new explorer; an old one not closed lives on in ipywidgets
        del new
        gc.collect()
        if run in marks:
            points[run] = {
                "rss_mb": round(_rss_mb(), 1),
                "live_figures": sum(1 for ref in made_figures if ref() is not None),
                "live_widgets": _count(ipywidgets.Widget) - widgets_before,
                "closed_figures_alive": sum(1 for ref in closed_figures if ref() is not None),
            }
    elapsed = time.perf_counter() - t0
    widgets_per_explorer = points[marks[0]]["live_widgets"]
    if view is not None:  # the last explorer of the cell: closed here so that the next type starts clean
        view.close()
        del view
    if not close:  # the old explorers are open: ipywidgets holds them, as the kernel would; close them all now
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            left_open = [obj for obj in gc.get_objects() if isinstance(obj, Explorer)]
        for widget in left_open:
            widget.close()
    gc.collect()
    first_growth = marks[1] if len(marks) > 2 else marks[0]
    last = points[marks[-1]]
    return {
        "closed": close,
        "runs": runs,
        "ms_per_run": round(elapsed / runs * 1000.0, 1),
        "widgets_per_explorer": widgets_per_explorer,
        "checkpoints": {str(run): point for run, point in points.items()},
        "growth_from_run": first_growth,
        "rss_growth_mb": round(last["rss_mb"] - points[first_growth]["rss_mb"], 1),
        "live_figures_end": last["live_figures"],
        "live_widgets_end": last["live_widgets"],
        # what each old explorer left alive: 0 if close() frees everything (the current explorer is not counted)
        "widgets_left_per_old_explorer": round((last["live_widgets"] - widgets_per_explorer) / (runs - 1), 1),
        "closed_figures_alive_end": last["closed_figures_alive"],
        "left_after_closing_all": {
            "figures": sum(1 for ref in made_figures if ref() is not None),
            "widgets": _count(ipywidgets.Widget) - widgets_before,
        },
    }


def table(results: dict[str, dict[str, Any]], marks: Sequence[int]) -> str:
    """One row per explorer type (and the not-closed run): RSS at each checkpoint, growth, what is alive at the end."""
    first = next(iter(results.values()))["growth_from_run"]
    header = (
        f"{'explorer':<24} " + " ".join(f"{'RSS@' + str(m):>8}" for m in marks)
        + f" {f'grow {first}->{marks[-1]}':>13} {'figures':>8} {'widgets':>8} {'old figs':>8} {'ms/run':>7}"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        cps = result["checkpoints"]
        lines.append(
            f"{name:<24} " + " ".join(f"{cps[str(m)]['rss_mb']:>8.1f}" for m in marks)
            + f" {result['rss_growth_mb']:>+13.1f} {result['live_figures_end']:>8} {result['live_widgets_end']:>8}"
            f" {result['closed_figures_alive_end']:>8} {result['widgets_left_per_old_explorer']:>6.1f} {result['ms_per_run']:>7.1f}"
        )
    lines.append(
        "(RSS in MB after that run; grow = RSS growth between the two runs; figures/widgets = live LabFigure and\n"
        " ipywidgets objects at the end, the current explorer's included (1 figure); old figs = closed explorers'\n"
        " figures still alive; w/old = widgets each old explorer left alive, 0 if close() freed them all)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, write the JSON; returns the results."""
    types = explorer_types()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 runs per type, written to bench/results/quick/")
    parser.add_argument("--runs", type=int, default=None, help="cell runs per type (default 50, or 10 with --quick)")
    parser.add_argument("--types", nargs="+", default=list(types), metavar="TYPE", help=f"explorer types: {', '.join(types)}")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: bench/results/memory.json, "
                        "or bench/results/quick/memory.json with --quick)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.types if name not in types]
    if unknown:
        parser.error(f"unknown type(s) {', '.join(unknown)} (choose from {', '.join(types)})")
    runs = args.runs or (10 if args.quick else 50)
    if runs < 2:
        parser.error("--runs must be at least 2")
    output = args.output or ((QUICK_RESULTS if args.quick else RESULTS) / "memory.json")
    matplotlib.use("Agg")
    load_before = os.getloadavg()
    rerun_cell(types[args.types[0]], 2)  # warm up imports, fonts and module-level caches once

    results: dict[str, dict[str, Any]] = {}
    for name in args.types:
        results[name] = rerun_cell(types[name], runs)
    if NOT_CLOSED_TYPE in args.types:
        results[f"{NOT_CLOSED_TYPE} (not closed)"] = rerun_cell(types[NOT_CLOSED_TYPE], runs, close=False)
    marks = checkpoints(runs)
    print(table(results, marks))
    closed = {name: r for name, r in results.items() if r["closed"]}
    worst = max(closed, key=lambda name: closed[name]["rss_growth_mb"])
    print(
        f"closed each time: largest RSS growth run {closed[worst]['growth_from_run']}->{runs}: "
        f"{closed[worst]['rss_growth_mb']:+.1f} MB ({worst}); live figures at the end: "
        f"{max(r['live_figures_end'] for r in closed.values())} at most; closed explorers' figures alive: "
        f"{sum(r['closed_figures_alive_end'] for r in closed.values())}; widgets left alive per closed explorer: "
        f"{max(r['widgets_left_per_old_explorer'] for r in closed.values())} at most"
    )
    load = [round(v, 2) for v in (*load_before, *os.getloadavg())]
    print(f"load average before {load[:3]}, after {load[3:]} on {os.cpu_count()} cores")

    run = {
        "runs_per_type": runs,
        "checkpoints": marks,
        "student_change": "the first integer slider moved one step, once per run",
        "largest_rss_growth_closed_mb": closed[worst]["rss_growth_mb"],
        "largest_rss_growth_closed_type": worst,
        "max_live_figures_end_closed": max(r["live_figures_end"] for r in closed.values()),
        "closed_figures_alive_end": sum(r["closed_figures_alive_end"] for r in closed.values()),
        "max_widgets_left_per_closed_explorer": max(r["widgets_left_per_old_explorer"] for r in closed.values()),
        "load_average_before_after": load,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "matplotlib": matplotlib.__version__,
            "ipywidgets": ipywidgets.__version__,
            "platform": platform.platform(),
        },
        "types": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(run, indent=1) + "\n")
    print(f"wrote {output}")
    return run


if __name__ == "__main__":
    main(sys.argv[1:])
