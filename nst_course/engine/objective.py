"""What the loop minimises: the weighted content, style and total-variation terms.

The paper's total loss (Gatys et al. 2016, eq. 7) is

    L_total = alpha * L_content + beta * L_style,   L_style = sum_l w_l * E_l

An :class:`Objective` holds the targets (the photo's features, the painting's
Gram matrices) and the weights, and turns the features of the image being
optimised into named, already weighted terms. The loop only ever sums them.

A learner's own objective plugs into the same loop: anything callable as
``objective(features, image) -> {name: scalar tensor}`` with a ``layers``
attribute (the layers it needs) will do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from .losses import content_loss, gram_matrix, layer_style_loss, tv_loss
from .vgg import VGG19

__all__ = ["Objective", "content_targets", "style_targets"]


@dataclass(frozen=True)
class Objective:
    """Weighted content, style and TV terms, by name.

    ``objective(features, image)`` returns ``{"content relu4_2": alpha * L_c,
    "style relu1_1": beta * w_1 * E_1, ..., "tv": tv_weight * TV}``. Each style
    layer's share ``w_l`` is ``style_layer_weights[name]``, or 1/L when none is
    given (the paper's choice). Several content layers share alpha equally.

    >>> target = {"relu1_1": torch.ones(1, 2, 2, 2)}
    >>> objective = Objective(content_targets=target, content_weight=0.5)
    >>> objective({"relu1_1": torch.zeros(1, 2, 2, 2)}, torch.zeros(1, 3, 2, 2))
    {'content relu1_1': tensor(0.5000)}
    """

    content_targets: Mapping[str, torch.Tensor] = field(default_factory=dict)
    style_targets: Mapping[str, torch.Tensor] = field(default_factory=dict)
    """Target Gram matrices, (B, C, C) each."""
    content_weight: float = 1.0
    style_weight: float = 1.0
    style_layer_weights: Mapping[str, float] | None = None
    tv_weight: float = 0.0
    normalization: str = "relative"

    @property
    def layers(self) -> list[str]:
        """The layers whose features the objective needs, each once."""
        return list(dict.fromkeys([*self.content_targets, *self.style_targets]))

    def style_share(self, name: str) -> float:
        """The weight ``w_l`` of one style layer."""
        if self.style_layer_weights is not None:
            return float(self.style_layer_weights[name])
        return 1.0 / len(self.style_targets)

    def __call__(self, features: Mapping[str, torch.Tensor], image: torch.Tensor) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        for name, target in self.content_targets.items():
            loss = content_loss(features[name], target, normalization=self.normalization)
            terms[f"content {name}"] = self.content_weight * loss / len(self.content_targets)
        for name, target in self.style_targets.items():
            loss = layer_style_loss(features[name], target, normalization=self.normalization)
            terms[f"style {name}"] = self.style_weight * self.style_share(name) * loss
        if self.tv_weight:
            terms["tv"] = self.tv_weight * tv_loss(image)
        return terms


def content_targets(net: VGG19, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """The photo's features at ``layers``: what a content term compares with."""
    with torch.no_grad():
        return {name: value.detach() for name, value in net(image, layers).items()}


def style_targets(net: VGG19, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """The painting's Gram matrices at ``layers``: what a style term compares with."""
    with torch.no_grad():
        return {name: gram_matrix(value).detach() for name, value in net(image, layers).items()}
