"""What to optimise and how: the settings of a run, with every default in one place.

:class:`Settings` describes the objective (layers, weights of the terms,
normalisation) and the loop (size, steps, optimiser, start, seed). It does not
describe the network: which weights and which pooling were used is recorded
from the network itself (``nst_course.engine.vgg.VGG19``), so a saved result can never
claim a network it was not made with.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import NSTError
from .losses import NORMALIZATIONS
from .vgg import CONTENT_LAYER, STYLE_LAYERS, check_layers

__all__ = [
    "AUTHORS_CODE_OBJECTIVE",
    "AUTHORS_CODE_POOLING",
    "COARSE_TO_FINE_FROM",
    "COLOUR_MODES",
    "DEFAULT_STYLE_WEIGHTS",
    "INITS",
    "OPTIMIZERS",
    "Settings",
    "check_setting_names",
    "plan_scales",
    "replace_settings",
]

OPTIMIZERS = ("lbfgs", "adam")

#: beta when ``style_weight`` is None, per normalisation (alpha is 1). "paper" needs a large
#: beta because its content term is an unnormalised sum of squares: the paper's own alpha/beta
#: are 1e-3 to 1e-4. On untrained weights, beta = 3 there leaves a transfer that starts from the
#: photo almost where it started (measured: 13% loss drop in 20 steps at beta 1e3, 49% at 1e4).
INITS = ("noise", "content", "style")
#: How a transfer keeps the photo's colours (Gatys et al. 2017): see ``nst_course.engine.colour``.
COLOUR_MODES = ("luminance", "histogram")
DEFAULT_STYLE_WEIGHTS = {"relative": 3.0, "mean": 3.0, "paper": 1e4}

#: The objective of the authors' own code (leongatys/PytorchNeuralStyleTransfer), as settings:
#: ``replace_settings(base, AUTHORS_CODE_OBJECTIVE)`` on a network with
#: ``pooling=AUTHORS_CODE_POOLING``. That code minimises
#:
#:     MSE(F_r42, P_r42) + sum_l 1e3 / N_l^2 * MSE(G_l / M_l, A_l / M_l)
#:
#: over r11, r21, r31, r41, r51 (relu1_1 ... relu5_1 here), with mean squared errors
#: (``nn.MSELoss``), Gram matrices divided by the M_l positions, and a max-pooling VGG-19.
#: "mean" normalisation is exactly that content term, and per layer the mean squared error
#: of G_l / M_l, so with beta = 1e3 and layer weights 1/N_l^2 the package's objective equals
#: the authors', term by term, to float precision (tests/test_losses.py). Against the
#: paper's eq. (1) and (4), that content term is 2/(N M) times the paper's and each style
#: term 4e3/N_l^2 times the paper's E_l. What still differs is the network and the images
#: (``nst_course.engine.vgg``: Caffe's BGR, 0-255 network there; the authors' code also scales
#: the *shorter* side to 512 px, where ``Settings.size`` is the longest side) and the loop
#: (500 L-BFGS evaluations from the photo, then 200 more at 800 px).
AUTHORS_CODE_OBJECTIVE: Mapping[str, Any] = {
    "normalization": "mean",
    "content_layers": (CONTENT_LAYER,),
    "style_layers": STYLE_LAYERS,
    "content_weight": 1.0,
    "style_weight": 1e3,
    "style_layer_weights": tuple(1.0 / channels**2 for channels in (64, 128, 256, 512, 512)),
}
AUTHORS_CODE_POOLING = "max"


@dataclass(frozen=True)
class Settings:
    """Everything about the objective and the loop that decides a result.

    Vary it with ``dataclasses.replace(settings, style_weight=1e4)``. Every
    field is saved with each result image.

    >>> Settings().beta, Settings(normalization="paper").beta, Settings(style_weight=10).beta
    (3.0, 10000.0, 10.0)
    >>> Settings(steps=0)
    Traceback (most recent call last):
    ...
    nst_course.errors.NSTError: steps must be a whole number of at least 1, not 0
    """

    size: int = 256
    """Longest side of the result, in pixels. (The paper's images are "about 512 px"; the
    authors' own code scales the *shorter* side to 512 px, so a 3:2 photo is 768 x 512 there
    and ``size=768`` here.)"""
    steps: int = 300
    """Optimiser steps (one L-BFGS iteration or one Adam update each)."""
    optimizer: str = "lbfgs"
    """"lbfgs" (the paper's) or "adam"."""
    learning_rate: float | None = None
    """Step size; None means 1.0 for L-BFGS (its full step) and 0.02 for Adam. (With a clamp
    after each step, half steps were safer; the loop now folds pixels into [0, 1] instead.)"""
    stop_tolerance: float = 0.005
    """Stop once the best loss has improved by less than this fraction over the last
    ``stop_window`` steps (0 turns the rule off); ``steps`` stays the upper bound."""
    stop_window: int = 20
    """Steps over which ``stop_tolerance`` is measured."""
    init: str = "content"
    """Starting image for a transfer: "content" (the default, as in the authors' own code),
    "noise" (the paper's white noise) or "style". Fig. 6 of the paper shows the start
    changes little once converged; from the content, the layout is there at once, which
    matters with the few steps a CPU affords. Reconstructions and textures start from noise."""
    seed: int = 0
    """Seeds the starting noise (and, when the network is built for the run, random weights)."""
    content_layers: tuple[str, ...] = (CONTENT_LAYER,)
    style_layers: tuple[str, ...] = STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    """One weight per style layer; None means 1/L each, as in the paper."""
    content_weight: float = 1.0
    """alpha in the paper."""
    style_weight: float | None = None
    """beta in the paper: it multiplies the style term. None means the normalisation's own
    default (:data:`DEFAULT_STYLE_WEIGHTS`), see :attr:`beta`. With "relative" normalisation both
    terms are fractions of their targets, so 3 makes the style error weigh three times a
    content error of the same relative size (a rule of thumb, not a guarantee)."""
    tv_weight: float = 0.0
    """Total-variation weight; a little (1 to 10) smooths high-frequency noise."""
    normalization: str = "relative"
    """How each layer's loss is scaled: see ``nst_course.engine.losses``."""
    scales: tuple[int, ...] = ()
    """Coarse-to-fine: e.g. (128, 256) optimises at 128 px, upsamples, then 256 px. Each scale
    may take an even share of the steps left, and one that converges sooner leaves the rest
    to the next. Empty means the package's choice: half the size first, then ``size``, from
    512 px on (there it gave a more painterly picture in 1.08x the time), one scale below.
    ``(size,)`` forces one scale."""
    preserve_colour: str | None = None
    """Keep the photo's colours in a transfer (Gatys et al. 2017): "luminance" transfers the
    luminance only and keeps the photo's colour channels; "histogram" first gives the style
    image the photo's colour mean and covariance. None: the plain transfer. Lesson 05."""
    style_scale: float = 1.0
    """The style image's longest side as a multiple of the result's: 0.5 makes the painting's
    strokes half as large in the result, 2 twice as large. Lesson 05."""
    style_blend: tuple[float, ...] | None = None
    """One weight per style image when a transfer is given several: the style targets are the
    weighted mean of each image's Gram matrices. None means equal weights. Lesson 05."""

    def __post_init__(self) -> None:
        for name in ("content_layers", "style_layers"):
            try:
                check_layers(getattr(self, name))
            except NSTError as exc:
                raise NSTError(f"{name}: {exc}") from None
        problems = []
        if not (_whole(self.size) and 16 <= self.size <= 4096):
            problems.append(f"size must be a whole number of pixels from 16 to 4096, not {self.size!r}")
        if not (_whole(self.steps) and self.steps >= 1):
            problems.append(f"steps must be a whole number of at least 1, not {self.steps!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.init not in INITS:
            problems.append(f"init must be one of {', '.join(INITS)}, not {self.init!r}")
        if self.normalization not in NORMALIZATIONS:
            problems.append(f"normalization must be one of {', '.join(NORMALIZATIONS)}, not {self.normalization!r}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if value is None and name == "style_weight":
                continue
            if not (_number(value) and math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a finite number >= 0, not {value!r}")
        if not (_number(self.stop_tolerance) and 0 <= self.stop_tolerance < 1):
            problems.append(f"stop_tolerance must be a fraction from 0 (off) to below 1, not {self.stop_tolerance!r}")
        if not (_whole(self.stop_window) and self.stop_window >= 1):
            problems.append(f"stop_window must be a whole number of at least 1, not {self.stop_window!r}")
        if not (_whole(self.seed) and 0 <= self.seed < 2**64):
            problems.append(f"seed must be a whole number from 0 to 2**64 - 1, not {self.seed!r}")
        if self.learning_rate is not None and not (
            _number(self.learning_rate) and math.isfinite(self.learning_rate) and self.learning_rate > 0
        ):
            problems.append(f"learning_rate must be > 0, not {self.learning_rate!r}")
        if self.style_layer_weights is not None:
            if not isinstance(self.style_layer_weights, (tuple, list)) or not all(
                _number(w) for w in self.style_layer_weights
            ):
                problems.append(
                    f"style_layer_weights must be numbers, one per style layer, not {self.style_layer_weights!r}"
                )
            elif len(self.style_layer_weights) != len(self.style_layers):
                problems.append(
                    f"style_layer_weights has {len(self.style_layer_weights)} values "
                    f"for {len(self.style_layers)} style layers"
                )
            elif any(not (math.isfinite(w) and w >= 0) for w in self.style_layer_weights):
                problems.append(f"style_layer_weights must be finite numbers >= 0, not {self.style_layer_weights!r}")
        if not isinstance(self.scales, (tuple, list)) or any(not (_whole(s) and 16 <= s <= 4096) for s in self.scales):
            problems.append(f"every scale must be a whole number from 16 to 4096 pixels, not {self.scales!r}")
        elif self.scales and (
            any(a >= b for a, b in zip(self.scales, self.scales[1:], strict=False)) or self.scales[-1] != self.size
        ):
            problems.append(
                f"scales must grow and end at the size ({self.size}), not {tuple(self.scales)!r}: "
                f"e.g. scales=({self.size // 2}, {self.size}), or set the size to the last scale"
            )
        problems += _beyond_problems(self)
        if problems:
            raise NSTError("; ".join(problems))

    @property
    def lr(self) -> float:
        """The step size actually used (``learning_rate`` or the optimiser's default)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 1.0 if self.optimizer == "lbfgs" else 0.02

    @property
    def beta(self) -> float:
        """The style weight actually used: ``style_weight``, or the normalisation's default."""
        if self.style_weight is not None:
            return float(self.style_weight)
        return DEFAULT_STYLE_WEIGHTS.get(self.normalization, 3.0)

    def as_dict(self) -> dict[str, Any]:
        """Every field, with the style weight and learning rate as actually used."""
        return dataclasses.asdict(self) | {"style_weight": self.beta, "learning_rate": self.lr}


def _whole(value: object) -> bool:
    """A whole number, and not a bool (``True`` is not one step)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    """A real number, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _beyond_problems(settings: Settings) -> list[str]:
    """What is wrong with the colour, style-scale and blend settings (lesson 05), one line each."""
    problems = []
    if settings.preserve_colour is not None and settings.preserve_colour not in COLOUR_MODES:
        problems.append(
            f"preserve_colour must be one of {', '.join(COLOUR_MODES)} or None, not {settings.preserve_colour!r}"
        )
    scale = settings.style_scale
    if not (_number(scale) and math.isfinite(scale) and 0.1 <= scale <= 10):
        problems.append(f"style_scale must be a number from 0.1 to 10 (1 = the result's size), not {scale!r}")
    blend = settings.style_blend
    if blend is not None:
        if not isinstance(blend, (tuple, list)) or not blend or not all(_number(w) and math.isfinite(w) for w in blend):
            problems.append(f"style_blend must be one number per style image, not {blend!r}")
        elif any(w < 0 for w in blend):
            problems.append(f"style_blend weights must be >= 0, not {tuple(blend)!r}")
        elif sum(blend) <= 0:
            problems.append(f"style_blend needs at least one weight above 0, not {tuple(blend)!r}")
    return problems


#: From this size on, a run with ``Settings.scales`` empty optimises at half the size first,
#: upsamples and continues (``experiments/RESULTS.md``, section 6). At 512 px that took
#: 1.08x the time of one scale and gave a more painterly picture at a 0.3% lower loss; at
#: 256 px it took 1.14x, and its picture was softer than one scale's (the houses kept the
#: blur of the upsampled start), so 256 px runs at one scale.
COARSE_TO_FINE_FROM = 512


def plan_scales(settings: Settings) -> tuple[int, ...]:
    """The sizes a run optimises at, smallest first: ``settings.scales``, or the package's choice.

    >>> plan_scales(Settings(size=128)), plan_scales(Settings(size=512)), plan_scales(Settings(size=512, scales=(512,)))
    ((128,), (256, 512), (512,))
    """
    if settings.scales:
        return tuple(settings.scales)
    if settings.size >= COARSE_TO_FINE_FROM:
        return (settings.size // 2, settings.size)
    return (settings.size,)


_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))


def replace_settings(base: Settings | None, overrides: Mapping[str, Any]) -> Settings:
    """``base`` (or the defaults) with ``overrides`` applied; THE check for unknown setting names.

    >>> replace_settings(None, {"steps": 5}).steps
    5
    >>> replace_settings(None, {"colour": True})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nst_course.errors.NSTError: unknown setting(s) colour; the settings are content_layers, ...
    """
    check_setting_names(overrides)
    return dataclasses.replace(base or Settings(), **overrides)


def check_setting_names(names: Iterable[str]) -> None:
    """An NSTError naming each of ``names`` that is not a field of :class:`Settings`; nothing if all are."""
    unknown = sorted(set(names) - _FIELDS)
    if unknown:
        raise NSTError(f"unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(sorted(_FIELDS))}")
