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

__version__ = "0.1.0"

from . import analysis, checks, colour, figures, plotting
from .atlases import atlas
from .checks import (
    check_channel_objective,
    check_content_loss,
    check_gram_matrix,
    check_loop,
    check_mean_covariance_loss,
    check_objective,
    check_style_loss,
    check_tv_loss,
)
from .devices import get_device
from .errors import NSTError
from .images import load_image, read_metadata, resize, save_image, to_pil
from .lesson import estimate_seconds, for_network, lesson_settings, quick_mode
from .losses import content_loss, gram_matrix, layer_style_loss, style_loss, tv_loss
from .objective import Objective
from .optimize import OptimizationError, Result, first_step_lr, fold, optimize
from .paintings import load_painting
from .samples import sample_names
from .settings import Settings
from .tasks import build_objective, reconstruct, run, synthesize_texture, transfer
from .vgg import (
    CONTENT_LAYER,
    LAYER_NAMES,
    STYLE_LAYERS,
    VGG19,
    describe_layers,
    export_weights,
    load_vgg19,
    resolve_weights,
)

__all__ = [
    "CONTENT_LAYER",
    "LAYER_NAMES",
    "STYLE_LAYERS",
    "VGG19",
    "NSTError",
    "Objective",
    "OptimizationError",
    "Result",
    "Settings",
    "__version__",
    "analysis",
    "atlas",
    "build_objective",
    "check_channel_objective",
    "check_content_loss",
    "check_gram_matrix",
    "check_loop",
    "check_mean_covariance_loss",
    "check_objective",
    "check_style_loss",
    "check_tv_loss",
    "checks",
    "colour",
    "content_loss",
    "describe_layers",
    "estimate_seconds",
    "export_weights",
    "figures",
    "first_step_lr",
    "fold",
    "for_network",
    "get_device",
    "gram_matrix",
    "layer_style_loss",
    "lesson_settings",
    "load_image",
    "load_painting",
    "load_vgg19",
    "optimize",
    "plotting",
    "quick_mode",
    "read_metadata",
    "reconstruct",
    "resize",
    "resolve_weights",
    "run",
    "sample_names",
    "save_image",
    "style_loss",
    "synthesize_texture",
    "to_pil",
    "transfer",
    "tv_loss",
]
