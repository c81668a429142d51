"""nst-course: neural style transfer (Gatys, Ecker & Bethge, CVPR 2016), lesson by lesson.

The lessons import everything from here::

    import nst_course as nst
    net = nst.load_vgg19()                       # weights: see nst_course.engine.weights
    photo = nst.load_image("town", size=256)
    result = nst.reconstruct(photo, layer="relu4_2", net=net, steps=100)

The package has five parts, each importing only the parts below it::

    cli       the nst-course command line (one table of subcommands)
    course    what the lessons use: lesson defaults, plots, analysis, checks, widgets, atlas, classroom
    paper     the paper's Figs 3-7 and the alpha/beta translation between normalisations
    engine    the method: network, losses, objective, settings, THE loop, tasks, estimates, colour
    media     images in and out, samples and paintings, figures to PNG, atomic file writing

with ``errors`` (:class:`NSTError`) and ``_version`` beneath them all. The names below are
the public API; ``_WHERE`` says which module each comes from.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__ as __version__

#: Where each public name lives. Nothing is imported until it is first used, so that
#: ``nst-course lessons`` (which only copies notebooks) never loads torch.
_SUBMODULES = {  # the modules the lessons use by name: nst.checks, nst.plotting, ...
    "analysis": "course.analysis",
    "checks": "course.checks",
    "colour": "engine.colour",
    "featurevis": "engine.featurevis",
    "figures": "paper",
    "objective": "engine.objective",
    "plotting": "course.plotting",
    "widgets": "course.widgets",
}
_WHERE = {
    "course.atlases": ("atlas",),
    "course.checks": (
        "check_channel_objective",
        "check_content_loss",
        "check_gram_matrix",
        "check_loop",
        "check_mean_covariance_loss",
        "check_objective",
        "check_style_loss",
        "check_tv_loss",
    ),
    "engine.devices": ("get_device",),
    "engine.estimate": ("estimate_seconds",),
    "errors": ("NSTError",),
    "media.images": ("load_image", "read_metadata", "resize", "save_image", "to_pil"),
    "course.lesson": ("for_network", "lesson_settings", "quick_mode"),
    "engine.losses": ("content_loss", "gram_matrix", "layer_style_loss", "style_loss", "tv_loss"),
    "engine.objective": ("Objective",),
    "engine.loop": ("OptimizationError", "Result", "first_step_lr", "fold", "optimize"),
    "media.paintings": ("load_painting",),
    "media.samples": ("sample_names",),
    "engine.settings": ("Settings",),
    "engine.tasks": ("build_objective", "reconstruct", "run", "synthesize_texture", "transfer"),
    "engine.vgg": (
        "CONTENT_LAYER",
        "LAYER_NAMES",
        "STYLE_LAYERS",
        "VGG19",
        "describe_layers",
        "load_vgg19",
    ),
    "engine.weights": ("export_weights", "resolve_weights"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(["__version__", *_SUBMODULES, *_MODULE_OF])


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{_SUBMODULES[name]}")
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once; later uses do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
