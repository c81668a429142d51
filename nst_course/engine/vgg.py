"""VGG-19 with the paper's layer names: the network, its layers, and :func:`load_vgg19`.

Learners write ``"relu4_2"``, never ``features[22]``: :data:`LAYER_NAMES` names
every layer (conv1_1 ... conv5_4, relu1_1 ... relu5_4, pool1 ... pool5) in the
order of torchvision's ``vgg19().features``. ``convB_D`` is a convolution's output
before its ReLU, ``reluB_D`` after it; what the paper calls conv4_2 is relu4_2 here
(see :data:`CONTENT_LAYER` and docs/layer-names.md). Introduced in lesson 00.

Weights: ``load_vgg19(weights=...)`` takes "imagenet", "random", "auto" or a file
path, else ``$NST_COURSE_WEIGHTS``, else "auto"; :mod:`nst_course.engine.weights`
says what each means and is where they are found, downloaded, checked and exported.

Not the paper's network. The paper (and the authors' own code) used Caffe's VGG-19,
which reads BGR images on a 0-255 scale with the ImageNet mean subtracted and no
division by a standard deviation; the paper's copy was also rescaled so that each
filter's mean activation over ImageNet is 1 (Sec. 2). This package uses
torchvision's VGG-19, trained on RGB images in [0, 1] normalised with the ImageNet
mean *and* standard deviation, which :class:`VGG19` does inside. Same architecture,
different weights and different activation scales: a loss weight tuned on one does
not carry over to the other.

Pooling: ``pooling="avg"`` (the default) is the paper's choice (Sec. 2, "slightly
more appealing results"); the authors' published code and the PyTorch tutorial
max-pool (``pooling="max"``). :func:`with_pooling` gives the same weights with the
other pooling.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TypedDict

import torch
from torch import nn

from ..errors import NSTError
from .devices import get_device
from .weights import BLOCKS, CHANNELS, IMAGENET_MEAN, IMAGENET_STD, WeightsInfo, imagenet_normalisation, load_features

__all__ = [
    "CONTENT_LAYER",
    "LAYER_NAMES",
    "STYLE_LAYERS",
    "VGG19",
    "check_layers",
    "describe_layers",
    "load_vgg19",
    "with_pooling",
]


# The paper's layer names are those of its software, Caffe, where every ReLU works in place:
# the blob the paper calls "conv4_2" holds the convolution's output *after* rectification.
# In this package's names (torchvision's order) that is relu4_2; conv4_2 here is the output
# before the ReLU, with negative values. Eq. (2) of the paper (the gradient is zero where
# F < 0) only makes sense for rectified features, and the authors' own code reads r42,
# r11 ... r51. So the defaults are the relu layers; the conv layers stay selectable.

#: The paper's content layer, "conv4_2" in its text: the rectified output, relu4_2 here (Sec. 3).
CONTENT_LAYER = "relu4_2"
#: The paper's style layers, "conv1_1" ... "conv5_1" in its text, rectified: relu1_1 ... relu5_1,
#: each weighted 1/5 (Sec. 3).
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for block, depth in enumerate(BLOCKS, start=1):
        for i in range(1, depth + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


#: Every layer of VGG-19's convolutional part, in order, by its paper name;
#: position i is ``torchvision.models.vgg19().features[i]``.
LAYER_NAMES: tuple[str, ...] = _names()


class VGG19(nn.Module):
    """VGG-19's convolutional layers, named as in the paper, frozen, in eval mode.

    ``net(image, ["relu4_2", "relu1_1"])`` returns ``{"relu4_2": ..., "relu1_1": ...}``
    for a (B, 3, H, W) image in [0, 1]; the ImageNet normalisation happens inside,
    and the network only runs up to the deepest requested layer.
    """

    mean: torch.Tensor
    """The ImageNet mean of each colour channel, shape (1, 3, 1, 1): a buffer, moved with the network."""
    std: torch.Tensor
    """The ImageNet standard deviation of each colour channel, shape (1, 3, 1, 1): a buffer too."""

    def __init__(
        self,
        features: nn.Sequential,
        *,
        weights: WeightsInfo,
        pooling: str = "avg",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        if pooling not in ("avg", "max"):
            raise NSTError(f"pooling must be 'avg' or 'max', not {pooling!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, module in zip(LAYER_NAMES, features, strict=True):
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # an in-place ReLU would overwrite a returned conv output
            elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                module = nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2)
            layers[name] = module
        self.layers = nn.Sequential(layers)
        self.weights = weights
        self.pooling = pooling
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = check_layers(layers)
        deepest = max(LAYER_NAMES.index(name) for name in wanted)
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            raise NSTError(f"the network takes a (B, 3, H, W) image tensor, not {getattr(image, 'shape', image)!r}")
        halvings = sum(name.startswith("pool") for name in LAYER_NAMES[:deepest])
        if min(image.shape[-2:]) < 2**halvings:
            height, width = image.shape[-2:]
            raise NSTError(
                f"a {width}x{height} image is too small for {LAYER_NAMES[deepest]} (it is halved {halvings} times "
                f"before it): use at least {2**halvings} px on the short side, or a shallower layer"
            )
        x = (image - self.mean.to(image.dtype)) / self.std.to(image.dtype)
        out: dict[str, torch.Tensor] = {}
        for name, module in list(self.layers.named_children())[: deepest + 1]:
            x = module(x)
            if name in wanted:
                out[name] = x
        return out

    @property
    def device(self) -> torch.device:
        """Where this network's weights live: THE device its inputs must be on."""
        return self.mean.device

    def describe(self) -> dict[str, object]:
        """What a result records about the network that made it."""
        return {
            "weights": str(self.weights),
            "kind": self.weights.kind,
            "pretrained": self.weights.pretrained,
            "pooling": self.pooling,
        }

    def extra_repr(self) -> str:
        return f"weights={self.weights}, pooling={self.pooling!r}"


