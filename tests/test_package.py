"""The package as a whole: its public surface, its docstring examples, its import graph."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import nst_course as nst

PACKAGE = Path(nst.__file__).resolve().parent
# __main__ runs the command line when imported; it is one line that calls entry.main.
MODULES = sorted(info.name for info in pkgutil.iter_modules([str(PACKAGE)]) if info.name != "__main__")

#: Modules that need no docstring examples, and why. Every other module must have some.
WITHOUT_EXAMPLES = {
    "classroom": "copies lessons, builds wheels and runs pip; tests/test_classroom.py",
    "cli": "run as a program in tests/test_cli.py",
    "entry": "run as a program in tests/test_classroom.py",
    "errors": "one exception class",
    "optimize": "runs VGG-19; tests/test_optimize.py",
    "plotting": "draws matplotlib figures",
    "tasks": "runs VGG-19; tests/test_optimize.py",
    "widgets": "needs a notebook front end; tests/test_widgets.py",
}


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(f"nst_course.{name}")
    return doctest.DocTestFinder(exclude_empty=True).find(module, f"nst_course.{name}")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in _examples(name):
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} docstring examples in nst_course.{name} failed (see above)"
    if name not in WITHOUT_EXAMPLES:
        assert attempted > 0, f"nst_course.{name} has no docstring examples: add one, or list it in WITHOUT_EXAMPLES"


def test_the_package_has_examples_and_every_exemption_is_real():
    assert set(WITHOUT_EXAMPLES) <= set(MODULES), "an exempted module no longer exists"
    total = sum(len(test.examples) for name in MODULES for test in _examples(name))
    assert total >= len(MODULES) - len(WITHOUT_EXAMPLES), f"only {total} docstring examples in the whole package"


def _imports(name: str) -> set[str]:
    """The package modules that module or subpackage ``name`` imports, at the top or inside a function."""
    folder = PACKAGE / name
    files = sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{name}.py"]
    names = set()
    for path in files:
        depth = len(path.relative_to(PACKAGE).parts)  # how many dots lead back to nst_course
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == depth:
                targets = [node.module.split(".")[0]] if node.module else [alias.name for alias in node.names]
                names.update(t for t in targets if t in MODULES and t not in ("__init__", name))
    return names


def test_modules_import_each_other_one_way_only():
    graph = {name: _imports(name) for name in MODULES if name != "__init__"}

    def cycle_from(start: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return (*path, nxt)
            if nxt not in path and (found := cycle_from(start, (*path, nxt))):
                return found
        return None

    cycles = [" -> ".join(c) for name in graph if (c := cycle_from(name, (name,)))]
    assert not cycles, f"import cycles: {cycles}"
    assert "images" not in graph["samples"], "samples says where pixels are; images turns them into tensors"


def test_public_names_exist():
    for name in nst.__all__:
        assert hasattr(nst, name), name


@pytest.mark.slow
def test_import_is_light_and_changes_no_global_state():
    code = (
        "import sys, torch; before = torch.random.get_rng_state().clone(); import nst_course; "
        "assert torch.equal(before, torch.random.get_rng_state()), 'import seeded torch'; "
        "assert 'ipywidgets' not in sys.modules, 'widgets must be imported lazily'; "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_loading_random_weights_leaves_the_global_generator_alone():
    before = torch.random.get_rng_state().clone()
    nst.load_vgg19(weights="random", seed=3, device="cpu")
    assert torch.equal(before, torch.random.get_rng_state())


def test_estimating_time_leaves_the_global_generator_alone(net):
    before = torch.random.get_rng_state().clone()
    seconds = nst.estimate_seconds(net, torch.zeros(1, 3, 16, 16), layers=["conv1_1"], steps=10)
    assert seconds > 0
    assert torch.equal(before, torch.random.get_rng_state()), "estimate_seconds drew from the global generator"


def test_for_network_shows_the_text_for_the_weights_in_use(capsys):
    from types import SimpleNamespace

    from nst_course.vgg import WeightsInfo

    for pretrained, expected in ((True, "seen on ImageNet weights"), (False, "seen on random weights")):
        net = SimpleNamespace(weights=WeightsInfo("x", "some weights", pretrained))
        nst.for_network(net, trained="seen on ImageNet weights", untrained="seen on random weights")
        shown = capsys.readouterr().out
        assert expected in shown and "some weights" in shown
        other = "seen on random weights" if pretrained else "seen on ImageNet weights"
        assert other not in shown


def test_nst_optimize_is_the_loop_even_after_its_module_is_imported():
    import types

    import nst_course.optimize  # noqa: F401  (the submodule of the same name)

    assert not isinstance(nst.optimize, types.ModuleType) and nst.optimize.__name__ == "optimize"


def test_the_submodules_the_lessons_use_are_reachable_from_a_fresh_import():
    code = (
        "import nst_course as nst\n"
        "nst.objective.style_targets, nst.featurevis.VisSettings, nst.analysis.channel_means\n"
        "nst.checks.channel.reference_channel_objective, nst.plotting.show_images, nst.figures.figure4\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
