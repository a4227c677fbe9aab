"""The explorer app (``make app``: Voilà serving ``app/explorer.ipynb``) in Chromium: the page loads without code or
errors, a slider redraws the figure, and every slider position the page lets a student reach draws without a
traceback.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from browser_pages import Explorer, KernelWatch, View, failure_texts, open_page, save_if_failed, save_scrolled
from browser_servers import LOGS, SCREENSHOTS, copy_content, start_voila

from swin_viz.widgets import MAX_WINDOWS, WINDOW_RANGE

LOAD_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def voila(browser, tmp_path_factory):
    """Voilà on 127.0.0.1, a free port and a token, serving a copy of ``app/explorer.ipynb``; always stopped."""
    home = tmp_path_factory.mktemp("voila")
    server = start_voila(home, copy_content(home, "app") / "app" / "explorer.ipynb", LOGS / "voila.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_page(browser, voila):
    """The app's page, loaded once for this file's tests, once its figure has loaded: ``(page, explorer, kernel)``.
    The tests run in file order: the first sees the page as it loads; the next starts from where it left it."""
    with open_page(browser) as page:
        kernel = KernelWatch(page)
        page.goto(f"{voila.url}/?token={voila.token}")
        page.locator(".widget-vbox:has(> img.widget-image)").first.wait_for(timeout=LOAD_TIMEOUT_MS)
        explorers = Explorer.all_in(page, kernel)
        assert len(explorers) == 1
        explorers[0].settled(timeout=LOAD_TIMEOUT_MS)
        yield page, explorers[0], kernel


@pytest.fixture
def app(app_page, request):
    """:func:`app_page`, with a screenshot of the page kept if the test failed."""
    yield app_page
    save_if_failed(request, app_page[0])


def _assert_no_error_shown(page, kernel: KernelWatch) -> None:
    assert failure_texts(page.locator("body").inner_text()) == []
    kernel.wait_until_idle()


def _check(view: View) -> tuple[int, int, int, int]:
    """The sliders' values and bounds and the caption describe one valid layout; return its ``(H, W, M, s)``."""
    assert view.caption_layout == view.layout, view
    height, width, window, shift = view.layout
    assert WINDOW_RANGE[0] <= window <= WINDOW_RANGE[1]
    assert height % window == 0 and width % window == 0, view
    assert view.bounds("height") == view.bounds("width") == (window, window * MAX_WINDOWS)
    assert view.bounds("shift") == (0, window - 1) and 0 <= shift < window
    n_windows = (height // window) * (width // window)
    assert view.bounds("window_index") == (0, n_windows - 1) and 0 <= view.value("window_index") < n_windows
    assert f"nW={n_windows} windows of N={window * window} tokens" in view.caption
    return view.layout


def test_app_asks_for_its_token(voila):
    address = urlsplit(voila.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 302 and response.getheader("Location", "").startswith("/login")
    finally:
        connection.close()


def test_app_loads_with_the_walkthrough_and_a_slider_redraws_it(app):
    page, explorer, kernel = app
    assert page.get_by_role("heading", name="Swin mask explorer").is_visible()
    body = page.locator("body").inner_text()
    assert "pipeline_explorer" not in body and "from swin_viz" not in body, "Voilà shows no code"
    view = explorer.view()
    assert _check(view) == (9, 9, 3, 1) and view.value("window_index") == 8
    assert view.caption.endswith("windows that need a mask: 2, 5, 6, 7, 8")
    save_scrolled(page, page.locator("#rendered_cells"), SCREENSHOTS / "app")

    digest = explorer.digest()
    view = explorer.press("shift", "ArrowRight")
    assert view is not None and _check(view) == (9, 9, 3, 2)
    assert explorer.digest() != digest, "the figure in the page did not change"
    digest = explorer.digest()
    view = explorer.drag("window_index", "min")
    assert view is not None and view.value("window_index") == 0 and explorer.digest() != digest
    explorer.screenshot(SCREENSHOTS / "app-shift-2-window-0.png")
    _assert_no_error_shown(page, kernel)


def test_the_extremes_of_each_slider_draw_without_error_at_the_smallest_walkthrough_and_largest_window(app):
    """The window M stepped (arrow keys, one redraw per step) from its smallest to its largest value; at the
    smallest, the walkthrough's (3) and the largest, the shift, the height, the width and the window k dragged to
    their largest values; then everything dragged to its smallest, and the window back to its smallest. Each move is
    one redraw, checked in the page (new figure, caption = sliders, bounds that fit the layout) and on the kernel's
    channel (no traceback). The bounds follow one rule for every M (``layout_ranges`` in ``swin_viz/widgets/_stage.py``), and
    every reachable layout is drawn in Python by ``tests/test_widgets.py``."""
    page, explorer, kernel = app
    low, high = WINDOW_RANGE
    windows_dragged = set()

    def drag(name: str, end: str) -> View:
        view = explorer.drag(name, end) or explorer.view()  # None: it was there already
        windows_dragged.add(_check(view)[2])
        assert view.value(name) == view.bounds(name)[0 if end == "min" else 1], (name, end, view)
        return view

    explorer.set("window", low)
    for window in range(low, high + 1):
        _check(explorer.set("window", window))
        if window not in (low, 3, high):
            continue
        for name in ("shift", "height", "width", "window_index"):
            view = drag(name, "max")
        side = window * MAX_WINDOWS
        assert view.layout == (side, side, window, window - 1) and view.value("window_index") == MAX_WINDOWS**2 - 1
    explorer.screenshot(SCREENSHOTS / "app-largest.png")
    for name in ("height", "width", "shift", "window_index"):
        view = drag(name, "min")
    assert view.layout == (high, high, high, 0) and view.value("window_index") == 0
    view = drag("window", "min")
    assert view.layout == (high, high, low, 0)  # the map keeps its size: 8 is a multiple of 2
    assert windows_dragged == {low, 3, high}
    _assert_no_error_shown(page, kernel)
