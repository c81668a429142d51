"""Render the lessons, executed, as a static HTML site: read them with their pictures before running them.

Each notebook runs top to bottom in a fresh kernel (the solutions by default, so that
every exercise has its answer) and is written as one self-contained HTML page, its
pictures embedded; ``index.html`` links the pages and says which weights drew them.

    python tools/render_site.py site/                  # default settings: a few minutes per lesson on a CPU
    python tools/render_site.py site/ --learner        # the learner versions (exercises left as TODO)
    python tools/render_site.py site/ 01 --quick       # one lesson in the test mode (tiny pictures)

The weights are those of ``$NST_COURSE_WEIGHTS`` (default: auto, i.e. the trained ones
when cached or downloadable); each page names them in its first output.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execute(path: Path, *, timeout: int):
    """The notebook at ``path``, executed in a fresh kernel started in its folder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def to_html(nb, title: str) -> str:
    """One self-contained HTML page (pictures embedded as data URIs)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def index_page(pages: list[tuple[str, str, float]], *, weights: str, quick: bool) -> str:
    rows = "\n".join(
        f'<li><a href="{html.escape(name)}">{html.escape(title)}</a> <small>(ran in {seconds:.0f} s)</small></li>'
        for name, title, seconds in pages
    )
    mode = " in the QUICK test mode (tiny pictures)" if quick else " at the lessons' default settings"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nst-course: the lessons, executed</title></head>
<body style="font-family: sans-serif; max-width: 48em; margin: 2em auto">
<h1>nst-course: the lessons, executed</h1>
<p>Each lesson was run top to bottom{mode}, weights: <code>{html.escape(weights)}</code>
(see each page's first outputs for the network actually used).</p>
<ol>
{rows}
</ol>
</body></html>
"""


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
    os.environ["NST_COURSE_QUICK"] = "1" if args.quick else "0"  # the kernels inherit the environment
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for source in sources:
        start = time.perf_counter()
        nb = execute(source, timeout=args.timeout)
        seconds = time.perf_counter() - start
        title = source.stem
        (out / f"{title}.html").write_text(to_html(nb, title), encoding="utf-8")
        pages.append((f"{title}.html", title, seconds))
        print(f"{out / title}.html: executed in {seconds:.0f} s")
    weights = os.environ.get("NST_COURSE_WEIGHTS") or "auto"
    (out / "index.html").write_text(index_page(pages, weights=weights, quick=args.quick), encoding="utf-8")
    print(f"open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
