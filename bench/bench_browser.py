"""End-to-end latency of the app in a browser: a keyboard step on a slider until the new figure has loaded.

The app (``make app``: Voilà serving ``app/explorer.ipynb``, the pipeline explorer) is served and driven as the
browser tests do it (``tests/browser/``: :func:`browser_servers.start_voila` on 127.0.0.1 with a free port and a
token, Debian's Chromium through Playwright for Python, the page read through :class:`browser_pages.Explorer`),
at two layouts (:data:`LAYOUTS`): the committed app (9x9 / M=3 / s=1) and a temporary copy of it whose explorer
cell starts at Swin-T's first stage, ``pipeline_explorer(height=56, width=56, window=7, shift=3)``.

For every slider the page shows (read from the page: height H, width W, window M, shift s, window k) it presses
ArrowRight and ArrowLeft in turn on the slider's handle (``--steps`` counted steps, 30; an even number, so the
slider ends where it started and the next slider is measured at the same layout; at an end of its range the
key turns round). Each step is timed in the page with ``performance.now()``:

* start: the ``keydown`` event, seen by a listener on ``window`` in the capture phase (before noUiSlider's own
  handler on the handle reads the key);
* sent: the first websocket message after the key (``WebSocket.prototype.send`` wrapped in the page):
  the new value leaves for the kernel;
* ``src``: the explorer's ``<img>`` gets a new ``src`` (ipywidgets' ``Image`` view puts each new PNG behind a
  new ``blob:`` URL), seen by a ``MutationObserver``;
* end (the latency): ``img.decode()`` of that new ``src`` has resolved, the picture is ready to paint.

So a step covers the key handling, the widget message to the kernel, the explorer's sync and redraw, the PNG's
way back, and its decoding. Before the next step the script waits until the kernel has answered every request
of the page (:class:`browser_pages.KernelWatch`, which also fails the run on any kernel error), checks that the
step drew exactly one new figure and that the caption names the layout the sliders show, then waits ``--gap``
ms (150): a student's key presses come further apart than the explorer's 60 ms coalescing interval
(``REDRAW_INTERVAL`` in :mod:`swin_viz.widgets`; a change within it of the last redraw is drawn at its end),
which would otherwise be part of what is measured. A key that leaves the value where it was (the end of a
range) is not counted. The window slider M reports only on release (``continuous_update=False``); a keyboard
step still reports once, and re-ranges the other sliders. Two uncounted steps of the shift slider warm the page
up after it has loaded.

Per layout and slider it prints and stores n, median, p95 (nearest rank: the ceil(0.95 n)-th smallest, the
second largest of 30), max, the medians of the parts (key -> websocket message; key -> new ``src``; new ``src``
-> decoded), and the CPU time the kernel and the Voilà server used per step (``psutil``, a mean over the slider's
steps: the work a step is, which other processes on the cores do not stretch as they stretch the wall clock); and
it checks the goal: p95 under :data:`BUDGET_MS` (100 ms at 9x9/3/1, 150 ms at 56x56/7/3). It writes
``bench/results/browser.json`` (with Chromium's version and the load average before and after); ``--quick``
(6 steps per slider) writes ``bench/results/quick/browser.json`` instead (git-ignored), so a quick run never
overwrites committed results.

    python bench/bench_browser.py             # 30 steps per slider and layout
    python bench/bench_browser.py --quick     # 6 steps, into bench/results/quick/
    python bench/bench_browser.py --layouts 9x9/3/1 --sliders shift window --steps 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Sequence

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))  # the browser tests' helpers: one way to serve and read the app

from browser_pages import Explorer, KernelWatch, open_page  # noqa: E402
from browser_servers import LOGS, copy_content, start_voila  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, browser_unavailable  # noqa: E402

RESULTS = ROOT / "bench" / "results"
#: Where ``--quick`` writes: git-ignored (the repository's .gitignore), so a smoke run never replaces committed results.
QUICK_RESULTS = RESULTS / "quick"
#: The app's explorer call in ``app/explorer.ipynb``, and the layouts measured: ``None`` serves the committed app,
#: otherwise a copy whose call is given these arguments.
APP_CALL = "pipeline_explorer()"
LAYOUTS: dict[str, dict[str, int] | None] = {
    "9x9/3/1": None,
    "56x56/7/3": dict(height=56, width=56, window=7, shift=3),
}
#: The goal (the issue): p95 of a keyboard step, key to loaded figure, under this many ms.
BUDGET_MS = {"9x9/3/1": 100.0, "56x56/7/3": 150.0}
#: How long the app may take to load (a kernel starts, imports torch and matplotlib, draws) and one step.
LOAD_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 30_000
WARMUP_STEPS = 2

#: Installed once per page: the capture-phase keydown stopwatch and the image's observer (see the module doc).
_INSTALL = """root => {
    const img = root.querySelector(':scope > img.widget-image');
    const bench = window.__swinBench = {armed: false, t0: null, tSent: null, tSrc: null, tLoaded: null, srcChanges: 0};
    window.addEventListener('keydown', () => {
        if (bench.armed && bench.t0 === null) bench.t0 = performance.now();
    }, true);
    new MutationObserver(() => {
        if (!bench.armed || bench.t0 === null) return;
        bench.srcChanges += 1;
        if (bench.srcChanges > 1) return;  // the step's first new figure is the one timed
        bench.tSrc = performance.now();
        const src = img.src;
        // decode() resolves once the new src has loaded and decoded; it rejects if a newer src replaced it
        img.decode().then(
            () => { if (img.src === src && img.complete && img.naturalWidth > 0) bench.tLoaded = performance.now(); },
            () => { bench.tLoaded = NaN; },
        );
    }).observe(img, {attributes: true, attributeFilter: ['src']});
}"""
_ARM = "() => Object.assign(window.__swinBench, {armed: true, t0: null, tSent: null, tSrc: null, tLoaded: null, srcChanges: 0})"
#: Run in the page before its own scripts: the time of the first websocket message after the key (the slider's
#: new value on its way to the kernel), to split a step into the page's part and the kernel's.
_WATCH_SEND = """(() => {
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        const bench = window.__swinBench;
        if (bench && bench.armed && bench.t0 !== null && bench.tSent === null) bench.tSent = performance.now();
        return send.call(this, data);
    };
})();"""
_DISARM = "() => { const b = window.__swinBench; b.armed = false; return {...b}; }"


def p95(values: Sequence[float]) -> float:
    """The 95th percentile by nearest rank: the ``ceil(0.95 n)``-th smallest value."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def app_notebook(home: Path, settings: dict[str, int] | None) -> Path:
    """A copy of ``app/explorer.ipynb`` under ``home``; with ``settings``, its explorer call starts there."""
    notebook = copy_content(home, "app") / "app" / "explorer.ipynb"
    if settings:
        content = json.loads(notebook.read_text())
        call = "pipeline_explorer(" + ", ".join(f"{name}={value}" for name, value in settings.items()) + ")"
        cells = [cell for cell in content["cells"] if cell["cell_type"] == "code" and APP_CALL in "".join(cell["source"])]
        if len(cells) != 1:
            raise RuntimeError(f"app/explorer.ipynb: expected one code cell calling {APP_CALL}, found {len(cells)}")
        cells[0]["source"] = "".join(cells[0]["source"]).replace(APP_CALL, call)
        notebook.write_text(json.dumps(content, indent=1))
    return notebook


