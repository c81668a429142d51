"""nst-course: neural style transfer (Gatys, Ecker & Bethge, CVPR 2016), lesson by lesson.

The lessons import everything from here::

    import nst_course as nst
    net = nst.load_vgg19()                       # weights: see nst_course.vgg
    photo = nst.load_image("town", size=256)
    result = nst.reconstruct(photo, layer="relu4_2", net=net, steps=100)

Where things live: ``settings`` (what to optimise), ``objective`` (the weighted
terms), ``optimize`` (THE loop and its ``Result``), ``tasks`` (reconstruct,
texture, transfer), ``vgg`` (the network and its weights), ``losses``;
``colour`` (keeping the photo's colours) and ``analysis`` (measurements that
explain results) serve lesson 05; ``featurevis``, ``examples`` and
``atlases`` show what each channel of a layer looks for.
"""

from __future__ import annotations

__version__ = "0.1.0"  # the only place the version is written (pyproject.toml reads it)

import importlib
import sys
import types

#: Where each public name lives. Nothing is imported until it is first used, so that
#: ``nst-course lessons`` (which only copies notebooks) never loads torch.
_SUBMODULES = ("analysis", "checks", "colour", "featurevis", "figures", "objective", "plotting", "widgets")
_WHERE = {
    "atlases": ("atlas",),
    "checks": (
        "check_channel_objective",
        "check_content_loss",
        "check_gram_matrix",
        "check_loop",
        "check_mean_covariance_loss",
        "check_objective",
        "check_style_loss",
        "check_tv_loss",
    ),
    "devices": ("get_device",),
    "errors": ("NSTError",),
    "images": ("load_image", "read_metadata", "resize", "save_image", "to_pil"),
    "lesson": ("estimate_seconds", "for_network", "lesson_settings", "quick_mode"),
    "losses": ("content_loss", "gram_matrix", "layer_style_loss", "style_loss", "tv_loss"),
    "objective": ("Objective",),
    "optimize": ("OptimizationError", "Result", "first_step_lr", "fold", "optimize"),
    "paintings": ("load_painting",),
    "samples": ("sample_names",),
    "settings": ("Settings",),
    "tasks": ("build_objective", "reconstruct", "run", "synthesize_texture", "transfer"),
    "vgg": (
        "CONTENT_LAYER",
        "LAYER_NAMES",
        "STYLE_LAYERS",
        "VGG19",
        "describe_layers",
        "export_weights",
        "load_vgg19",
        "resolve_weights",
    ),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(["__version__", *_SUBMODULES, *_MODULE_OF])


def __getattr__(name: str):
    """Import a public name's module the first time the name is used (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once; later uses do not come back here
    return value


class _Package(types.ModuleType):
    """The package's own module type: ``nst.optimize`` stays the loop.

    ``optimize`` names both the loop and the module it lives in. Importing the module
    ``nst_course.optimize`` would set the package's attribute to the module; this keeps the
    function there (the module stays importable by its full name).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "optimize" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
