"""How long an explorer takes to redraw after a slider change (``make bench``).

For every stage in :data:`swin_viz.widgets.STAGES`, at the running example
``9x9 / M=3 / s=1`` and at the Swin-T stage-1 size ``56x56 / M=7 / s=3``, the
script builds the explorer, then sets its sliders programmatically, one change
at a time: the shift, the window picker ``k`` and the query picker ``i`` (where
the stage has them) and the height (a change of grid size). Each change is
timed from the assignment ``slider.value = v`` to the finished redraw, i.e. new
PNG bytes in ``explorer.image.value`` (no asyncio loop runs here, so the
explorer redraws at once, as in the tests). It prints a table of medians (ms)
and the slowest change, and writes ``bench/results/redraw.json``.

    python bench/bench_redraw.py            # 10 changes per slider
    python bench/bench_redraw.py --quick    # 3 changes per slider (a smoke run)
    python bench/bench_redraw.py --label before --output bench/results/redraw.json

Runs stored under other labels in the output file are kept, so a "before" run
(taken on older code) and the current run sit side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import matplotlib

from swin_viz.widgets import STAGES, Settings, StageExplorer, explorer

#: The layouts measured: the running example and Swin-T's first stage.
LAYOUTS: dict[str, Settings] = {
    "9x9/3/1": Settings(height=9, width=9, window=3, shift=1),
    "56x56/7/3": Settings(height=56, width=56, window=7, shift=3),
}
#: The goal of the issue list: a redraw after a slider change in under this many ms at 56x56.
BUDGET_MS = 100.0
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "redraw.json"


def _values(current: int, low: int, high: int, count: int) -> list[int]:
    """``count`` successive slider values in ``[low, high]``, each different from the one before."""
    span = high - low + 1
    values, value = [], current
    for step in range(count):
        value = low + (value - low + 1 + step % max(span - 1, 1)) % span
        if value == (values[-1] if values else current):
            value = low + (value - low + 1) % span
        values.append(value)
    return values


def time_changes(view: StageExplorer, slider_name: str, values: Sequence[int]) -> tuple[list[float], list[float]]:
    """Set ``view.<slider_name>.value`` to each of ``values``: the wall-clock and the CPU ms from each
    assignment to its new PNG (CPU time says how much work a change is when other processes share the cores)."""
    slider = getattr(view, slider_name)
    wall, cpu = [], []
    for value in values:
        before_count, before_png = view.draw_count, view.image.value
        start, start_cpu = time.perf_counter(), time.process_time()
        slider.value = value
        png = view.image.value
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
        if view.draw_count != before_count + 1 or not bytes(png).startswith(b"\x89PNG") or png is before_png:
            raise RuntimeError(f"{view!r}: setting {slider_name}={value} did not redraw once ({view.caption.value})")
    return wall, cpu


def bench_stage(name: str, layout_name: str, changes: int) -> dict[str, Any]:
    """Build the ``name`` explorer at ``LAYOUTS[layout_name]`` and time ``changes`` changes of each slider."""
    start = LAYOUTS[layout_name]
    t0 = time.perf_counter()
    view = explorer(name, height=start.height, width=start.width, window=start.window, shift=start.shift)
    build_ms = (time.perf_counter() - t0) * 1000.0
    settings = view.settings
    plan: dict[str, list[int]] = {"shift": _values(settings.shift, 0, settings.window - 1, changes)}
    if view.window_index is not None:
        plan["window_index"] = _values(settings.window_index, 0, settings.n_windows - 1, changes)
    if view.query is not None:
        plan["query"] = _values(settings.query, 0, settings.n_tokens - 1, changes)
    # a change of grid size: one window less high, and back
    m = settings.window
    plan["height"] = [settings.height - m if k % 2 == 0 else settings.height for k in range(changes)]
    result: dict[str, Any] = {"build_ms": round(build_ms, 1), "sliders": {}}
    times = {slider_name: time_changes(view, slider_name, values) for slider_name, values in plan.items()}
    for slider_name, (wall, cpu) in times.items():
        result["sliders"][slider_name] = {
            "median_ms": round(statistics.median(wall), 1),
            "max_ms": round(max(wall), 1),
            "median_cpu_ms": round(statistics.median(cpu), 1),
            "changes": len(wall),
        }
    every = [t for wall, _ in times.values() for t in wall]
    pickers = [t for slider_name in ("shift", "window_index", "query") for t in times.get(slider_name, ([], []))[0]]
    result["median_ms"] = round(statistics.median(every), 1)
    result["max_ms"] = round(max(every), 1)
    result["max_picker_ms"] = round(max(pickers), 1)
    result["median_picker_ms"] = round(statistics.median(pickers), 1)
    result["median_picker_cpu_ms"] = round(
        statistics.median([t for slider_name in ("shift", "window_index", "query") for t in times.get(slider_name, ([], []))[1]]), 1
    )
    return result


def _table(runs: dict[str, dict[str, dict[str, Any]]]) -> str:
    sliders = ("shift", "window_index", "query", "height")
    header = (
        f"{'stage':<18} {'layout':<10} {'build':>7} " + " ".join(f"{s[:12]:>12}" for s in sliders) + f" {'max':>7} {'cpu':>7}"
    )
    lines = [header, "-" * len(header)]
    for name, layouts in runs.items():
        for layout_name, result in layouts.items():
            cells = []
            for slider in sliders:
                entry = result["sliders"].get(slider)
                cells.append(f"{entry['median_ms']:>12.1f}" if entry else f"{'-':>12}")
            lines.append(
                f"{name:<18} {layout_name:<10} {result['build_ms']:>7.1f} " + " ".join(cells)
                + f" {result['max_ms']:>7.1f} {result.get('median_picker_cpu_ms', float('nan')):>7.1f}"
            )
    lines.append(
        "(ms, wall clock: build = first draw; slider columns = median over the changes; max = slowest change;\n"
        " cpu = median CPU time of the shift/window/query changes)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, write the JSON; returns this run's results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 changes per slider instead of 10")
    parser.add_argument("--changes", type=int, default=None, help="changes per slider (default 10, or 3 with --quick)")
    parser.add_argument("--label", default="current", help="name of this run in the JSON file (default: current)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"JSON file (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), help="stages to measure (default: all)")
    args = parser.parse_args(argv)
    changes = args.changes or (3 if args.quick else 10)
    matplotlib.use("Agg")
    load_before = os.getloadavg()
    # warm up imports, fonts and caches once so the first stage does not pay for them
    explorer("region_labels").redraw()

    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.stages:
        runs[name] = {layout_name: bench_stage(name, layout_name, changes) for layout_name in LAYOUTS}
    print(_table(runs))
    worst = max(runs[name]["56x56/7/3"]["max_picker_ms"] for name in runs)
    worst_median = max(runs[name]["56x56/7/3"]["median_picker_ms"] for name in runs)
    load = [round(v, 2) for v in (*load_before, *os.getloadavg())]
    print(
        f"\nat 56x56/7/3, shift/window/query changes: slowest median {worst_median:.1f} ms, slowest change {worst:.1f} ms"
        f" (budget {BUDGET_MS:.0f} ms)\nload average before {load[:3]}, after {load[3:]} on {os.cpu_count()} cores"
        " (other processes on the cores inflate the wall-clock times)"
    )

    run = {
        "changes_per_slider": changes,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "matplotlib": matplotlib.__version__,
            "platform": platform.platform(),
        },
        "slowest_picker_change_56x56_ms": worst,
        "slowest_picker_median_56x56_ms": worst_median,
        "load_average_before_after": load,
        "budget_ms": BUDGET_MS,
        "stages": runs,
    }
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(output.read_text()) if output.exists() else {}
    stored.setdefault("runs", {})[args.label] = run
    output.write_text(json.dumps(stored, indent=1, sort_keys=False) + "\n")
    print(f"wrote {output} (run {args.label!r})")
    return run


if __name__ == "__main__":
    main(sys.argv[1:])
