"""Each lesson in JupyterLab, the way a learner uses it: Run All, then the main widget.

For every notebook: run all cells and check that no cell shows an error; then
take the lesson's main explorer, change its choice, press Run, and check that
the live preview changes while it runs and that the caption names the choice;
start a long run, press Stop, and check that the image shown so far stays.
A screenshot of each notebook (and of each explorer after its run) goes to
artifacts/screenshots/. While notebooks/ holds no lessons, a demo notebook of
all four explorers is tested instead.

Run only these: ``pytest -m browser``; skip them: ``pytest -m "not browser"``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import DEMO_NAME, NOTEBOOK_TIMEOUT, NOTEBOOKS, screenshot_name

#: The main explorer of each lesson, by the lesson's number.
MAIN_EXPLORER = {
    "00": "feature-maps",
    "01": "reconstruction",
    "02": "texture",
    "03": "transfer",
    "04": "trade-off",
    "06": "channel",
}
#: Seconds one widget run may take.
RUN_TIMEOUT = 120
VIEWPORT = {"width": 1400, "height": 1000}


def _notebooks() -> list[str]:
    """The lessons; the demo of the explorers while there are none yet."""
    lessons = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")) if NOTEBOOKS.is_dir() else []
    return lessons or [DEMO_NAME]


def _kinds(name: str) -> list[str]:
    """The explorers to drive in a notebook: its main one (all of them in the demo)."""
    if name == DEMO_NAME:
        return list(MAIN_EXPLORER.values())
    kind = MAIN_EXPLORER.get(name[:2])
    return [kind] if kind else []


def _for(*kinds: str):
    """The explorers a widget test applies to."""

    def mark(test):
        test.kinds = kinds
        return test

    return mark


def pytest_generate_tests(metafunc):
    """One group of tests per notebook (opened once); widget tests only for its explorers."""
    if "opened" not in metafunc.fixturenames:
        return
    notebooks = _notebooks()
    if "kind" in metafunc.fixturenames:
        wanted = metafunc.function.kinds
        pairs = [(name, kind) for name in notebooks for kind in _kinds(name) if kind in wanted]
        ids = [f"{name}-{kind}" for name, kind in pairs]
        metafunc.parametrize(("opened", "kind"), pairs, indirect=["opened"], ids=ids, scope="module")
    else:
        metafunc.parametrize("opened", notebooks, indirect=True, scope="module")


@dataclass
class Opened:
    """A notebook open in the browser after Run All."""

    name: str
    page: object
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def explorers(self, kind: str):
        return self.page.locator(f".nst-explorer-{kind}")


# ------------------------------------------------------------------ page helpers

#: The code cells of the notebook on show (other tabs' cells stay in the page, hidden).
_CELLS = "document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')"

_PROMPTS_JS = """() => Array.from(CELLS).map(cell => {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const editor = cell.querySelector('.jp-InputArea-editor');
    return {prompt: prompt ? prompt.textContent.trim() : '', empty: !(editor && editor.textContent.trim())};
})""".replace("CELLS", _CELLS)

_OUTPUT_PROBLEMS_JS = """() => Array.from(CELLS).map((cell, i) => {
    const problems = [];
    for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
        const text = out.innerText || '';
        const mime = out.getAttribute('data-mime-type') || '';
        const stderr = mime === 'application/vnd.jupyter.stderr';
        if (stderr && /Traceback|Error/.test(text)) problems.push(text.slice(0, 600));
        if (/Error displaying widget|Error rendering output/.test(text)) problems.push(text.slice(0, 300));
        const figureAsText = /^<Figure size [0-9.x]+ with \\d+ Axes>$/.test(text.trim());
        if (figureAsText) problems.push('a figure shown as text, not drawn: ' + text);
    }
    return problems;
})""".replace("CELLS", _CELLS)


def _kernel_status(page) -> str:
    return " ".join(page.locator(".jp-StatusBar-Widget").all_inner_texts())


def _wait_idle(page, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "Idle" not in _kernel_status(page):
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel did not become idle within {timeout} s: {_kernel_status(page)!r}")
        page.wait_for_timeout(250)


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _wait_for_run_all(page, name: str) -> None:
    deadline = time.monotonic() + NOTEBOOK_TIMEOUT
    stable = 0
    while stable < 3:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not finish within {NOTEBOOK_TIMEOUT} s: {page.evaluate(_PROMPTS_JS)}")
        page.wait_for_timeout(400)
        prompts = page.evaluate(_PROMPTS_JS)
        busy = any(p["prompt"] == "[*]:" for p in prompts)
        started = bool(prompts) and re.fullmatch(r"\[\d+\]:", prompts[0]["prompt"])
        stable = stable + 1 if started and not busy and "Idle" in _kernel_status(page) else 0


def _expected_errors(path: Path) -> set[int]:
    """Code cells tagged ``raises-exception``: their error is part of the lesson."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return {i for i, c in enumerate(cells) if "raises-exception" in c.get("metadata", {}).get("tags", [])}


