"""The rendered site, read in headless Chromium with the network cut off.

tools/render_site.py renders lesson 00 in quick mode into a temporary folder; every
page is opened from file:// with each request that would leave the machine aborted
and counted. The test fails if any was attempted, if the maths is not typeset by the
site's own MathJax, if a picture does not load, or if a link leads nowhere.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from support import load_tool

LESSON = "00-what-the-network-sees"
RAW_MATHS = re.compile(r"\$[^$\s][^$]*\$")


def _render(out: Path) -> None:
    render = load_tool("render_site")
    assert render.main([str(out), LESSON[:2], "--quick"]) == 0


def _links(page) -> tuple[list[str], set[str]]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
    return hrefs, ids


def test_the_site_reads_offline(tmp_path, browser, monkeypatch):
    monkeypatch.setenv("NST_COURSE_WEIGHTS", "random")
    monkeypatch.setenv("NST_COURSE_QUICK", "1")  # restored afterwards; the tool sets it for its kernels
    site = tmp_path / "site"
    _render(site)

    off_machine: list[str] = []

    def local_only(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            off_machine.append(url)
            route.abort()

    context = browser.new_context()
    context.route("**/*", local_only)
    context.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else off_machine.append(r.url))
    try:
        page = context.new_page()

        def visit(path: Path) -> None:
            page.goto(path.as_uri(), wait_until="load")
            assert off_machine == [], f"{path.name} tried to leave the machine: {off_machine[:5]}"

        visit(site / "index.html")
        assert "untrained (random) weights" in page.inner_text("body")
        assert "auto" not in page.inner_text("body")

        visit(site / f"{LESSON}.html")
        assert page.evaluate("() => typeof MathJax !== 'undefined' && !!MathJax.Hub"), "MathJax did not load"
        page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")  # typesetting finished
        formulas = page.locator('script[type^="math/tex"]').count()
        assert formulas >= 3, f"only {formulas} formulas typeset"
        assert page.locator("span.MathJax, div.MathJax_Display").count() >= formulas
        assert page.locator(".MathJax_Error, merror").count() == 0
        prose = "\n".join(page.locator(".jp-MarkdownOutput").all_inner_texts())
        assert not RAW_MATHS.search(prose), f"maths left as text: {RAW_MATHS.search(prose).group(0)!r}"
        widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
        assert len(widths) >= 2 and all(width > 0 for width in widths), widths

        pages = sorted(p for p in site.rglob("*.html") if "mathjax" not in p.relative_to(site).parts)
        assert (site / "docs" / "layer-names.html") in pages  # the page the lesson links
        for html_file in pages:
            visit(html_file)
            hrefs, ids = _links(page)
            for href in hrefs:
                path, _, fragment = href.partition("#")
                if re.match(r"^[a-z]+:", path):
                    continue  # another site: never fetched unless a reader follows it
                target = (html_file.parent / urllib.parse.unquote(path)).resolve() if path else html_file
                assert target.is_file(), f"{html_file.name} links {href}, which is not on the site"
                if fragment and target == html_file:
                    assert {fragment, urllib.parse.unquote(fragment)} & ids, f"{html_file.name}: no anchor {href}"
    finally:
        context.close()
    assert off_machine == [], f"{len(off_machine)} request(s) tried to leave the machine: {off_machine[:5]}"
