"""What the browser fixtures and tests share: paths, the browser's flags, the demo notebook."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The lessons to test; NST_COURSE_NOTEBOOKS points at another folder (e.g. freshly built ones).
NOTEBOOKS = Path(os.environ.get("NST_COURSE_NOTEBOOKS") or ROOT / "notebooks")
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path(os.environ.get("NST_COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds a whole notebook may take to run in the quick mode.
NOTEBOOK_TIMEOUT = 300
OVERRIDES = {
    # no "news" toast over the screenshots, no update check (there is no network)
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # keep every cell in the page, so that every output can be checked
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


#: Run when notebooks/ has no lessons yet, and always as a check of the widgets alone:
#: every explorer on tiny images (a few seconds in all).
DEMO_NAME = "widgets-demo.ipynb"
DEMO_CELLS = [
    "import nst_course as nst\n"
    "from nst_course import widgets\n"
    "from nst_course.engine.featurevis import VisSettings\n"
    "\n"
    "net = nst.load_vgg19()\n"
    "settings = nst.Settings(size=48, steps=40)\n"
    "photo, painting = nst.load_image('town', size=96), nst.load_image('swirls', size=96)\n"
    "print(net.weights)",
    "widgets.feature_maps_explorer(photo, net, size=64)",
    "widgets.reconstruction_explorer(photo, net, settings=settings)",
    "widgets.texture_explorer(painting, net, settings=settings)",
    "widgets.transfer_explorer(photo, painting, net, settings=settings)",
    "widgets.channel_explorer(net, layer='relu1_1', settings=VisSettings(size=48, steps=40))",
]


def write_demo(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# The explorers, on tiny images")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in DEMO_CELLS]
    nbformat.write(notebook, path)


def screenshot_name(notebook: str, suffix: str = "") -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(notebook).stem)
    return SCREENSHOTS / f"{stem}{suffix}.png"
