"""Build the notebooks from the lesson sources in lessons/.

Each lesson is one Python file in "percent" form::

    # %% [markdown]
    # # A heading
    # Prose, one comment line per markdown line.

    # %%
    import nst_course as nst

A code cell whose first line is ``# NBVAL_CHECK_OUTPUT`` is compared by nbval;
``# NBVAL_IGNORE_OUTPUT`` marks a cell whose output is never compared. Lines
before the first ``# %%`` are a file header and do not go into the notebooks.

Exercise solutions sit between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines.
From each source two notebooks are written:

* ``notebooks/NN-name.ipynb``: for the learner; each solution becomes a TODO
  (the text after ``# BEGIN SOLUTION:`` if any) and ``raise NotImplementedError``;
* ``notebooks/solutions/NN-name.ipynb``: with the solutions.

Each notebook starts its code with a cell that checks that ``nst_course`` is installed
and otherwise stops with one line on how to install it.

Both are executed with nbclient in quick mode (``NST_COURSE_QUICK=1``, untrained
weights) and stored with only the outputs nbval checks: the text of the
``NBVAL_CHECK_OUTPUT`` cells. Nothing else is kept (no pictures, no metadata, no
execution counts on other cells), so the files are small, repeatable and diff well.

When ``pyproject.toml`` names the course's repository (``[project.urls]``, key
``Repository``, a ``https://github.com/OWNER/REPO`` address, ``/tree/BRANCH`` optional:
main otherwise), every notebook also gets, before that check, a link that opens it in
Colab and a cell that installs the course there: ``--no-deps`` from the repository,
then the dependencies it names other than torch and torchvision, so Colab's own torch
and JupyterLab stay. That cell does nothing outside Colab. Without the address nothing
is added.

Usage::

    python tools/build_notebooks.py              # build and execute every lesson
    python tools/build_notebooks.py 01 03        # only lessons whose name starts so
    python tools/build_notebooks.py --no-execute # sources only (fast; no outputs)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
PYPROJECT = ROOT / "pyproject.toml"
GITHUB = re.compile(
    r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?(?:/tree/(?P<branch>[\w./-]+))?/?$"
)
HOSTED_OWN = {"torch", "torchvision"}  # what Colab brings and the install cell must not replace

CELL_MARK = re.compile(r"^# %%(?P<rest>.*)$")
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?::\s*(?P<todo>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
CHECK = "# NBVAL_CHECK_OUTPUT"
QUICK_ENV = {"NST_COURSE_QUICK": "1", "NST_COURSE_WEIGHTS": "random", "MPLBACKEND": "Agg"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
INSTALL_HINT = (
    "nst_course (or a package it needs) is not installed in this kernel: %pip install the course wheel "
    "your teacher gave you (%pip install nst_course-*.whl) or the course's repository "
    '(%pip install "nst-course @ git+REPOSITORY-URL"), then restart the kernel'
)
# The first code cell of every notebook: where the package is missing (a hosted kernel, a fresh
# environment) the lesson stops here with one line, not with a traceback further down.
INSTALL_CHECK = f"""\
# Is the course's package installed in this kernel?
try:
    import nst_course
