"""What a student sees of an explorer in the page, read and driven through the DOM only.

A :class:`swin_viz.widgets.StageExplorer` renders (in JupyterLab and in Voilà alike) as a ``.widget-vbox`` whose
children are a title, the sliders (``.widget-slider``: a label, a noUiSlider handle ``.noUi-handle`` that moves
with the keyboard once focused and announces its bounds in ``aria-valuemin``/``aria-valuemax``, a
``.widget-readout``), a caption (the second ``.widget-html``) and the figure (``img.widget-image``, a PNG behind a
``blob:`` URL that is replaced on every redraw).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from browser_servers import SCREENSHOTS

if TYPE_CHECKING:  # only for annotations: without playwright this module still imports, and the tests skip
    import pytest
    from playwright.sync_api import Browser, Locator, Page, WebSocket

#: How long a redraw may take in the page: the kernel draws a matplotlib figure (about 1 s on 2 cores).
REDRAW_TIMEOUT_MS = 30_000

#: Texts that mean a user sees a failure: a Python traceback, ipywidgets' rendering errors, the explorer's own
#: "could not draw" caption.
FAILURE_TEXTS = ("Traceback", "Error displaying widget", "Failed to display", "Error creating widget", "Cannot draw")

#: The layout the caption starts with, e.g. ``H=9, W=9, M=3, s=1:``.
CAPTION_LAYOUT = re.compile(r"^H=(\d+), W=(\d+), M=(\d+), s=(\d+):")

#: The sliders by the names of :class:`swin_viz.widgets.Settings`, and the label each shows in the page.
SLIDERS = {"height": "height H", "width": "width W", "window": "window M", "shift": "shift s", "window_index": "window k"}

#: One round trip reads everything an explorer shows (see :class:`View`).
_READ_EXPLORER = """root => {
    const sliders = {};
    for (const slider of root.querySelectorAll('.widget-slider')) {
        const handle = slider.querySelector('.noUi-handle');
        sliders[slider.querySelector('.widget-label').textContent.trim()] = [
            Number(slider.querySelector('.widget-readout').textContent.trim()),
            Number(handle.getAttribute('aria-valuemin')),
            Number(handle.getAttribute('aria-valuemax')),
        ];
    }
    const img = root.querySelector(':scope > img');
    const htmls = root.querySelectorAll(':scope > .widget-html .widget-html-content');
    return {
        sliders,
        caption: htmls.length > 1 ? htmls[1].textContent.trim() : '',
        src: img ? img.src : '',
        loaded: Boolean(img && img.complete && img.naturalWidth > 0),
    };
}"""


#: The page size every test starts with.
VIEWPORT = {"width": 1400, "height": 900}


@contextlib.contextmanager
def open_page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page (1400 x 900), closed on exit."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def save_if_failed(request: pytest.FixtureRequest, page: Page) -> None:
    """Keep a screenshot ``FAILED-<test>.png`` of ``page`` if the test that used it failed."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            page.screenshot(path=SCREENSHOTS / f"FAILED-{name}.png")
        except Exception:  # noqa: BLE001  a dead page must not hide the test's own failure
            pass


def failure_texts(text: str) -> list[str]:
    """The lines of ``text`` that carry one of :data:`FAILURE_TEXTS`."""
    return [line for line in text.splitlines() if any(marker in line for marker in FAILURE_TEXTS)]


@dataclass(frozen=True)
class View:
    """What an explorer shows at one moment: each slider's ``(value, min, max)`` by name, the caption, the figure."""

    sliders: dict[str, tuple[int, int, int]]
    caption: str
    src: str
    loaded: bool

    def value(self, name: str) -> int:
        return self.sliders[name][0]

    def bounds(self, name: str) -> tuple[int, int]:
        return self.sliders[name][1], self.sliders[name][2]

    @property
    def layout(self) -> tuple[int, int, int, int] | None:
        """``(H, W, M, s)`` as the sliders show it, or ``None`` if the explorer has not these four sliders."""
        names = ("height", "width", "window", "shift")
        if not all(name in self.sliders for name in names):
            return None
        return tuple(self.value(name) for name in names)  # type: ignore[return-value]

    @property
    def consistent(self) -> bool:
        """Whether the caption names the layout the sliders show (trivially true where either names none)."""
        return self.layout is None or self.caption_layout is None or self.caption_layout == self.layout

    @property
    def caption_layout(self) -> tuple[int, int, int, int] | None:
        """``(H, W, M, s)`` as the caption names it, or ``None`` if it names none."""
        match = CAPTION_LAYOUT.match(self.caption)
        return tuple(int(group) for group in match.groups()) if match else None  # type: ignore[return-value]


