"""Shared fixtures. Every test runs offline with explicitly untrained weights."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("NST_COURSE_WEIGHTS", "random")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def net():
    """An untrained VGG-19 (seed 0) on the CPU, shared by the tests that only read it."""
    import nst_course as nst

    return nst.load_vgg19(weights="random", device="cpu")


@pytest.fixture
def offline(monkeypatch):
    """Make every download fail as it does without a network."""
    import urllib.error
    import urllib.request

    import torch.hub

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "urlopen", refuse, raising=False)
    return refuse


@pytest.fixture
def small_image():
    generator = torch.Generator().manual_seed(1)
    return torch.rand(1, 3, 24, 32, generator=generator)
