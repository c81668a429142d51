"""Render the lessons, executed, as a static HTML site that reads offline.

Each notebook runs top to bottom in a fresh kernel (the solutions by default, so that
every exercise has its answer) and is written as one HTML page, its pictures embedded;
``index.html`` links the pages and says which weights drew the pictures, as the pages'
own outputs report them (``weights: ...``).

    python tools/render_site.py site/                  # default settings: a few minutes per lesson on a CPU
    python tools/render_site.py site/ --learner        # the learner versions (exercises left as TODO)
    python tools/render_site.py site/ 01 --quick       # one lesson in the test mode (tiny pictures)

Nothing on a page asks the network for anything:

* the maths is typeset by MathJax 2, copied into ``site/mathjax/`` from the
  ``jupyter-server-mathjax`` package (the copy Jupyter's own server uses);
* the pages come from nbconvert's HTML exporter with its "lab" template, less the
  scripts it would load from a CDN (require.js, the widget manager, mermaid): the
  site has no kernel, so a widget output shows one line saying it needs one
  (the explorers, run without a front end, draw their default choice as pictures);
* a link to a repository file is rewritten to that file on the site: a Markdown
  page (``../docs/layer-names.md``) is rendered into the site too, another file is
  copied. A link to a file that does not exist is reported and the command exits 1.

Every page is linked as if it sat in ``notebooks/`` (where the learners open the lessons),
the solutions too. Jupyter Book 2 (MyST) is not used: its HTML build downloads its
theme from api.mystmd.org, so it does not build without a network.
"""

from __future__ import annotations

import argparse
import html
import os
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MATHJAX_FOLDER = "mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the configuration jupyter-server-mathjax ships
WIDGET_NOTE = "An interactive explorer: it needs a running kernel. Open the notebook in JupyterLab to use it."

# nbconvert's "lab" page, less every script it would fetch from a CDN.
OFFLINE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ATTRIBUTE = re.compile(r'(?P<name>\s(?:href|src))="(?P<value>[^"]*)"')
WEIGHTS_LINE = re.compile(r"^weights: (?P<weights>.+)$", re.MULTILINE)


def mathjax_source() -> Path:
    """The folder of MathJax that jupyter-server-mathjax installs (exits with one line without it)."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise SystemExit(
            "render_site: the maths needs MathJax from the jupyter-server-mathjax package: "
            'pip install jupyter-server-mathjax (or pip install -e ".[test]")'
        ) from None
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def execute(path: Path, *, timeout: int):
    """The notebook at ``path``, executed in a fresh kernel started in the repository's folder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def weights_used(nb) -> str | None:
    """The weights a lesson's outputs name (its ``weights: ...`` line), or None when none does."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                found = WEIGHTS_LINE.search(output.get("text", ""))
                if found:
                    return found.group("weights").strip()
    return None


def describe_weights(weights: str | None) -> str:
    """Plain words (HTML) for a ``net.weights`` value."""
    if weights is None:
        return "weights the page does not state (no <code>weights:</code> line in its outputs)"
    if weights.startswith("random"):
        return f"<strong>untrained (random) weights</strong>: <code>{html.escape(weights)}</code>"
    if weights.startswith("imagenet"):
        return f"<strong>trained weights</strong> (VGG-19 trained on ImageNet): <code>{html.escape(weights)}</code>"
    return f"the weights <code>{html.escape(weights)}</code>"


def static_notebook(nb):
    """The notebook without its widgets: the site has no kernel to drive them, so each widget
    output becomes one line saying so (the explorers' plain runs, made without a front end, stay)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/plain": WIDGET_NOTE}
    return nb


def markdown_notebook(text: str):
    """A Markdown file as a one-cell notebook, so that it renders like the lessons (maths included)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return nb


def to_html(nb, title: str, *, page: str) -> str:
    """One page (pictures embedded as data URIs) that loads MathJax from the site's own copy."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    up = "../" * page.count("/")
    exporter = HTMLExporter(
        template_name="lab",
        template_file="offline.html.j2",
        extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        mathjax_url=f"{up}{MATHJAX_FOLDER}/MathJax.js?config={MATHJAX_CONFIG}",
    )
    body, _ = exporter.from_notebook_node(static_notebook(nb), resources={"metadata": {"name": title}})
    return body


def site_path(target: Path, lessons: dict[Path, str]) -> str:
    """Where a repository file is on the site: a lesson's page, a Markdown file's page, or a copy."""
    if target in lessons:
        return lessons[target]
    relative = target.relative_to(ROOT).as_posix()
    return relative[: -len(".md")] + ".html" if relative.endswith(".md") else relative


def rewrite_links(page_html: str, *, base: Path, page: str, lessons: dict[Path, str]):
    """``page_html`` with its links to repository files pointing into the site.

    ``base`` is the repository folder the page's links are relative to, ``page`` the
    page's path on the site, ``lessons`` each lesson notebook's page. Returns the new
    HTML, the repository files the site must hold for it, and the links that lead
    nowhere. Only the body is rewritten (the head holds the site's own MathJax).
    """
    head, separator, body = page_html.partition("<body")
    if not separator:
        head, body = "", page_html
    needed: set[Path] = set()
    dead: list[str] = []

    def replace(match: re.Match) -> str:
        value = html.unescape(match.group("value"))
        path, hash_mark, fragment = value.partition("#")
        if not path or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path) or path.startswith("/"):
            return match.group(0)  # an anchor on the page, another site, a data: URI
        target = (base / path).resolve()
        if not target.is_file() or ROOT not in target.parents:
            dead.append(value)
            return match.group(0)
        if target not in lessons:
            needed.add(target)
        new = posixpath.relpath(site_path(target, lessons), posixpath.dirname(page) or ".") + hash_mark + fragment
        return f'{match.group("name")}="{html.escape(new)}"'

    return head + separator + ATTRIBUTE.sub(replace, body), needed, dead