class Explorer:
    """One explorer on the page, found as the ``.widget-vbox`` that holds a figure as a direct child."""

    def __init__(self, root: Locator, kernel: KernelWatch | None = None) -> None:
        self.root = root
        self.kernel = kernel
        self.image = root.locator(":scope > img.widget-image")

    @classmethod
    def all_in(cls, scope: Page | Locator, kernel: KernelWatch | None = None) -> list[Explorer]:
        """Every explorer in ``scope``, in page order; ``kernel`` (if given) is watched after every change."""
        boxes = scope.locator(".widget-vbox:has(> img.widget-image)")
        return [cls(boxes.nth(i), kernel) for i in range(boxes.count())]

    def view(self) -> View:
        """What the explorer shows now (one round trip to the page)."""
        raw = self.root.evaluate(_READ_EXPLORER)
        labels = {label: name for name, label in SLIDERS.items()}
        sliders = {labels.get(label, label): tuple(round(number) for number in numbers) for label, numbers in raw["sliders"].items()}
        return View(sliders, raw["caption"], raw["src"], raw["loaded"])  # type: ignore[arg-type]

    def slider(self, name: str) -> Locator:
        """The slider called ``name`` (a key of :data:`SLIDERS`, e.g. ``"shift"``)."""
        label = self.root.page.get_by_text(SLIDERS.get(name, name), exact=True)
        return self.root.locator(".widget-slider").filter(has=label)

    def digest(self) -> str:
        """SHA-256 of the PNG bytes the page shows (fetched back from the image's ``blob:`` URL)."""
        return self.image.evaluate(
            """async img => {
                const bytes = await (await fetch(img.src)).arrayBuffer();
                const hash = await crypto.subtle.digest('SHA-256', bytes);
                return Array.from(new Uint8Array(hash), b => b.toString(16).padStart(2, '0')).join('');
            }"""
        )

    def screenshot(self, path: Path) -> None:
        """Save the whole explorer (sliders, caption, figure) as the page shows it, however tall it is."""
        page = self.root.page
        viewport = page.viewport_size or {"width": 1400, "height": 900}
        height = self.root.evaluate("node => node.getBoundingClientRect().height")
        try:
            page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], round(height) + 400)})
            self.root.evaluate("node => node.scrollIntoView({block: 'center'})")
            _next_frame(page)
            page.screenshot(path=path, clip=self.root.bounding_box())
        finally:
            page.set_viewport_size(viewport)

    def settled(self, not_src: str | None = None, timeout: float = REDRAW_TIMEOUT_MS) -> View:
        """Wait until the kernel has handled the page's requests without an error (if :attr:`kernel` is watched),
        the figure has loaded (a new one, given ``not_src``) and the caption names the layout the sliders show,
        where both name one (the kernel sets them after every change); return that view."""
        if self.kernel is not None:
            self.kernel.wait_until_idle(timeout)
        page, waited, view = self.root.page, 0.0, self.view()
        while not (view.loaded and view.src != not_src and view.consistent):
            if waited > timeout:
                raise AssertionError(f"the explorer did not settle within {timeout / 1000:.0f} s: {view}")
            page.wait_for_timeout(50)
            waited += 50
            view = self.view()
        return view

    def press(self, name: str, key: str) -> View | None:
        """Focus slider ``name``'s handle and press ``key`` (e.g. ArrowLeft, ArrowRight) as a student would.

        If the slider's value changed, wait for the redraw (:meth:`settled` with a new figure) and return the new
        view; return ``None`` if the key left the value where it was.
        """

        def type_key(handle: Locator) -> None:
            handle.focus()
            handle.press(key)

        return self._moved(name, type_key)

    def drag(self, name: str, end: str) -> View | None:
        """Drag slider ``name``'s handle with the mouse past the ``"min"`` or ``"max"`` end of its track and let go.

        Returns and waits as :meth:`press` does.
        """
        if end not in ("min", "max"):
            raise ValueError(f"end must be 'min' or 'max', got {end!r}")
        mouse = self.root.page.mouse

        def drag_handle(handle: Locator) -> None:
            handle.scroll_into_view_if_needed()
            track, box = self.slider(name).locator(".noUi-base").bounding_box(), handle.bounding_box()
            y = box["y"] + box["height"] / 2
            mouse.move(box["x"] + box["width"] / 2, y)
            mouse.down()
            mouse.move(track["x"] - 40 if end == "min" else track["x"] + track["width"] + 40, y, steps=8)
            mouse.up()

        return self._moved(name, drag_handle)

    def _moved(self, name: str, move: Callable[[Locator], None]) -> View | None:
        before = self.view()
        move(self.slider(name).locator(".noUi-handle"))
        if self.view().value(name) == before.value(name):
            return None
        return self.settled(not_src=before.src)

    def set(self, name: str, value: int) -> View:
        """Bring slider ``name`` to ``value`` with the arrow keys, one redraw per step; return the last view."""
        view = self.view()
        while view.value(name) != value:
            moved = self.press(name, "ArrowRight" if value > view.value(name) else "ArrowLeft")
            if moved is None:
                raise AssertionError(f"slider {name} stuck at {view.value(name)}, wanted {value}: {view}")
            view = moved
        return view