def _cpu_ms(processes: Sequence[psutil.Process]) -> float:
    """The CPU time (user + system, ms) ``processes`` have used so far."""
    return sum(sum(process.cpu_times()[:2]) for process in processes) * 1000.0


def _kernel_and_server(server: Any) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """The Voilà server's kernel process(es) (its ``ipykernel`` children) and the server process itself."""
    voila = psutil.Process(server.process.pid)
    kernels = [child for child in voila.children(recursive=True) if "ipykernel" in " ".join(child.cmdline())]
    if not kernels:
        raise RuntimeError("no kernel process found under the Voilà server")
    return kernels, [voila]


def _summary(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95(times), 1), "max_ms": round(max(times), 1)}


def time_slider(page: Any, explorer: Explorer, kernel: KernelWatch, name: str, steps: int, gap_ms: float) -> dict[str, Any]:
    """``steps`` counted keyboard steps of slider ``name``, ArrowRight and ArrowLeft in turn (turning round at an
    end of the range): every step's ms from keydown to the new figure decoded, and its parts."""
    handle = explorer.slider(name).locator(".noUi-handle")
    start = explorer.view()
    key = "ArrowLeft" if start.value(name) >= start.bounds(name)[1] else "ArrowRight"
    total, to_sent, to_src, to_decoded, values, skipped = [], [], [], [], [], 0
    for _ in range(3 * steps):  # bounded: a key that changes nothing is retried the other way, at most this often
        if len(total) == steps:
            break
        before = explorer.view()
        page.evaluate(_ARM)
        handle.press(key)
        key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
        if explorer.view().value(name) == before.value(name):  # the end of the range: nothing to draw, not counted
            page.evaluate(_DISARM)
            skipped += 1
            continue
        page.wait_for_function("() => window.__swinBench.tLoaded !== null", timeout=STEP_TIMEOUT_MS, polling=5)
        kernel.wait_until_idle(STEP_TIMEOUT_MS)  # every request answered (fails on a kernel error)
        view = explorer.settled(not_src=before.src, timeout=STEP_TIMEOUT_MS)  # caption = sliders, figure loaded
        record = page.evaluate(_DISARM)
        if record["srcChanges"] != 1 or not record["tLoaded"] == record["tLoaded"]:  # NaN: a newer figure came
            raise RuntimeError(f"{name}: a step drew {record['srcChanges']} new figures, expected 1: {view}")
        total.append(record["tLoaded"] - record["t0"])
        if record["tSent"] is not None:  # None would mean no websocket message went out (not seen in practice)
            to_sent.append(record["tSent"] - record["t0"])
        to_src.append(record["tSrc"] - record["t0"])
        to_decoded.append(record["tLoaded"] - record["tSrc"])
        values.append(view.value(name))
        page.wait_for_timeout(gap_ms)
    if len(total) < steps:
        raise RuntimeError(f"{name}: only {len(total)} of {steps} steps changed the value ({skipped} did not)")
    end = explorer.view()
    return {
        "n": len(total),
        **_summary(total),
        "median_key_to_sent_ms": round(statistics.median(to_sent), 1) if to_sent else None,
        "median_key_to_src_ms": round(statistics.median(to_src), 1),
        "median_src_to_decoded_ms": round(statistics.median(to_decoded), 1),
        "keys_without_change": skipped,
        "values": sorted(set(values)),
        "back_at_start": end.layout == start.layout and end.value(name) == start.value(name),
        "ms": [round(t, 1) for t in total],
    }


