"""How long an explorer takes to redraw after a control change (``make bench``).

Every explorer is a :class:`swin_viz.widgets.Explorer`; two families are measured.

* The stage explorers of :data:`swin_viz.widgets.STAGES` (notebooks 01-05), built with
  ``explorer(name, height=, width=, window=, shift=)``, at the running example ``9x9 / M=3 / s=1``
  and at the Swin-T stage-1 size ``56x56 / M=7 / s=3`` (:data:`LAYOUTS`).
* The notebook explorers of :data:`EXPLORERS` (notebooks 06-11), each at its notebook's example and at
  ``56x56 / 7 / 3`` where its controls reach it; otherwise at its largest reachable layout:

  ==========  ==========================  ==================  =============================================
  name        explorer                    small layout        large layout
  ==========  ==========================  ==================  =============================================
  block_leak  ``block_leak_explorer`` 06  9x9/3/1             56x56/7/3
  pad_order   ``pad_order_explorer`` 07   11x8/3/1            24x24/7/3: its sizes stop at
                                                              ``PAD_ORDER_MAX_SIZE`` = 24, so not 56x56
  numerics    ``numerics_explorer`` 08    9x9/3/1             the same: one fixed layout (notebook 08's
                                                              block), no size controls, so not 56x56
  cost        ``cost_explorer`` 09        h=w=9, M=3, s=1     h=w=56, M=7, s=3 (C = 96 in both)
  masks_in_.. ``masks_in_the_wild_`` 10   9x9/3/1             4x16x16 / (2,4,4) / (1,2,2): sizes stop at
                                                              ``WILD_MAX_SIZE`` = 16, windows at 6
  relative_.. ``relative_position_`` 11   M=3                 M=7: one window, no map
  ==========  ==========================  ==================  =============================================

Every control of an explorer (``explorer.controls``) is timed, one at a time: the sizes, the window slider
``M`` (``continuous_update=False``: it reports once, on release, and re-ranges the other sliders), the
shift, the window/query/head pickers, toggles, the dtype dropdown, the fill buttons, the logit scale. Before
a control's changes the explorer is put back at its starting position (untimed: the other controls are set
back, or, if that cannot restore every value, the explorer is built afresh); then the control is set
programmatically, ``control.value = v``, ``--changes`` times. Each change is timed, wall clock
(``perf_counter``) and CPU (``process_time``: the work a change is, when other processes share the cores),
from the assignment to the finished redraw: the moment the explorer's redraw has put the new PNG bytes in
``explorer.image.value`` (in a kernel that sends the picture to the page) and ``draw_count`` is one higher. A
garbage collection that falls due during a redraw runs after it (the explorers pause the collector while
they draw), between redraws, and is not counted. No asyncio loop runs in a script, so the explorer redraws
before the assignment returns, as in the tests; a change that does not redraw exactly once is an error.

The values come from the control itself (an integer or float slider's ``min``/``max``/``step``, a log
slider's exponent grid, a selection's options), so none can be invalid, and each differs from the one
before. A map size (``height``, ``width``, the cost explorer's ``size``) alternates between its start and
the next smaller valid size (``56 -> 49 -> 56 ...`` for ``M = 7``), so every other redraw is at the measured
layout. Every other control visits its other positions in a seeded random order (the same on every run;
after the last, again in a new order), so it jumps by small and large steps alike and, given as many
changes as positions, reaches each one: the window slider at 56x56 visits the other windows, and with
them the sizes 56 rounds to (``M = 3`` gives 24x24, as its sizes stop at ``8 M``). A control with a single
position is skipped.

It prints, per family, a table of median/max wall-clock ms per control, then a summary: for every explorer
its slowest change at its large layout (against the :data:`BUDGET_MS` budget), the slowest change at
56x56/7/3 over all explorers and all controls (sizes included), and every control whose slowest change
exceeds the budget. It writes ``bench/results/redraw.json`` (``stages`` and ``explorers``: explorer ->
layout -> result; ``slowest_change_56x56_ms``, ``slowest_change_large_layout``, ``over_budget``; the older
``slowest_picker_*`` keys cover the stages' shift/window/query pickers, as before); a ``--quick`` run writes
the git-ignored ``bench/results/quick/redraw.json`` instead, so a smoke run never replaces the committed runs.

    python bench/bench_redraw.py            # 10 changes per control
    python bench/bench_redraw.py --quick    # 3 changes per control (a smoke run), to bench/results/quick/
    python bench/bench_redraw.py --stages region_labels --explorers cost numerics
    python bench/bench_redraw.py --stages --explorers block_leak      # no stage, one notebook explorer
    python bench/bench_redraw.py --label before --output bench/results/redraw.json

Runs stored under other labels in the output file are kept, so a "before" run
(taken on older code) and the current run sit side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import ipywidgets
import matplotlib

from swin_viz.widgets import (
    PAD_ORDER_MAX_SIZE,
    STAGES,
    WILD_MAX_SIZE,
    WILD_MAX_WINDOW,
    Explorer,
    Settings,
    StageExplorer,
    block_leak_explorer,
    cost_explorer,
    explorer,
    freeze_imported_objects,
    masks_in_the_wild_explorer,
    numerics_explorer,
    pad_order_explorer,
    relative_position_explorer,
)

#: The layouts the stage explorers are measured at: the running example and Swin-T's first stage.
LAYOUTS: dict[str, Settings] = {
    "9x9/3/1": Settings(height=9, width=9, window=3, shift=1),
    "56x56/7/3": Settings(height=56, width=56, window=7, shift=3),
}
#: The layout of the issue's goal.
TARGET_LAYOUT = "56x56/7/3"
#: The goal of the issue list: a redraw after a slider change in under this many ms at 56x56.
BUDGET_MS = 100.0
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "redraw.json"
#: Where a --quick run writes by default: git-ignored, so its 3-change smoke numbers never replace the committed runs.
QUICK_OUTPUT = DEFAULT_OUTPUT.parent / "quick" / "redraw.json"
#: Controls that set the map size: they alternate between the start and the next smaller size.
SIZE_CONTROLS = frozenset({"height", "width", "size"})
#: The stage explorers' picker sliders (the older ``*_picker_*`` keys summarise these).
PICKERS = ("shift", "window_index", "query")


@dataclass(frozen=True)
class NotebookExplorer:
    """A notebook explorer to measure: how to build it, and the layouts (builder keyword arguments), small first."""

    notebook: str
    build: Callable[..., Explorer]
    layouts: dict[str, dict[str, Any]]
    note: str = ""  # why the large (last) layout is not 56x56/7/3
    large: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "large", list(self.layouts)[-1])


_PAD = PAD_ORDER_MAX_SIZE
#: The explorers of notebooks 06-11, by the name ``--explorers`` takes.
EXPLORERS: dict[str, NotebookExplorer] = {
    "block_leak": NotebookExplorer(
        "06",
        block_leak_explorer,
        {"9x9/3/1": dict(height=9, width=9, window=3, shift=1), "56x56/7/3": dict(height=56, width=56, window=7, shift=3)},
    ),
    "pad_order": NotebookExplorer(
        "07",
        pad_order_explorer,
        {"11x8/3/1": dict(height=11, width=8, window=3, shift=1), f"{_PAD}x{_PAD}/7/3": dict(height=_PAD, width=_PAD, window=7, shift=3)},
        note=f"sizes stop at PAD_ORDER_MAX_SIZE = {_PAD}: {_PAD}x{_PAD}/7/3 is its largest layout (56x56 is out of reach)",
    ),
    "numerics": NotebookExplorer(
        "08",
        numerics_explorer,
        {"9x9/3/1": {}},
        note="one fixed layout, notebook 08's 9x9/3/1 block (no size controls): 56x56 is out of reach",
    ),
    "cost": NotebookExplorer(
        "09",
        cost_explorer,
        {"9x9/3/1": dict(size=9, window=3, shift=1), "56x56/7/3": dict(size=56, window=7, shift=3)},
    ),
    "masks_in_the_wild": NotebookExplorer(
        "10",
        masks_in_the_wild_explorer,
        {"9x9/3/1": dict(size=(9, 9), window=3, shift=1), "4x16x16/(2,4,4)/(1,2,2)": dict(size=(4, 16, 16), window=(2, 4, 4), shift=(1, 2, 2))},
        note=f"sizes stop at WILD_MAX_SIZE = {WILD_MAX_SIZE} and windows at {WILD_MAX_WINDOW}: its largest is a 3-axis map",
    ),
    "relative_position": NotebookExplorer(
        "11",
        relative_position_explorer,
        {"M=3": dict(window=3, query=4), "M=7": dict(window=7, query=24)},
        note="no map: one window, up to 7x7 (RELATIVE_POSITION_MAX_WINDOW)",
    ),
}


# --------------------------------------------------------------------------- #
# The values a control can take                                               #
# --------------------------------------------------------------------------- #
def _positions(control: ipywidgets.Widget) -> list[Any]:
    """Every value ``control`` offers now, in order (from its own min/max/step or options)."""
    if isinstance(control, ipywidgets.FloatLogSlider):  # min, max and step are exponents
        count = round((control.max - control.min) / control.step)
        return [control.base ** round(control.min + k * control.step, 12) for k in range(count + 1)]
    if isinstance(control, (ipywidgets.IntSlider, ipywidgets.FloatSlider)):
        count = int((control.max - control.min) // control.step) if control.step else 0
        values = [control.min + k * control.step for k in range(count + 1)]
        return values if isinstance(control, ipywidgets.IntSlider) else [round(v, 12) for v in values]
    if isinstance(control, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
        return [False, True]
    if isinstance(control, (ipywidgets.Dropdown, ipywidgets.ToggleButtons, ipywidgets.RadioButtons, ipywidgets.Select)):
        return [option[1] if isinstance(option, tuple) else option for option in control.options]  # (label, value) or value
    raise TypeError(f"cannot list the values of a {type(control).__name__}")


def _index(positions: Sequence[Any], value: Any) -> int:
    """The position of ``value`` (the nearest, for a float not exactly on the grid)."""
    if value in positions:
        return list(positions).index(value)
    return min(range(len(positions)), key=lambda k: abs(float(positions[k]) - float(value)))


def _next_value(control: ipywidgets.Widget, start: Any, alternate: bool, queue: list[Any], rng: random.Random) -> Any:
    """The next value to set: valid now, and different from the control's value.

    ``alternate``: the start value and its smaller neighbour in turn (the larger one if the start is the
    smallest). Otherwise the next of ``queue``; an empty queue is refilled with every other position in a
    random order (``rng``), so the changes jump by small and large steps alike and visit every position.
    """
    positions = _positions(control)
    current = _index(positions, control.value)
    if alternate:
        home = _index(positions, start)
        if current != home:
            return positions[home]
        return positions[home - 1 if home > 0 else home + 1]
    while queue and (queue[0] not in positions or queue[0] == positions[current]):
        queue.pop(0)  # another control moved this one's range since the queue was filled
    if not queue:
        queue += [value for k, value in enumerate(positions) if k != current]
        rng.shuffle(queue)
    return queue.pop(0)


# --------------------------------------------------------------------------- #
# Timing                                                                      #
# --------------------------------------------------------------------------- #
def _time_one(view: Explorer, name: str, value: Any) -> tuple[float, float]:
    """Set ``view.<name>.value = value``: wall-clock and CPU ms to the end of the redraw (the new PNG is in
    ``view.image``, which sends it to the page); checks it redrew exactly once."""
    control = getattr(view, name)
    before_count, before_png = view.draw_count, view.image.value
    arrived: list[tuple[float, float]] = []

    def stop() -> None:  # the stopwatch, at the end of the redraw (a PNG equal to the last one notifies no observer)
        arrived.append((time.perf_counter(), time.process_time()))

    view.redraw_listeners.append(stop)
    try:
        start, start_cpu = time.perf_counter(), time.process_time()
        control.value = value
    finally:
        view.redraw_listeners.remove(stop)
    png = view.image.value
    if len(arrived) != 1 or view.draw_count != before_count + 1 or not bytes(png).startswith(b"\x89PNG") or png is before_png:
        raise RuntimeError(
            f"{view!r}: setting {name}={value!r} did not redraw once "
            f"(draw_count {before_count} -> {view.draw_count}, {len(arrived)} redraw(s); caption: {view.caption.value})"
        )
    return (arrived[0][0] - start) * 1000.0, (arrived[0][1] - start_cpu) * 1000.0


def time_changes(view: Explorer, slider_name: str, values: Sequence[Any]) -> tuple[list[float], list[float]]:
    """Set ``view.<slider_name>.value`` to each of ``values``: the wall-clock and the CPU ms from each
    assignment to its new PNG (CPU time says how much work a change is when other processes share the cores)."""
    wall, cpu = [], []
    for value in values:
        w, c = _time_one(view, slider_name, value)
        wall.append(w)
        cpu.append(c)
    return wall, cpu


def time_control(view: Explorer, name: str, changes: int) -> tuple[list[float], list[float], list[Any]]:
    """``changes`` changes of ``view.<name>``, values from :func:`_next_value`: wall ms, CPU ms, the values set."""
    control = getattr(view, name)
    start, alternate = control.value, name in SIZE_CONTROLS
    queue: list[Any] = []
    rng = random.Random(f"bench_redraw {name}")  # the same values on every run
    wall, cpu, values = [], [], []
    for _ in range(changes):
        value = _next_value(control, start, alternate, queue, rng)
        w, c = _time_one(view, name, value)
        wall.append(w)
        cpu.append(c)
        values.append(value)
    return wall, cpu, values


def _restore(view: Explorer, build: Callable[[], Explorer], start: dict[str, Any]) -> Explorer:
    """Put every control back at its ``start`` value (untimed); builds the explorer afresh if that does not work."""
    for _ in range(3):
        off = [name for name, value in start.items() if getattr(view, name).value != value]
        if not off:
            return view
        for name in off:
            getattr(view, name).value = start[name]
    if any(getattr(view, name).value != value for name, value in start.items()):
        view.close()
        view = build()
    return view


def _json_value(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def _bench(build: Callable[[], Explorer], changes: int) -> tuple[dict[str, Any], dict[str, tuple[list[float], list[float]]]]:
    """:func:`bench_explorer`, and the wall-clock and CPU ms of every change by control."""
    t0 = time.perf_counter()
    view = build()
    build_ms = (time.perf_counter() - t0) * 1000.0
    names = list(view.control_names())
    start = {name: getattr(view, name).value for name in names}
    result: dict[str, Any] = {"build_ms": round(build_ms, 1), "sliders": {}}
    times: dict[str, tuple[list[float], list[float]]] = {}
    for name in names:
        view = _restore(view, build, start)
        if len(_positions(getattr(view, name))) < 2:
            result.setdefault("skipped", []).append(name)  # one position: nothing to change
            continue
        wall, cpu, values = time_control(view, name, changes)
        slowest = max(range(len(wall)), key=wall.__getitem__)
        result["sliders"][name] = {
            "median_ms": round(statistics.median(wall), 1),
            "max_ms": round(max(wall), 1),
            "median_cpu_ms": round(statistics.median(cpu), 1),
            "max_cpu_ms": round(max(cpu), 1),
            "changes": len(wall),
            "values": [_json_value(v) for v in values],
            "slowest_value": _json_value(values[slowest]),
        }
        times[name] = (wall, cpu)
    every = [(w, c, name) for name, (wall, cpu) in times.items() for w, c in zip(wall, cpu)]
    result["median_ms"] = round(statistics.median(w for w, _, _ in every), 1)
    result["max_ms"] = round(max(w for w, _, _ in every), 1)
    result["median_cpu_ms"] = round(statistics.median(c for _, c, _ in every), 1)
    result["max_cpu_ms"] = round(max(c for _, c, _ in every), 1)
    result["slowest_control"] = max(every)[2]
    # ipywidgets keeps open widgets alive: without this the thirty explorers built here would all stay in
    # memory, and every full garbage collection would walk them (a notebook's kernel holds its few explorers)
    view.close()
    return result, times


def bench_explorer(build: Callable[[], Explorer], changes: int) -> dict[str, Any]:
    """Build an explorer with ``build()`` and time ``changes`` changes of each of its controls.

    Returns ``build_ms`` (the first draw included), ``sliders`` (per control: median/max wall and CPU ms,
    the number of changes, the values set and the one whose change was slowest), over every change of every
    control ``median_ms``, ``max_ms``, ``median_cpu_ms``, ``max_cpu_ms`` and ``slowest_control``, and
    ``skipped``: controls with a single position, if any.
    """
    return _bench(build, changes)[0]


def bench_stage(name: str, layout_name: str, changes: int) -> dict[str, Any]:
    """Build the ``name`` stage explorer at ``LAYOUTS[layout_name]`` and time ``changes`` changes of each slider
    (``height``, ``width``, ``window``, ``shift`` and the stage's ``window_index``/``query`` pickers).

    Besides :func:`bench_explorer`'s keys: ``max_picker_ms``, ``median_picker_ms``, ``median_picker_cpu_ms``
    over the shift/window/query changes.
    """
    start = LAYOUTS[layout_name]

    def build() -> StageExplorer:
        return explorer(name, height=start.height, width=start.width, window=start.window, shift=start.shift)

    result, times = _bench(build, changes)
    pickers = [times[slider] for slider in PICKERS if slider in times]
    result["max_picker_ms"] = round(max(max(wall) for wall, _ in pickers), 1)
    result["median_picker_ms"] = round(statistics.median(t for wall, _ in pickers for t in wall), 1)
    result["median_picker_cpu_ms"] = round(statistics.median(t for _, cpu in pickers for t in cpu), 1)
    return result


def bench_notebook_explorer(name: str, layout_name: str, changes: int) -> dict[str, Any]:
    """Build the ``name`` notebook explorer (:data:`EXPLORERS`) at ``layout_name`` and time every control."""
    spec = EXPLORERS[name]
    kwargs = spec.layouts[layout_name]
    result = bench_explorer(lambda: spec.build(**kwargs), changes)
    if layout_name == spec.large and spec.note:
        result["note"] = spec.note
    return result


# --------------------------------------------------------------------------- #
# Tables and summary                                                          #
# --------------------------------------------------------------------------- #
CELL = 13


def _cell(entry: dict[str, Any] | None) -> str:
    return f"{entry['median_ms']:.1f}/{entry['max_ms']:.1f}".rjust(CELL) if entry else "-".rjust(CELL)


def _section(title: str, rows: list[tuple[str, str, dict[str, Any]]], controls: Sequence[str]) -> list[str]:
    """One table: a row per (explorer, layout), a median/max column per control, then the row's totals."""
    width = max([len(label) for label, _, _ in rows] + [len(title), 8])
    header = (
        f"{title:<{width}} {'layout':<11} {'build':>7} " + " ".join(f"{c[:CELL]:>{CELL}}" for c in controls)
        + f" {'max':>7} {'cpu med':>7} {'cpu max':>7}"
    )
    lines = [header, "-" * len(header)]
    for label, layout_name, result in rows:
        lines.append(
            f"{label:<{width}} {layout_name:<11} {result['build_ms']:>7.1f} "
            + " ".join(_cell(result["sliders"].get(c)) for c in controls)
            + f" {result['max_ms']:>7.1f} {result['median_cpu_ms']:>7.1f} {result['max_cpu_ms']:>7.1f}"
        )
    return lines


_LEGEND = (
    "(ms, wall clock; build = building the explorer and its first draw; a control's column = median/max over its\n"
    " changes; max = slowest change of the row; cpu med/max = median/slowest CPU time over the row's changes)"
)


def _table(runs: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The stage explorers: one table, a row per stage and layout."""
    controls = ("shift", "window_index", "query", "height", "width", "window")
    rows = [(name, layout_name, result) for name, layouts in runs.items() for layout_name, result in layouts.items()]
    return "\n".join(_section("stage", rows, controls))


def _explorer_tables(runs: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The notebook explorers: a table per explorer (each has its own controls)."""
    lines: list[str] = []
    for name, layouts in runs.items():
        spec = EXPLORERS[name]
        controls = list(dict.fromkeys(c for result in layouts.values() for c in result["sliders"]))
        rows = [(name, layout_name, result) for layout_name, result in layouts.items()]
        lines += [""] + _section(f"notebook {spec.notebook}", rows, controls)
        lines += [f"  {layout_name}: {result['note']}" for layout_name, result in layouts.items() if "note" in result]
    return "\n".join(lines)


def _slowest(result: dict[str, Any]) -> dict[str, Any]:
    control = result["slowest_control"]
    entry = result["sliders"][control]
    return {
        "max_ms": entry["max_ms"],
        "max_cpu_ms": entry["max_cpu_ms"],
        "control": control,
        "value": entry["slowest_value"],
        "median_ms": result["median_ms"],
        "over_budget": entry["max_ms"] > BUDGET_MS,
    }


def summarise(stages: dict[str, dict[str, dict[str, Any]]], explorers: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The run's summary keys: the slowest change per explorer at its large layout, the slowest at 56x56/7/3
    over every explorer and control, and every control whose slowest change exceeds :data:`BUDGET_MS`."""
    large: dict[str, Any] = {}
    for family, runs in (("stage", stages), ("notebook", explorers)):
        for name, layouts in runs.items():
            layout_name = list(LAYOUTS)[-1] if family == "stage" else EXPLORERS[name].large
            if layout_name in layouts:
                large[name] = {"family": family, "layout": layout_name, **_slowest(layouts[layout_name])}
                if family == "notebook" and EXPLORERS[name].note:
                    large[name]["note"] = EXPLORERS[name].note
    at_target = [
        {"explorer": name, "control": control, "max_ms": entry["max_ms"], "max_cpu_ms": entry["max_cpu_ms"],
         "value": entry["slowest_value"]}
        for runs in (stages, explorers) for name, layouts in runs.items() if TARGET_LAYOUT in layouts
        for control, entry in layouts[TARGET_LAYOUT]["sliders"].items()
    ]
    slowest_target = max(at_target, key=lambda e: e["max_ms"]) if at_target else None
    over = [
        {"explorer": name, "layout": layout_name, "control": control, "max_ms": entry["max_ms"],
         "median_ms": entry["median_ms"], "median_cpu_ms": entry["median_cpu_ms"], "slowest_value": entry["slowest_value"]}
        for runs in (stages, explorers) for name, layouts in runs.items() for layout_name, result in layouts.items()
        for control, entry in result["sliders"].items() if entry["max_ms"] > BUDGET_MS
    ]
    return {
        "slowest_change_56x56_ms": slowest_target["max_ms"] if slowest_target else None,
        "slowest_change_56x56": slowest_target,
        "slowest_change_large_layout_ms": max((e["max_ms"] for e in large.values()), default=None),
        "slowest_change_large_layout": large,
        "over_budget": over,
    }


def _summary_lines(summary: dict[str, Any], stages: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [f"\nslowest change at each explorer's large layout (budget {BUDGET_MS:.0f} ms; median = over all its controls):"]
    for name, entry in summary["slowest_change_large_layout"].items():
        lines.append(
            f"  {name:<18} {entry['layout']:<10} {entry['max_ms']:>7.1f} ms  {entry['control'] + '=' + str(entry['value']):<22}"
            f" cpu {entry['max_cpu_ms']:>6.1f}  median {entry['median_ms']:>6.1f}"
            + ("  OVER BUDGET" if entry["over_budget"] else "")
            + (f"  ({entry['note']})" if "note" in entry else "")
        )
    target = summary["slowest_change_56x56"]
    if target:
        lines.append(
            f"at {TARGET_LAYOUT}, every explorer and control (sizes included): slowest change {target['max_ms']:.1f} ms "
            f"({target['explorer']}.{target['control']}={target['value']}, cpu {target['max_cpu_ms']:.1f} ms; budget {BUDGET_MS:.0f} ms)"
        )
    if stages and all(TARGET_LAYOUT in layouts for layouts in stages.values()):
        worst = max(stages[name][TARGET_LAYOUT]["max_picker_ms"] for name in stages)
        worst_median = max(stages[name][TARGET_LAYOUT]["median_picker_ms"] for name in stages)
        lines.append(
            f"at {TARGET_LAYOUT}, stages' shift/window/query changes: slowest median {worst_median:.1f} ms, "
            f"slowest change {worst:.1f} ms"
        )
    over = summary["over_budget"]
    lines.append(f"controls whose slowest change exceeds {BUDGET_MS:.0f} ms: {len(over)}" + (":" if over else ""))
    for entry in over:
        lines.append(
            f"  {entry['explorer'] + '.' + entry['control']:<32} {entry['layout']:<10} max {entry['max_ms']:>7.1f}"
            f"  median {entry['median_ms']:>7.1f}  median cpu {entry['median_cpu_ms']:>7.1f}"
        )
    return lines


# --------------------------------------------------------------------------- #
# The script                                                                  #
# --------------------------------------------------------------------------- #
def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the tables, write the JSON; returns this run's results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 changes per control instead of 10")
    parser.add_argument("--changes", type=int, default=None, help="changes per control (default 10, or 3 with --quick)")
    parser.add_argument("--label", default="current", help="name of this run in the JSON file (default: current)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"JSON file (default: {DEFAULT_OUTPUT}, or {QUICK_OUTPUT} with --quick)")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), metavar="STAGE",
                        help=f"stage explorers to measure (default: all; none if the flag is given alone): {', '.join(STAGES)}")
    parser.add_argument("--explorers", nargs="*", default=list(EXPLORERS), metavar="EXPLORER",
                        help=f"notebook explorers to measure (default: all; none if the flag is given alone): {', '.join(EXPLORERS)}")
    args = parser.parse_args(argv)
    for flag, chosen, known in (("--stages", args.stages, STAGES), ("--explorers", args.explorers, EXPLORERS)):
        unknown = [name for name in chosen if name not in known]
        if unknown:
            parser.error(f"{flag}: unknown {', '.join(unknown)} (choose from {', '.join(known)})")
    if not args.stages and not args.explorers:
        parser.error("nothing to measure: give at least one stage or explorer")
    changes = args.changes or (3 if args.quick else 10)
    if changes < 1:
        parser.error("--changes must be at least 1")
    matplotlib.use("Agg")
    load_before = os.getloadavg()
    # warm up imports, fonts and caches once so the first stage does not pay for them
    explorer("region_labels").redraw()

    stages: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.stages:
        stages[name] = {layout_name: bench_stage(name, layout_name, changes) for layout_name in LAYOUTS}
    explorers: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.explorers:
        explorers[name] = {layout_name: bench_notebook_explorer(name, layout_name, changes) for layout_name in EXPLORERS[name].layouts}
    if stages:
        print(_table(stages))
    if explorers:
        print(_explorer_tables(explorers))
    print(_LEGEND)
    summary = summarise(stages, explorers)
    for line in _summary_lines(summary, stages):
        print(line)
    load = [round(v, 2) for v in (*load_before, *os.getloadavg())]
    print(
        f"load average before {load[:3]}, after {load[3:]} on {os.cpu_count()} cores"
        " (other processes on the cores inflate the wall-clock times, not the CPU times)"
    )

    with_target = [name for name in stages if TARGET_LAYOUT in stages[name]]
    run: dict[str, Any] = {
        "changes_per_slider": changes,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "matplotlib": matplotlib.__version__,
            "platform": platform.platform(),
        },
        # the stage explorers' shift/window/query pickers (the keys of earlier runs)
        "slowest_picker_change_56x56_ms": max((stages[n][TARGET_LAYOUT]["max_picker_ms"] for n in with_target), default=None),
        "slowest_picker_median_56x56_ms": max((stages[n][TARGET_LAYOUT]["median_picker_ms"] for n in with_target), default=None),
        **summary,
        "load_average_before_after": load,
        "budget_ms": BUDGET_MS,
        "stages": stages,
        "explorers": explorers,
        "explorer_layouts": {
            name: {"notebook": EXPLORERS[name].notebook, "layouts": EXPLORERS[name].layouts, "large_layout": EXPLORERS[name].large,
                   **({"note": EXPLORERS[name].note} if EXPLORERS[name].note else {})}
            for name in explorers
        },
    }
    output: Path = args.output or (QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT)
    output.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(output.read_text()) if output.exists() else {}
    stored.setdefault("runs", {})[args.label] = run
    output.write_text(json.dumps(stored, indent=1, sort_keys=False) + "\n")
    print(f"wrote {output} (run {args.label!r})")
    return run


if __name__ == "__main__":
    # the imported modules out of the collector's scans, as a long-running kernel may choose to (importing the
    # explorers does not do it): a full collection, when one falls due, then walks only what the explorers made
    freeze_imported_objects()
    main(sys.argv[1:])