def with_pooling(net: VGG19, pooling: str) -> VGG19:
    """``net`` itself if it already pools that way, else a network sharing its weights that pools with ``pooling``.

    >>> from nst_course.engine.weights import random_features
    >>> avg = VGG19(random_features(0), weights=WeightsInfo("random", "random", False))
    >>> with_pooling(avg, "max").pooling, with_pooling(avg, "avg") is avg
    ('max', True)
    """
    if pooling == net.pooling:
        return net
    mean, std = (tuple(buffer.flatten().tolist()) for buffer in (net.mean, net.std))
    twin = VGG19(net.layers, weights=net.weights, pooling=pooling, mean=mean, std=std)
    return twin.to(net.device)


def check_layers(layers: Iterable[str]) -> list[str]:
    """``layers`` as a list, or an :class:`NSTError` that lists the valid names."""
    if isinstance(layers, str):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise NSTError(f"layers must be a list of names such as relu4_2, not {layers!r}") from None
    if not layers:
        raise NSTError("no layers given: name at least one, e.g. relu4_2")
    unknown = [name for name in layers if not isinstance(name, str) or name not in LAYER_NAMES]
    if unknown:
        raise NSTError(f"unknown layer {', '.join(map(repr, unknown))}; valid names: {', '.join(LAYER_NAMES)}")
    return layers


def load_vgg19(
    *,
    weights: str | os.PathLike | None = None,
    pooling: str = "avg",
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
) -> VGG19:
    """The VGG-19 feature network with the chosen weights, frozen, on ``device``.

    ``weights`` is "imagenet", "random", "auto" or a file path (see
    :mod:`nst_course.engine.weights`); ``None`` reads ``$NST_COURSE_WEIGHTS`` and falls
    back to "auto". ``seed`` only matters for random weights. The choice is printed in
    ``net.weights`` and recorded in every saved result.
    """
    features, info = load_features(weights, seed=seed, progress=progress)
    mean, std = imagenet_normalisation()
    net = VGG19(features, weights=info, pooling=pooling, mean=mean, std=std)
    return net.to(get_device(device))


class LayerRow(TypedDict):
    """One row of :func:`describe_layers`."""

    layer: str
    type: str
    channels: int
    height: int
    width: int
    receptive_field: int


def describe_layers(size: tuple[int, int] = (224, 224)) -> list[LayerRow]:
    """One row per layer: name, type, channels, output height and width, receptive field.

    The receptive field is how many input pixels across one output value can see.

    >>> describe_layers((64, 64))[4]
    {'layer': 'pool1', 'type': 'pool', 'channels': 64, 'height': 32, 'width': 32, 'receptive_field': 6}
    """
    height, width = size
    rows: list[LayerRow] = []
    field, jump, channels = 1, 1, 3
    for name in LAYER_NAMES:
        kind = name.rstrip("0123456789_")
        block = int(name[len(kind)])
        if kind == "conv":
            channels = CHANNELS[block - 1]
            field += 2 * jump
        elif kind == "pool":
            field += jump
            jump *= 2
            height, width = height // 2, width // 2
        rows.append(
            {
                "layer": name,
                "type": kind,
                "channels": channels,
                "height": height,
                "width": width,
                "receptive_field": field,
            }
        )
    return rows