def bench_layout(browser: Any, layout_name: str, steps: int, gap_ms: float, sliders: Sequence[str] | None) -> dict[str, Any]:
    """Serve the app at ``layout_name`` with Voilà, open it, time every slider (or ``sliders``); always stop Voilà."""
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        home = Path(tmp)
        notebook = app_notebook(home, LAYOUTS[layout_name])
        server = start_voila(home, notebook, LOGS / f"bench-voila-{layout_name.replace('/', '-')}.log")
        try:
            with open_page(browser) as page:
                kernel = KernelWatch(page)
                page.add_init_script(_WATCH_SEND)
                page.goto(f"{server.url}/?token={server.token}")
                page.locator(".widget-vbox:has(> img.widget-image)").first.wait_for(timeout=LOAD_TIMEOUT_MS)
                explorers = Explorer.all_in(page, kernel)
                if len(explorers) != 1:
                    raise RuntimeError(f"the app shows {len(explorers)} explorers, expected 1")
                explorer = explorers[0]
                view = explorer.settled(timeout=LOAD_TIMEOUT_MS)
                expected = tuple(int(part) for part in layout_name.replace("x", "/").split("/"))
                if view.layout != expected:
                    raise RuntimeError(f"the app starts at {view.layout}, expected {expected} ({layout_name})")
                explorer.root.evaluate(_INSTALL)
                names = [name for name in view.sliders if sliders is None or name in sliders]
                time_slider(page, explorer, kernel, "shift", WARMUP_STEPS, gap_ms)  # warm-up, not counted
                kernels, voila = _kernel_and_server(server)
                controls = {}
                for name in names:
                    # the CPU the kernel and the server used over the slider's steps, per counted step: how much
                    # work a step is, next to its wall-clock time (other processes on the cores stretch that)
                    cpu_before = _cpu_ms(kernels), _cpu_ms(voila)
                    controls[name] = entry = time_slider(page, explorer, kernel, name, steps, gap_ms)
                    entry["kernel_cpu_ms_per_step"] = round((_cpu_ms(kernels) - cpu_before[0]) / entry["n"], 1)
                    entry["server_cpu_ms_per_step"] = round((_cpu_ms(voila) - cpu_before[1]) / entry["n"], 1)
                    print(f"  {layout_name} {name:<13} " + _row(controls[name]), flush=True)
                return {"start": list(view.layout), "sliders_in_page": list(view.sliders), "controls": controls}
        finally:
            server.stop()