def _readout(slider, value) -> None:
    """Type a value into a slider's readout, as a learner can."""
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(str(value))
    readout.press("Enter")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect  # here: the suite skips without playwright

    return playwright_expect(locator)


def _src(locator) -> str:
    return locator.get_attribute("src") or ""


def _text(locator) -> str:
    return locator.inner_text().strip()


def _status_error(explorer) -> str:
    status = _text(explorer.locator(".nst-status"))
    return status if "Error" in status else ""


#: Counts, in the page, every new picture in the preview and whether the run was still going
#: (no caption yet): polling from here could miss updates on a busy machine.
_WATCH_PREVIEW_JS = """(explorer) => {
    const img = explorer.querySelector('img.nst-preview');
    const caption = explorer.querySelector('.nst-caption');
    const log = {changes: 0, whileRunning: 0};
    const observer = new MutationObserver(() => {
        log.changes += 1;
        if (!caption.innerText.trim()) log.whileRunning += 1;
    });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
    explorer.nstPreviewLog = log;
}"""


@dataclass
class Watched:
    first_src: str
    caption: str
    changes: int  # new pictures in the preview
    while_running: int  # of those, before the caption came


def _press_run_and_watch(explorer, *, stop_after: int | None = None) -> Watched:
    """Press Run and watch the preview until the caption appears.

    With ``stop_after``, press Stop once the preview has shown that many pictures.
    """
    caption = explorer.locator(".nst-caption")
    page = explorer.page
    first = _src(explorer.locator("img.nst-preview"))
    explorer.evaluate(_WATCH_PREVIEW_JS)
    explorer.locator("button.nst-run").click()
    deadline = time.monotonic() + RUN_TIMEOUT
    while _text(caption):  # the last run's caption goes when the new run starts
        assert not _status_error(explorer), f"the widget reported: {_status_error(explorer)}"
        assert time.monotonic() < deadline, "pressing Run did not start a new run"
        page.wait_for_timeout(20)
    stopped = False
    while not _text(caption):
        error = _status_error(explorer)
        assert not error, f"the widget reported: {error}"
        assert time.monotonic() < deadline, f"no caption after {RUN_TIMEOUT} s; status: {_text(explorer)!r}"
        if stop_after is not None and not stopped and explorer.evaluate("e => e.nstPreviewLog.changes") >= stop_after:
            explorer.locator("button.nst-stop").click()
            stopped = True
        page.wait_for_timeout(50)
    log = explorer.evaluate("e => e.nstPreviewLog")
    return Watched(first, _text(caption), log["changes"], log["whileRunning"])


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def opened(request, lab, browser):
    """The notebook open in Chromium after Run All; screenshots at the end."""
    name = request.param
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(lab.page_url(name))
        page.locator(".jp-Notebook").first.wait_for()
        _wait_idle(page, timeout=90)
        _run_all(page)
        page.wait_for_timeout(1000)
        if not re.fullmatch(r"\[[\d*]+\]:", page.evaluate(_PROMPTS_JS)[0]["prompt"]):
            _run_all(page)  # the first try can come before the kernel is connected
        _wait_for_run_all(page, name)
        notebook = Opened(name, page)
        yield notebook
        _screenshot(page, name)
    finally:
        context.close()
        lab.shut_down_kernels()


_SCROLLER_JS = "() => document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"


def _screenshot(page, name: str) -> None:
    """The whole notebook in one picture: grow the window to the notebook's height."""
    height = page.evaluate(f"() => {{ const n = ({_SCROLLER_JS})(); return n ? n.scrollHeight : 1000; }}")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(16000, max(1000, int(height) + 200))})
    page.wait_for_timeout(500)
    page.evaluate(f"() => {{ const n = ({_SCROLLER_JS})(); if (n) n.scrollTop = 0; }}")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_name(name)))
    page.set_viewport_size(VIEWPORT)


def _element_screenshot(element, path: Path) -> None:
    """One widget, whole: a window tall enough for it, then back."""
    page = element.page
    box = element.bounding_box()
    if box and box["height"] + 200 > VIEWPORT["height"]:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(box["height"]) + 300})
        page.wait_for_timeout(300)
    element.scroll_into_view_if_needed()
    element.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


# ------------------------------------------------------------------ the tests


def test_every_cell_runs_without_an_error(opened, lab):
    prompts = opened.page.evaluate(_PROMPTS_JS)
    unrun = [i for i, p in enumerate(prompts) if not p["empty"] and not re.fullmatch(r"\[\d+\]:", p["prompt"])]
    problems = opened.page.evaluate(_OUTPUT_PROBLEMS_JS)
    expected = _expected_errors(lab.root / opened.name)
    found = {i: p for i, p in enumerate(problems) if p and i not in expected}
    messages = [f"code cell {i}: {p[0]}" for i, p in found.items()]
    assert not found, f"{opened.name} shows errors:\n" + "\n\n".join(messages)
    assert not unrun, f"{opened.name}: code cells {unrun} did not run (prompts {[prompts[i] for i in unrun]})"
    page_text = opened.page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in page_text