except ModuleNotFoundError:

    class CourseNotInstalled(Exception):
        def _render_traceback_(self):  # IPython shows this line only, no traceback
            return [str(self)]

    raise CourseNotInstalled({INSTALL_HINT!r}) from None"""


@dataclass
class Cell:
    kind: str  # "markdown" or "code"
    lines: list[str]


def parse(text: str) -> list[Cell]:
    """Split a percent-format source into cells (header before the first ``# %%`` dropped)."""
    cells: list[Cell] = []
    current: Cell | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        mark = CELL_MARK.match(line)
        if mark:
            rest = mark.group("rest").strip()
            if rest not in ("", "[markdown]"):
                raise SystemExit(f"line {number}: unknown cell marker {line!r} (use '# %%' or '# %% [markdown]')")
            current = Cell("markdown" if rest == "[markdown]" else "code", [])
            cells.append(current)
        elif current is not None:
            if current.kind == "markdown" and line.strip():
                if not (line.startswith("# ") or line == "#"):
                    raise SystemExit(f"line {number}: a markdown line must start with '# ': {line!r}")
                line = line[2:]
            elif current.kind == "markdown":
                line = ""
            current.lines.append(line)
    for cell in cells:
        while cell.lines and not cell.lines[-1].strip():
            cell.lines.pop()
        while cell.lines and not cell.lines[0].strip():
            cell.lines.pop(0)
    empty = [i for i, cell in enumerate(cells) if not cell.lines]
    if empty:
        raise SystemExit(f"empty cell(s) number {empty}")
    return cells


def variant(lines: list[str], *, solutions: bool) -> list[str]:
    """The lines of a code cell with its solution blocks kept, or replaced by a TODO."""
    out: list[str] = []
    inside: re.Match | None = None
    for line in lines:
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise SystemExit(f"nested '# BEGIN SOLUTION' at {line!r}")
            inside = begin
            if not solutions:
                indent = begin.group("indent")
                todo = begin.group("todo") or "write your solution here"
                out += [f"{indent}# TODO: {todo}", f'{indent}raise NotImplementedError("{todo}")']
        elif end:
            if not inside:
                raise SystemExit("'# END SOLUTION' without a '# BEGIN SOLUTION'")
            inside = None
        elif solutions or not inside:
            out.append(line)
    if inside:
        raise SystemExit("'# BEGIN SOLUTION' without '# END SOLUTION'")
    return out


def _pyproject(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def repository_url(pyproject: Path = PYPROJECT) -> str | None:
    """The course's repository as ``[project.urls]`` names it (key ``Repository``), or None."""
    urls = _pyproject(pyproject)["project"].get("urls", {})
    return next((url for key, url in urls.items() if key.lower() == "repository"), None) or None


def hosted_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The course's dependencies less those a hosted notebook brings (torch, torchvision)."""
    dependencies = _pyproject(pyproject)["project"]["dependencies"]
    return [d for d in dependencies if re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0].lower() not in HOSTED_OWN]


def colab_cells(repository: str | None, notebook: str, requirements: list[str]) -> list[Cell]:
    """A link opening ``notebook`` (its path in the repository) in Colab, and a cell that installs
    the course there; none when ``repository`` is unset. Colab opens notebooks from GitHub only."""
    if not repository:
        return []
    found = GITHUB.match(repository)
    if not found:
        raise SystemExit(
            f"pyproject.toml: [project.urls] Repository = {repository!r}: Colab opens notebooks from GitHub only; "
            "give https://github.com/OWNER/REPO (optionally /tree/BRANCH) or remove the key"
        )
    owner, repo, branch = found.group("owner"), found.group("repo"), found.group("branch") or "main"
    link = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{notebook}"
    source = f"git+https://github.com/{owner}/{repo}@{branch}"
    quoted = " ".join(f'"{r}"' for r in requirements)
    install = f"""\
# On Colab: install the course (its own torch and JupyterLab stay); anywhere else this does nothing.
import importlib.util
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("nst_course") is None:
    %pip install -q --no-deps "nst-course @ {source}"
    %pip install -q {quoted}"""
    note = f"[Open this lesson in Colab]({link}): there, run the next cell first; it installs the course."
    return [Cell("markdown", [note]), Cell("code", install.splitlines())]


def colab_for(target: Path) -> list[Cell]:
    """The Colab cells of the notebook written at ``target``, as pyproject.toml's repository gives them."""
    return colab_cells(repository_url(), target.relative_to(ROOT).as_posix(), hosted_requirements())


def make_notebook(cells: list[Cell], *, solutions: bool, colab: list[Cell] = ()):
    """The notebook of a lesson; ``colab`` (see colab_cells) goes just before the install check."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    first_code = next((i for i, cell in enumerate(cells) if cell.kind == "code"), len(cells))
    cells = [*cells[:first_code], *colab, Cell("code", INSTALL_CHECK.splitlines()), *cells[first_code:]]
    for cell in cells:
        source = "\n".join(cell.lines if cell.kind == "markdown" else variant(cell.lines, solutions=solutions))
        if solutions and cell.kind == "markdown":  # one folder deeper: links to the repository go up once more
            source = source.replace("](../", "](../../")
        new = nbformat.v4.new_markdown_cell(source) if cell.kind == "markdown" else nbformat.v4.new_code_cell(source)
        new.pop("id", None)
        nb.cells.append(new)
    nb.nbformat, nb.nbformat_minor = 4, 4  # minor 4: no cell ids, so nothing random in the files
    return nb


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK)


def _text_output(output, name: str, cell_number: int):
    """Keep the text nbval compares; refuse anything that would make the check fragile."""
    import nbformat

    kind = output.output_type
    if kind == "stream":
        if output.name != "stdout":
            raise SystemExit(f"{name}: checked cell {cell_number} wrote to {output.name}: {output.text[:300]!r}")
        return nbformat.v4.new_output("stream", name="stdout", text=output.text)
    if kind == "execute_result" and "text/plain" in output.data:
        return nbformat.v4.new_output(
            "execute_result", data={"text/plain": output.data["text/plain"]}, execution_count=cell_number
        )
    raise SystemExit(f"{name}: checked cell {cell_number} shows {kind} {sorted(output.get('data', {}))}: print text")


def clean(nb, name: str):
    """Drop every output but the checked cells' text; number the checked cells by position."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    code_number = 0
    for cell in nb.cells:
        cell.metadata = {}
        if cell.cell_type != "code":
            continue
        code_number += 1
        if is_checked(cell):
            cell.outputs = [_text_output(o, name, code_number) for o in cell.outputs]
            merged = []
            for output in cell.outputs:  # one stream output per cell however the kernel chunked it
                if merged and output.output_type == "stream" and merged[-1].output_type == "stream":
                    merged[-1].text += output.text
                else:
                    merged.append(output)
            cell.outputs = merged
            cell.execution_count = code_number
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def execute(nb, path: Path, timeout: int) -> float:
    from nbclient import NotebookClient

    os.environ.update(QUICK_ENV)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return time.perf_counter() - start


def dumps(nb) -> str:
    """Stable JSON as Jupyter writes it (sorted keys, sources as lists of lines), with a final newline."""
    import nbformat

    nbformat.validate(nb)
    return nbformat.writes(nb, version=4).rstrip("\n") + "\n"


def targets(source: Path) -> tuple[Path, Path]:
    return NOTEBOOKS / f"{source.stem}.ipynb", SOLUTIONS / f"{source.stem}.ipynb"


def lesson_sources(prefixes: list[str] | None = None) -> list[Path]:
    sources = sorted(LESSONS.glob("[0-9][0-9]-*.py"))
    if prefixes:
        sources = [s for s in sources if any(s.name.startswith(p) for p in prefixes)]
    return sources


def build(source: Path, *, run: bool, timeout: int) -> None:
    cells = parse(source.read_text(encoding="utf-8"))
    built: dict[str, str] = {}  # a notebook's cells -> its stored text: a lesson without exercises runs once
    for target, solutions in zip(targets(source), (False, True), strict=True):
        nb = make_notebook(cells, solutions=solutions, colab=colab_for(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        key = dumps(nb)
        if key in built:
            print(f"{target.relative_to(ROOT)}: the same cells as the learner's notebook (no exercises), not run again")
        else:
            if run:
                seconds = execute(nb, target, timeout)
                print(f"{target.relative_to(ROOT)}: executed in quick mode in {seconds:.0f} s")
            built[key] = dumps(clean(nb, target.name))
        target.write_text(built[key], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="build only lessons whose file name starts with these")
    parser.add_argument("--no-execute", action="store_true", help="write the sources without running them")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    args = parser.parse_args(argv)
    sources = lesson_sources(args.lessons)
    if not sources:
        print(f"no lessons match {args.lessons} in {LESSONS}", file=sys.stderr)
        return 1
    for source in sources:
        build(source, run=not args.no_execute, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
