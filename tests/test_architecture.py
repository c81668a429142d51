"""The package's layout: five parts, each importing only the parts below it, and no cycles.

Read from the source (ast), nothing executed::

    cli  ->  course  ->  paper  ->  engine  ->  media  ->  errors, _version

``nst_course/__init__.py`` (the lazy public namespace) and ``__main__.py`` sit above them all.
An import of a part above, or a cycle between modules, fails with the file and the import named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nst_course"
#: Top to bottom; a module may import its own part and any part after it.
LAYERS = ("__init__", "cli", "course", "paper", "engine", "media", "base")
BASE = {"errors", "_version"}


def part_of(module: str) -> str:
    """The part a dotted module name (``nst_course.engine.vgg``) belongs to."""
    parts = module.split(".")[1:]
    if not parts or parts[0] in ("__init__", "__main__"):
        return "__init__"
    if parts[0] in BASE:
        return "base"
    return parts[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) for every import of ``nst_course`` in the file, at any depth."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source if source is not None else path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "nst_course"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "nst_course":
                continue
            if node.module is None or target.count(".") < 2:  # from . import x: x may be a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def upward_imports(files: dict[Path, str]) -> list[str]:
    problems = []
    for path, source in files.items():
        here = LAYERS.index(part_of(module_name(path)))
        for line, target in imports_of(path, source):
            there = part_of(target)
            if there in LAYERS and LAYERS.index(there) < here:
                where = path.relative_to(PACKAGE.parent)
                problems.append(f"{where}:{line} imports {target} ({there} is above {LAYERS[here]})")
    return problems


def import_cycles(files: dict[Path, str]) -> list[str]:
    """Cycles in the module graph, each as 'a -> b -> a' (imports inside functions count too)."""
    modules = {module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        graph[name] = set()
        for _, target in imports_of(path, files[path]):
            while target and target not in modules:  # nst_course.x.name -> nst_course.x
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)  # a module importing its own package is not a cycle
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def package_files() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_part():
    unknown = {module_name(p) for p in package_files() if part_of(module_name(p)) not in LAYERS}
    assert not unknown, f"modules outside the five parts: {sorted(unknown)}"


def test_imports_only_go_down():
    problems = upward_imports(package_files())
    assert not problems, "imports that go up:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles(package_files())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    ("file", "line", "part"),
    [
        ("engine/vgg.py", "from ..course.lesson import lesson_settings", "course"),
        ("media/images.py", "from ..engine import vgg", "engine"),
        ("paper/figures.py", "    from ..cli import main", "cli"),
        ("course/checks/loop.py", "import nst_course.cli.commands", "cli"),
    ],
)
def test_an_upward_import_is_named(file, line, part):
    files = package_files()
    path = PACKAGE / file
    files[path] = files[path] + f"\n\ndef _probe():\n{line if line.startswith(' ') else '    ' + line}\n"
    problems = upward_imports(files)
    assert len(problems) == 1 and problems[0].startswith(f"nst_course/{file}:") and f"({part} is above" in problems[0]


def test_a_cycle_is_named():
    files = package_files()
    media = PACKAGE / "media" / "files.py"
    files[media] += "\n\ndef _probe():\n    from .images import load_image\n"
    cycles = import_cycles(files)
    assert any("nst_course.media.files" in c and "nst_course.media.images" in c for c in cycles), cycles


def test_samples_says_where_pixels_are_and_images_makes_tensors():
    samples = PACKAGE / "media" / "samples.py"
    assert not [t for _, t in imports_of(samples) if t.startswith("nst_course.media.images")]