#: stderr lines a kernel writes when JupyterLab's widget manager probes it before ipywidgets is imported (its
#: ``jupyter.widget.control`` comm, used to restore widgets): plumbing, not an error a student could cause or see.
WIDGET_PROBE_NOISE = re.compile(r"^No such comm(?: target registered)?: \S+$")


class KernelWatch:
    """What the page's kernels say back: errors, and whether every request the page sent has been handled.

    Listens to the kernel websockets of ``page`` and decodes each frame (JSON, or the binary
    ``v1.kernel.websocket.jupyter.org`` framing: a count, offsets, then channel, header, parent, metadata, content).

    * :attr:`errors`: every ``error`` message (e.g. a traceback from a widget callback) and every ``stderr``
      stream, unless all its lines are :data:`WIDGET_PROBE_NOISE`.
    * :attr:`pending`: the ids of the shell requests the page sent (a slider's ``comm_msg``, an
      ``execute_request``, ...) whose ``idle`` status has not come back yet. A traceback is sent before that
      ``idle``, so once nothing is pending every error so far has arrived.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.pending: set[str] = set()
        page.on("websocket", self._attach)

    def _attach(self, socket: WebSocket) -> None:
        if "/channels" in socket.url:
            socket.on("framesent", self._on_sent)
            socket.on("framereceived", self._on_received)

    def _on_sent(self, payload: bytes | str) -> None:
        message = _decode(payload)
        if message and message[0] == "shell":
            self.pending.add(message[1]["msg_id"])

    def _on_received(self, payload: bytes | str) -> None:
        message = _decode(payload)
        if not message or message[0] != "iopub":
            return
        channel, header, parent, content = message
        kind = header.get("msg_type")
        if kind == "status" and content.get("execution_state") == "idle":
            self.pending.discard(parent.get("msg_id"))
        elif kind == "error":
            self.errors.append(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(content.get("traceback", []))))
        elif kind == "stream" and content.get("name") == "stderr":
            lines = [line for line in content.get("text", "").splitlines() if line.strip()]
            if not all(WIDGET_PROBE_NOISE.match(line) for line in lines):
                self.errors.append(content["text"])

    def wait_until_idle(self, timeout: float = REDRAW_TIMEOUT_MS) -> None:
        """Wait until the kernels have handled every request the page sent (fail at once on an error)."""
        waited = 0.0
        while self.pending and not self.errors:
            if waited > timeout:
                raise AssertionError(f"the kernel did not finish {len(self.pending)} request(s) within {timeout / 1000:.0f} s")
            self.page.wait_for_timeout(50)  # Playwright delivers the websocket frames while it waits
            waited += 50
        assert self.errors == [], "the kernel reported:\n" + "\n".join(self.errors)


def _decode(payload: bytes | str) -> tuple[str, dict, dict, dict] | None:
    """``(channel, header, parent_header, content)`` of a kernel websocket frame, or ``None`` if it is none."""
    try:
        if isinstance(payload, str):
            message = json.loads(payload)
            return message["channel"], message["header"], message["parent_header"], message["content"]
        count = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
        parts = [payload[start:end] for start, end in zip(offsets, offsets[1:])]
        return parts[0].decode(), json.loads(parts[1]), json.loads(parts[2]), json.loads(parts[4])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _next_frame(page: Page) -> None:
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def save_scrolled(page: Page, scroller: Locator, path_stem: Path, max_height: int = 12_000) -> list[Path]:
    """Screenshot everything inside the scrolling element ``scroller`` (e.g. a notebook), not only the visible part.

    The viewport is made as tall as the content, then restored. Content taller than ``max_height`` pixels is
    saved in equal pieces, ``<stem>-1.png``, ``<stem>-2.png``, ...; otherwise as ``<stem>.png``.
    """
    viewport = page.viewport_size or {"width": 1400, "height": 900}
    total = scroller.evaluate("node => node.scrollHeight")
    chrome = viewport["height"] - scroller.evaluate("node => node.clientHeight")
    pieces = -(-total // max_height)
    step = -(-total // pieces)
    paths = []
    try:
        for number, top in enumerate(range(0, total, step), start=1):
            page.set_viewport_size({"width": viewport["width"], "height": min(step, total - top) + chrome})
            scroller.evaluate("(node, top) => { node.scrollTop = top; }", top)
            _next_frame(page)
            path = path_stem.with_name(f"{path_stem.name}-{number}.png" if pieces > 1 else f"{path_stem.name}.png")
            page.screenshot(path=path)
            paths.append(path)
    finally:
        page.set_viewport_size(viewport)
    return paths
