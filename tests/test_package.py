"""The package as a whole: its public surface, its docstring examples, its import graph."""

from __future__ import annotations

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
# Every module, by its name under nst_course (``engine.vgg``); __main__ runs the command line when imported.
MODULES = sorted(
    info.name.removeprefix("nst_course.")
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="nst_course.")
    if not info.name.endswith("__main__") and ".notebooks" not in info.name
)

#: Modules that need no docstring examples, and why. Every other module must have some.
WITHOUT_EXAMPLES = {
    "_version": "one string",
    "cli.atlas": "run as a program in tests/test_atlas.py",
    "cli.figure": "run as a program in tests/test_figures.py",
    "cli.lab": "run as a program in tests/test_classroom.py",
    "cli.lessons": "run as a program in tests/test_classroom.py",
    "cli.pack": "run as a program in tests/test_classroom.py",
    "cli.samples": "run as a program in tests/test_cli.py",
    "cli.tasks": "run as a program in tests/test_cli.py",
    "cli.weights": "run as a program in tests/test_cli.py",
    "course": "a package docstring",
    "course.checks.channel": "runs VGG-19; tests/test_checks_channel.py",
    "course.checks.harness": "the checks' machinery; tests/test_checks.py",
    "course.classroom": "copies lessons, builds wheels and runs pip; tests/test_classroom.py",
    "course.plotting": "draws matplotlib figures",
    "course.widgets": "needs a notebook front end; tests/test_widgets.py",
    "course.widgets.controls": "needs a notebook front end; tests/test_widgets.py",
    "course.widgets.explorers": "needs a notebook front end; tests/test_widgets.py",
    "course.widgets.maps": "needs a notebook front end; tests/test_widgets.py",
    "course.widgets.runtime": "needs a notebook front end; tests/test_widgets.py",
    "engine": "a package docstring",
    "engine.loop": "runs VGG-19; tests/test_optimize.py",
    "engine.tasks": "runs VGG-19; tests/test_optimize.py",
    "errors": "one exception class",
    "media": "a package docstring",
    "media.canvas": "draws matplotlib figures",
    "paper": "a package docstring",
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

    from nst_course.engine.weights import WeightsInfo

    for pretrained, expected in ((True, "seen on ImageNet weights"), (False, "seen on random weights")):
        net = SimpleNamespace(weights=WeightsInfo("x", "some weights", pretrained))
        nst.for_network(net, trained="seen on ImageNet weights", untrained="seen on random weights")
        shown = capsys.readouterr().out
        assert expected in shown and "some weights" in shown
        other = "seen on random weights" if pretrained else "seen on ImageNet weights"
        assert other not in shown


def test_nst_optimize_is_the_loop_even_after_its_module_is_imported():
    import types

    import nst_course.engine.loop  # noqa: F401  (the submodule of the same name)

    assert not isinstance(nst.optimize, types.ModuleType) and nst.optimize.__name__ == "optimize"


def test_the_submodules_the_lessons_use_are_reachable_from_a_fresh_import():
    code = (
        "import nst_course as nst\n"
        "nst.objective.style_targets, nst.featurevis.VisSettings, nst.analysis.channel_means\n"
        "nst.checks.channel.reference_channel_objective, nst.plotting.show_images, nst.figures.figure4\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