def _main_explorer(opened, kind: str):

    explorers = opened.explorers(kind)
    assert explorers.count() >= 1, f"{opened.name} shows no {kind} explorer"
    explorer = explorers.first
    explorer.scroll_into_view_if_needed()
    return explorer


#: For each kind: how to change the choice, and what the caption must then say.
def _choose(explorer, kind: str) -> list[str]:
    if kind == "reconstruction":
        explorer.locator(".nst-layer select").select_option("conv3_2")
        return ["Reconstruction from conv3_2", "weights", "loss fell"]
    if kind == "texture":
        explorer.locator(".nst-layer-set select").select_option(label="relu1_1 + relu2_1")  # a preset
        return ["Texture from relu1_1 + relu2_1 —", "weights", "loss fell"]
    if kind == "transfer":
        _readout(explorer.locator(".nst-style-weight"), 100)
        explorer.locator(".nst-layer select").select_option("conv3_2")
        explorer.locator("select.nst-layers, .nst-layers select").first.select_option(["conv1_1", "conv3_1"])  # by hand
        return ["β = 100", "content conv3_2", "style conv1_1 + conv3_1 —", "weights", "loss fell"]
    if kind == "trade-off":
        _readout(explorer.locator(".nst-paper-ratio"), 0.0001)
        explorer.locator(".nst-layer-set select").select_option(label="relu1_1 + relu2_1")  # row 2 of Fig. 4
        return ["Paper α/β = 1e-04 → β = ", "style relu1_1 + relu2_1 —", "weights", "loss fell"]
    if kind == "channel":
        explorer.locator(".nst-layer select").select_option("relu2_1")
        _readout(explorer.locator(".widget-slider", has_text="channel"), 5)
        return ["relu2_1 channel 5 —", "weights", "mean activation"]
    raise AssertionError(kind)


@_for("feature-maps")
def test_feature_maps_follow_the_chosen_layer(opened, kind):
    explorer = _main_explorer(opened, "feature-maps")
    figure = explorer.locator("img.nst-figure")
    before = _src(figure)
    assert before, "no feature maps shown"
    explorer.locator(".nst-layer select").select_option("conv3_1")
    caption = explorer.locator(".nst-caption")
    deadline = time.monotonic() + 30
    while "conv3_1" not in _text(caption):
        assert time.monotonic() < deadline, f"caption did not follow the layer: {_text(caption)!r}"
        opened.page.wait_for_timeout(100)
    assert "256 feature maps" in _text(caption) and "weights" in _text(caption)
    assert _src(figure) != before, "the feature maps did not change with the layer"
    assert "Error" not in _text(caption)


@_for("reconstruction", "texture", "transfer", "trade-off", "channel")
def test_run_shows_a_live_preview_and_names_the_choice(opened, kind):
    explorer = _main_explorer(opened, kind)
    expected = _choose(explorer, kind)
    _readout(explorer.locator(".widget-slider", has_text="steps"), 40)
    watched = _press_run_and_watch(explorer)
    caption = watched.caption
    # the last picture comes just before the caption; any before it are live updates
    assert watched.while_running >= 2, (
        f"the preview showed {watched.while_running} picture(s) while running: no live updates"
    )
    for words in expected:
        assert words in caption, f"the caption {caption!r} does not say {words!r}"
    assert "stopped" not in caption
    assert not _status_error(explorer)
    expect(explorer.locator("button.nst-run")).to_be_enabled()
    expect(explorer.locator("button.nst-stop")).to_be_disabled()
    figures = explorer.locator("img.nst-figure")
    assert figures.count() >= 1 and all(_src(figures.nth(i)) for i in range(figures.count()))
    _element_screenshot(explorer, screenshot_name(opened.name, f"-{kind}"))


@_for("reconstruction", "texture", "transfer", "trade-off", "channel")
def test_stop_ends_the_run_and_keeps_the_image(opened, kind):
    explorer = _main_explorer(opened, kind)
    _readout(explorer.locator(".widget-slider", has_text="steps"), 500)
    started = time.monotonic()
    watched = _press_run_and_watch(explorer, stop_after=2)
    caption = watched.caption
    assert "stopped at step" in caption, f"the caption {caption!r} does not say the run was stopped"
    steps = int(re.search(r"stopped at step (\d+) of 500", caption).group(1))
    assert steps < 500, caption
    kept = _src(explorer.locator("img.nst-preview"))
    assert kept and kept != watched.first_src, "the preview went back to the placeholder"
    explorer.page.wait_for_timeout(1000)
    assert _src(explorer.locator("img.nst-preview")) == kept, "the preview changed after the run stopped"
    expect(explorer.locator("button.nst-run")).to_be_enabled()
    assert time.monotonic() - started < RUN_TIMEOUT
