"""The static site's pages without a kernel: links, weights, and no script from a CDN.

The browser test (tests/browser/test_site_offline.py) reads a rendered lesson with the
network cut off; these check the pieces that decide what it finds, on small notebooks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import load_tool

ROOT = Path(__file__).resolve().parent.parent
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbconvert")


@pytest.fixture(scope="module")
def render():
    return load_tool("render_site")


def _lesson(markdown: str, *outputs) -> object:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(net.weights)")
    code.outputs = list(outputs)
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), code]
    return nb


def _weights(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_a_page_loads_nothing_from_another_machine(render):
    widget = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0}},
    )
    nb = _lesson("The Gram matrix $G^l = F^l F^{l\\top}$.", widget)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    page = render.to_html(nb, "lesson", page="lesson.html")
    sources = re.findall(r'<(?:script|link|img|iframe)[^>]*\s(?:src|href)="([^"]*)"', page)
    assert sources == [f"mathjax/MathJax.js?config={render.MATHJAX_CONFIG}"]
    assert "import(" not in page and "cdn" not in page.lower()  # no widget manager, no mermaid loader
    assert render.WIDGET_NOTE in page and "widget-state+json" not in page
    deeper = render.to_html(_lesson("text"), "docs page", page="docs/page.html")
    assert '<script src="../mathjax/MathJax.js' in deeper


def test_the_site_carries_mathjax(render):
    assert (render.mathjax_source() / "MathJax.js").is_file()
    assert (render.mathjax_source() / "config" / f"{render.MATHJAX_CONFIG.split(',')[0]}.js").is_file()


def test_links_to_repository_files_point_into_the_site(render):
    lessons = {ROOT / "notebooks" / "01-feature-reconstruction.ipynb": "01-feature-reconstruction.html"}
    page = (
        '<head><script src="mathjax/MathJax.js"></script></head><body>'
        '<a href="../docs/layer-names.md#Sizes">names</a> <a href="01-feature-reconstruction.ipynb">01</a> '
        '<a href="https://example.org/x.md">away</a> <a href="#top">top</a> <a href="../docs/missing.md">gone</a>'
        "</body>"
    )
    text, needed, dead = render.rewrite_links(page, base=ROOT / "notebooks", page="00-x.html", lessons=lessons)
    assert 'href="docs/layer-names.html#Sizes"' in text
    assert 'href="01-feature-reconstruction.html"' in text
    assert 'href="https://example.org/x.md"' in text and 'href="#top"' in text
    assert '<script src="mathjax/MathJax.js">' in text  # the head is the site's own
    assert needed == {ROOT / "docs" / "layer-names.md"}
    assert dead == ["../docs/missing.md"]
    # a docs page one folder down links back up to the lessons
    text, _, _ = render.rewrite_links(
        '<body><a href="../notebooks/01-feature-reconstruction.ipynb">01</a></body>',
        base=ROOT / "docs",
        page="docs/layer-names.html",
        lessons=lessons,
    )
    assert 'href="../01-feature-reconstruction.html"' in text


def test_the_index_names_the_weights_the_pages_printed(render):
    untrained = render.weights_used(_lesson("x", _weights("weights: random (untrained, seed 0)\npooling: max\n")))
    assert untrained == "random (untrained, seed 0)"
    assert render.weights_used(_lesson("x")) is None
    index = render.index_page([("00.html", "00", 1.0, untrained), ("01.html", "01", 2.0, untrained)], quick=True)
    assert "untrained (random) weights" in index and "<code>auto" not in index
    imagenet = "imagenet (torchvision VGG19_Weights.IMAGENET1K_V1)"
    mixed = render.index_page([("00.html", "00", 1.0, imagenet), ("01.html", "01", 2.0, None)], quick=False)
    assert "<li>00: <strong>trained weights</strong>" in mixed and "<li>01: weights the page does not state" in mixed


def test_a_linked_markdown_page_is_rendered_and_its_files_copied(render, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "ROOT", tmp_path)
    monkeypatch.setattr(render, "NOTEBOOKS", tmp_path / "notebooks")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "docs" / "images").mkdir(parents=True)
    (tmp_path / "docs" / "images" / "a.png").write_bytes(b"png")
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n![a](images/a.png) and $x^2$.\n")
    printed = _weights("weights: imagenet (torchvision VGG19_Weights.IMAGENET1K_V1)\n")
    nb = _lesson("See [the guide](../docs/guide.md).", printed)
    dead = render.write_site(tmp_path / "site", [("00-x", nb, 1.0)], quick=True)
    assert dead == []
    site = tmp_path / "site"
    assert 'href="docs/guide.html"' in (site / "00-x.html").read_text()
    guide = (site / "docs" / "guide.html").read_text()
    assert 'src="images/a.png"' in guide and (site / "docs" / "images" / "a.png").read_bytes() == b"png"
    assert (site / "mathjax" / "MathJax.js").is_file()
    assert "trained weights" in (site / "index.html").read_text()
