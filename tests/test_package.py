"""The package as a whole: its public surface and its docstring examples."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import nst_course as nst

MODULES = ["devices", "errors", "images", "losses", "optimize", "plotting", "samples", "vgg"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"nst_course.{name}")
    failures, _ = doctest.testmod(module, verbose=False)
    assert failures == 0


def test_public_names_exist():
    for name in nst.__all__:
        assert hasattr(nst, name), name


def test_import_is_light_and_changes_no_global_state():
    code = (
        "import sys, torch; before = torch.random.get_rng_state().clone(); import nst_course; "
        "assert torch.equal(before, torch.random.get_rng_state()), 'import seeded torch'; "
        "assert 'ipywidgets' not in sys.modules, 'widgets must be imported lazily'; "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_loading_random_weights_leaves_the_global_generator_alone():
    import torch

    before = torch.random.get_rng_state().clone()
    nst.load_vgg19(weights="random", seed=3, device="cpu")
    assert torch.equal(before, torch.random.get_rng_state())