def index_page(pages: list[tuple[str, str, float, str | None]], *, quick: bool) -> str:
    """The site's first page: the lessons, and the weights their pictures were made with."""
    rows = "\n".join(
        f'<li><a href="{html.escape(name)}">{html.escape(title)}</a> <small>(ran in {seconds:.0f} s)</small></li>'
        for name, title, seconds, _ in pages
    )
    mode = " in the QUICK test mode (tiny pictures)" if quick else " at the lessons' default settings"
    named = {weights for *_, weights in pages}
    if len(named) == 1:
        weights = f"<p>The pictures were made with {describe_weights(named.pop())}.</p>"
    else:
        each = "\n".join(f"<li>{html.escape(title)}: {describe_weights(w)}</li>" for _, title, _, w in pages)
        weights = f"<p>The pictures were made with these weights:</p>\n<ul>\n{each}\n</ul>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nst-course: the lessons, executed</title></head>
<body style="font-family: sans-serif; max-width: 48em; margin: 2em auto">
<h1>nst-course: the lessons, executed</h1>
<p>Each lesson was run top to bottom{mode}.</p>
{weights}
<p>The interactive explorers need a running kernel: open the notebooks in JupyterLab to use them.</p>
<ol>
{rows}
</ol>
</body></html>
"""


def write_site(
    out: Path, rendered: list[tuple[str, object, float]], *, quick: bool, base: Path | None = None
) -> list[str]:
    """Write the pages of executed notebooks ``(title, notebook, seconds)``, with every page and
    file they link, MathJax and the index, into ``out``. ``base``: the folder the notebooks came
    from, which their relative links start from. Returns the dead links, one line each."""
    shutil.copytree(mathjax_source(), out / MATHJAX_FOLDER, dirs_exist_ok=True)
    lessons: dict[Path, str] = {}
    for title, _, _ in rendered:
        for folder in (NOTEBOOKS, NOTEBOOKS / "solutions"):
            lessons[folder / f"{title}.ipynb"] = f"{title}.html"
    dead: list[str] = []
    needed: set[Path] = set()
    pages = []
    for title, nb, seconds in rendered:
        page = f"{title}.html"
        text, wanted, gone = rewrite_links(
            to_html(nb, title, page=page), base=base or NOTEBOOKS, page=page, lessons=lessons
        )
        (out / page).write_text(text, encoding="utf-8")
        needed |= wanted
        dead += [f"{page}: {link}" for link in gone]
        pages.append((page, title, seconds, weights_used(nb)))
    done: set[Path] = set()
    while needed - done:
        target = min(needed - done)
        done.add(target)
        page = site_path(target, lessons)
        where = out / page
        where.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix != ".md":
            shutil.copyfile(target, where)
            continue
        nb = markdown_notebook(target.read_text(encoding="utf-8"))
        text, wanted, gone = rewrite_links(
            to_html(nb, target.stem, page=page), base=target.parent, page=page, lessons=lessons
        )
        where.write_text(text, encoding="utf-8")
        needed |= wanted
        dead += [f"{page}: {link}" for link in gone]
    (out / "index.html").write_text(index_page(pages, quick=quick), encoding="utf-8")
    return dead


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the folder to write the site into")
    parser.add_argument("lessons", nargs="*", help="only lessons whose file name starts with these")
    parser.add_argument("--learner", action="store_true", help="render the learner notebooks, not the solutions")
    parser.add_argument("--quick", action="store_true", help="NST_COURSE_QUICK=1: tiny images, few steps")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    args = parser.parse_args(argv)
    folder = NOTEBOOKS if args.learner else NOTEBOOKS / "solutions"
    sources = sorted(folder.glob("[0-9][0-9]-*.ipynb"))
    if args.lessons:
        sources = [s for s in sources if any(s.name.startswith(p) for p in args.lessons)]
    if not sources:
        print(f"no lesson notebooks match {args.lessons} in {folder}", file=sys.stderr)
        return 1
    mathjax_source()  # before the lessons run: say now if MathJax is missing
    os.environ["NST_COURSE_QUICK"] = "1" if args.quick else "0"  # the kernels inherit the environment
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rendered = []
    for source in sources:
        start = time.perf_counter()
        nb = execute(source, timeout=args.timeout)
        seconds = time.perf_counter() - start
        rendered.append((source.stem, nb, seconds))
        print(f"{source.name}: executed in {seconds:.0f} s")
    dead = write_site(out, rendered, quick=args.quick, base=folder)
    for line in dead:
        print(f"dead link: {line} (no such file in the repository)", file=sys.stderr)
    print(f"open {out / 'index.html'}")
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
