"""The alpha/beta translation: what the paper's ratios mean under another normalisation of the losses.

The paper's ratios (1e-3 and so on) are numbers on its own loss scales: eq. (1) and
(4) on a copy of VGG-19 rescaled so that every filter's mean activation is 1, at about
512 px. :func:`loss_scales` measures, for the given images and network, what each
common normalisation makes of the two losses, and :meth:`LossScales.style_weight`
turns a paper alpha/beta into the beta (alpha = 1) that weighs the two terms the same
way under another normalisation. Every panel of a figure runs with that translated
beta, so a column of Fig. 4 means what the paper's column meant.

>>> format_ratio(1e-3), format_ratio(8e-4)
('1e-03', '8e-04')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..engine.losses import content_loss, gram_matrix, layer_style_loss
from ..engine.settings import Settings
from ..engine.tasks import check_size
from ..engine.vgg import VGG19, with_pooling
from ..errors import NSTError

__all__ = [
    "NORMALISATION_LABELS",
    "PAPER_SIZE",
    "LossScales",
    "format_ratio",
    "loss_scales",
    "tutorial_losses",
]

#: The paper's images are "about 512 px", taken here as the longest side (the authors' own code
#: sets the *shorter* side to 512 px, which for a 3:2 photo is 1.5x as many pixels across).
#: Its content loss is a sum over positions, so its alpha/beta depends on the size:
#: ``loss_scales(..., paper_size=PAPER_SIZE)`` translates for the paper's size, where the same
#: alpha/beta gives the style less weight.
PAPER_SIZE = 512

#: What each normalisation is, in words (the keys of :class:`LossScales`).
NORMALISATION_LABELS = {
    "paper-rescaled": "paper, on its rescaled network",
    "paper": "paper, eq. (1) and (4), this network",
    "relative": "relative (this package's default)",
    "tutorial": "PyTorch tutorial: its own layers, sums, max pooling",
    "mean": "mean squared error",
}

#: The PyTorch tutorial's layers, in this package's names. Its ``conv_4`` counts
#: convolutions, so it is conv2_2; its ``conv_1`` ... ``conv_5`` are conv1_1, conv1_2,
#: conv2_1, conv2_2 and conv3_1. It attaches its losses after torchvision's ``Conv2d``
#: modules, before the ReLU, and keeps torchvision's max pooling.
TUTORIAL_CONTENT_LAYER = "conv2_2"
TUTORIAL_STYLE_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")
TUTORIAL_POOLING = "max"


def format_ratio(ratio: float) -> str:
    """An alpha/beta as the paper writes it, one significant figure: ``1e-03``."""
    return f"{ratio:.0e}"


@dataclass(frozen=True)
class LossScales:
    """The content and style losses of one reference image under each normalisation.

    Keys are those of :data:`NORMALISATION_LABELS`. Only the ratio of the two
    losses under one normalisation matters: it says how big the style term is
    next to the content term before the weights multiply them.
    """

    content: dict[str, float]
    style: dict[str, float]
    reference: str
    """What the losses were measured on, in words."""

    def balance(self, normalization: str) -> float:
        """Style loss divided by content loss under ``normalization``."""
        if normalization not in self.content:
            raise NSTError(f"no normalisation {normalization!r}; choose one of {', '.join(self.content)}")
        return self.style[normalization] / self.content[normalization]

    def style_weight(self, paper_ratio: float, normalization: str = "relative") -> float:
        """beta (with alpha = 1) under ``normalization`` that weighs the terms as the paper's alpha/beta did.

        The paper's alpha/beta makes the style term ``balance("paper-rescaled") / ratio``
        times the content term on the reference image; this beta does the same here.
        """
        if not (isinstance(paper_ratio, (int, float)) and paper_ratio > 0):
            raise NSTError(f"alpha/beta must be a number > 0, not {paper_ratio!r}")
        return self.balance("paper-rescaled") / paper_ratio / self.balance(normalization)

    def paper_ratio(self, style_weight: float, normalization: str, content_weight: float = 1.0) -> float:
        """The paper's alpha/beta that a tutorial's (content_weight, style_weight) amounts to."""
        if not (style_weight > 0 and content_weight > 0):
            raise NSTError("both weights must be > 0 to compare them")
        return self.balance("paper-rescaled") / (style_weight / content_weight * self.balance(normalization))


def _rescaling(features: Sequence[Mapping[str, torch.Tensor]], name: str) -> float:
    """The mean rectified activation of layer ``name`` over these images: what the paper's network divides by.

    The paper rescaled each channel to a mean of 1 over ImageNet. Over two images
    some channels are almost silent, and dividing by their tiny means would blow
    them up; the layer's mean keeps the layer's scale, which is what sets the
    balance of the losses, without that.
    """
    mean = float(torch.stack([f[name].clamp(min=0).mean() for f in features]).mean())
    return mean if mean > 0 else 1.0


def tutorial_losses(
    net: VGG19, content: torch.Tensor, style: torch.Tensor, *, reference: torch.Tensor
) -> tuple[float, float]:
    """The PyTorch tutorial's content and style loss of ``reference``, with ``net``'s weights.

    The tutorial's objective, in its own conventions: the content loss is the mean
    squared error of conv2_2 (its ``conv_4``); each style layer's loss is the mean
    squared error of Gram matrices divided by C·H·W, and the five layers
    (:data:`TUTORIAL_STYLE_LAYERS`) are *summed*, not averaged; the network max-pools.
    With ``content_weight`` alpha and ``style_weight`` beta the tutorial minimises
    ``alpha * content + beta * style``.
    """
    tutorial_net = with_pooling(net, TUTORIAL_POOLING)
    layers = [TUTORIAL_CONTENT_LAYER, *TUTORIAL_STYLE_LAYERS]
    device = net.device
    with torch.no_grad():
        fc = tutorial_net(content.to(device), [TUTORIAL_CONTENT_LAYER])
        fs, fx = (tutorial_net(image.to(device), layers) for image in (style, reference))
    content_term = float(content_loss(fx[TUTORIAL_CONTENT_LAYER], fc[TUTORIAL_CONTENT_LAYER], normalization="mean"))
    # "mean" divides the squared error of G / (H·W) by C², the tutorial's of G / (C·H·W) by C² again
    style_term = sum(
        float(layer_style_loss(fx[n], gram_matrix(fs[n]), normalization="mean")) / fx[n].shape[1] ** 2
        for n in TUTORIAL_STYLE_LAYERS
    )
    return content_term, style_term


def loss_scales(
    net: VGG19,
    content: torch.Tensor,
    style: torch.Tensor,
    *,
    settings: Settings | None = None,
    reference: torch.Tensor | None = None,
    paper_size: int | None = None,
) -> LossScales:
    """Measure, on these images and this network, what each normalisation makes of the two losses.

    ``content`` and ``style`` are images at the size the run will use; the losses
    are those of ``reference`` (default: white noise from ``settings.seed``, the
    paper's start) against them, with the layers of ``settings`` and 1/L per
    style layer. "paper-rescaled" divides every channel by its mean rectified
    activation over the two images (the paper rescaled its network so that this
    mean is 1 over ImageNet) and scales the content loss, a sum over positions, up
    to ``paper_size``. "tutorial" is the PyTorch tutorial's objective in its own
    conventions (:func:`tutorial_losses`): its own layers (conv2_2; conv1_1 ...
    conv3_1, before the ReLU), its sum over the five style layers and its max
    pooling, with ``net``'s weights; ``settings`` does not change it.
    """
    settings = settings or Settings()
    content_layers, style_layers = list(settings.content_layers), list(settings.style_layers)
    layers = [*content_layers, *style_layers]
    check_size(tuple(content.shape[-2:]), layers)
    if reference is None:
        generator = torch.Generator().manual_seed(settings.seed)
        reference = torch.rand((1, 3, *content.shape[-2:]), generator=generator)
        described = f"white noise (seed {settings.seed})"
    else:
        described = "the given image"
    device = net.device
    with torch.no_grad():
        fc, fs, fx = (net(image.to(device), layers) for image in (content, style, reference))
    factors = {name: _rescaling([fc, fs], name) for name in layers}
    area = (paper_size / max(reference.shape[-2:])) ** 2 if paper_size else 1.0
    c_scale: dict[str, float] = {}
    s_scale: dict[str, float] = {}
    for norm in ("paper", "relative", "mean"):
        c_scale[norm] = sum(float(content_loss(fx[n], fc[n], normalization=norm)) for n in content_layers)
        c_scale[norm] /= len(content_layers)
        s_scale[norm] = sum(
            float(layer_style_loss(fx[n], gram_matrix(fs[n]), normalization=norm)) for n in style_layers
        ) / len(style_layers)
    c_scale["tutorial"], s_scale["tutorial"] = tutorial_losses(net, content, style, reference=reference)
    c_scale["paper-rescaled"] = (
        area
        * sum(
            float(content_loss(fx[n] / factors[n], fc[n] / factors[n], normalization="paper")) for n in content_layers
        )
        / len(content_layers)
    )
    s_scale["paper-rescaled"] = sum(
        float(layer_style_loss(fx[n] / factors[n], gram_matrix(fs[n] / factors[n]), normalization="paper"))
        for n in style_layers
    ) / len(style_layers)
    order = list(NORMALISATION_LABELS)
    h, w = reference.shape[-2:]
    scaled = f" (the paper's content loss scaled to {paper_size} px)" if paper_size else ""
    return LossScales(
        content={k: c_scale[k] for k in order},
        style={k: s_scale[k] for k in order},
        reference=f"{described}, {w}x{h} px{scaled}, {net.weights}",
    )