def _row(entry: dict[str, Any]) -> str:
    sent = entry["median_key_to_sent_ms"]
    return (
        f"{entry['n']:>3} {entry['median_ms']:>8.1f} {entry['p95_ms']:>8.1f} {entry['max_ms']:>8.1f}"
        + (f" {sent:>10.1f}" if sent is not None else f" {'-':>10}")
        + f" {entry['median_key_to_src_ms']:>10.1f} {entry['median_src_to_decoded_ms']:>10.1f}"
        f" {entry['kernel_cpu_ms_per_step']:>10.1f} {entry['server_cpu_ms_per_step']:>10.1f}"
    )


def table(layouts: dict[str, dict[str, Any]]) -> str:
    """One row per layout and slider: n, median, p95, max, and the median parts; the goal per layout."""
    header = f"{'layout':<10} {'slider':<13} {'n':>3} {'median':>8} {'p95':>8} {'max':>8} {'key->sent':>10} {'key->src':>10} {'src->dec':>10} {'kernel cpu':>10} {'voila cpu':>10}"
    lines = [header, "-" * len(header)]
    for layout_name, result in layouts.items():
        for name, entry in result["controls"].items():
            lines.append(f"{layout_name:<10} {name:<13} " + _row(entry))
        worst = max(entry["p95_ms"] for entry in result["controls"].values())
        lines.append(
            f"{layout_name:<10} slowest p95 {worst:.1f} ms, goal < {BUDGET_MS[layout_name]:.0f} ms: "
            + ("met" if worst < BUDGET_MS[layout_name] else "NOT MET")
        )
    lines.append(
        "(ms in the page, performance.now(): keydown to the new figure decoded; medians of its parts: key->sent = to\n"
        " the first websocket message (the page's share), key->src = to the new src of the <img> (that, plus the\n"
        " kernel's sync and redraw and the PNG's way back), src->dec = the new figure's loading and decoding;\n"
        " kernel cpu / voila cpu = CPU time the kernel / the Voila server used per step, a mean)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, write the JSON; returns the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 steps per slider, written to bench/results/quick/")
    parser.add_argument("--steps", type=int, default=None, help="counted steps per slider (default 30, or 6 with --quick)")
    parser.add_argument("--gap", type=float, default=150.0, help="ms to wait between steps (default 150)")
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=list(LAYOUTS), metavar="LAYOUT",
                        help=f"layouts: {', '.join(LAYOUTS)}")
    parser.add_argument("--sliders", nargs="+", default=None, metavar="SLIDER",
                        help="sliders to time (default: every slider the page shows: height width window shift window_index)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: bench/results/browser.json, "
                        "or bench/results/quick/browser.json with --quick)")
    args = parser.parse_args(argv)
    steps = args.steps or (6 if args.quick else 30)
    if steps < 2 or steps % 2:
        parser.error("--steps must be an even number of at least 2 (the slider ends where it started)")
    reason = browser_unavailable()
    if reason:
        sys.exit(f"bench_browser: {reason}")
    output = args.output or ((QUICK_RESULTS if args.quick else RESULTS) / "browser.json")
    import matplotlib.font_manager  # noqa: F401  build matplotlib's font cache now, as the browser tests do
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    t0 = time.monotonic()
    layouts: dict[str, dict[str, Any]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            chromium_version = browser.version
            for layout_name in args.layouts:
                layouts[layout_name] = bench_layout(browser, layout_name, steps, args.gap, args.sliders)
        finally:
            browser.close()
    print(table(layouts))
    load = [round(v, 2) for v in (*load_before, *os.getloadavg())]
    print(
        f"Chromium {chromium_version}; load average before {load[:3]}, after {load[3:]} on {os.cpu_count()} cores; "
        f"{time.monotonic() - t0:.0f} s"
    )
    goals = {
        name: {"slowest_p95_ms": max(e["p95_ms"] for e in result["controls"].values()), "budget_ms": BUDGET_MS[name]}
        for name, result in layouts.items()
    }
    for goal in goals.values():
        goal["met"] = goal["slowest_p95_ms"] < goal["budget_ms"]
    run = {
        "steps_per_slider": steps,
        "gap_ms": args.gap,
        "warmup_steps": WARMUP_STEPS,
        "measure": "performance.now() in the page: keydown (window, capture phase) to img.decode() of the new src",
        "percentile": "p95 by nearest rank (ceil(0.95 n)-th smallest)",
        "goals": goals,
        "chromium": chromium_version,
        "playwright": version("playwright"),
        "voila": version("voila"),
        "ipywidgets": version("ipywidgets"),
        "load_average_before_after": load,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "layouts": layouts,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(run, indent=1) + "\n")
    print(f"wrote {output}")
    return run


if __name__ == "__main__":
    main(sys.argv[1:])
