"""What a channel looks for: an image optimised to excite it (feature visualisation).

The same procedure as every task of the course, with another objective: start
from noise and change the pixels, through the one loop (:func:`nst_course.engine.loop.optimize`),
so that one channel of one layer responds as strongly as it can (Erhan et al. 2009;
Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017). Maximising the
activation is minimising its negative, so the loss is below zero and falls.

Plain pixel optimisation finds patterns no photograph contains: high-frequency
noise that a strided, pooled network happens to respond to. Three regularisers
make the result readable; each can be switched off to see what it does:

* **Transformation robustness**: the network sees the image randomly shifted,
  scaled and slightly rotated at every step (:class:`Transforms`), so only
  patterns that excite the channel wherever they fall survive.
* **A decorrelated Fourier parametrisation**: the optimiser moves the image's
  spectrum, scaled by 1/frequency, in a colour space whose axes are uncorrelated
  (:func:`fourier_image`), so that equal steps in every direction give images with
  the statistics of natural ones rather than white noise.
* **Total variation** (optional): a penalty on differences between neighbours.

Batched: every unit of a grid is optimised at once, one image each (VGG has no
layer that mixes the images of a batch). Deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import NSTError
from .loop import Callback, Result, optimize
from .losses import tv_loss

__all__ = [
    "COLOUR_MATRIX",
    "COLOUR_MEAN",
    "Transforms",
    "Unit",
    "UnitObjective",
    "VisSettings",
    "channel",
    "colour_statistics",
    "direction",
    "fourier_image",
    "neuron",
    "visualise",
]

#: The mean RGB colour of the built-in offline samples (hopper, town, swirls, mosaic, waves),
#: each at 128 px, all pixels pooled: what an image "looks like" on average to this package.
COLOUR_MEAN = (0.4077, 0.4154, 0.4496)
#: The symmetric square root of the same pixels' RGB covariance, divided by its largest
#: column norm: it maps three uncorrelated, unit-variance values to colours correlated as
#: the samples' are (mostly brightness). :func:`colour_statistics` recomputes both from
#: the samples; a test checks these numbers against it. The ImageNet statistics a trained
#: VGG-19 expects are not shipped with torchvision (only each channel's mean and spread
#: are); the samples are the stand-in that works offline.
COLOUR_MATRIX = (
    (0.9249, 0.3796, 0.0226),
    (0.3796, 0.6654, 0.3267),
    (0.0226, 0.3267, 0.8437),
)


def colour_statistics(images: Sequence[torch.Tensor]) -> tuple[tuple[float, ...], tuple[tuple[float, ...], ...]]:
    """Mean colour and normalised colour matrix (see :data:`COLOUR_MATRIX`) of the pixels of ``images``."""
    pixels = torch.cat([image.reshape(3, -1).double() for image in images], dim=1)
    covariance = torch.cov(pixels)
    values, vectors = torch.linalg.eigh(covariance)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    root = root / root.norm(dim=0).max()
    mean = tuple(round(float(v), 4) for v in pixels.mean(dim=1))
    return mean, tuple(tuple(round(float(v), 4) for v in row) for row in root)


def _frequency_scale(height: int, width: int, decay: float) -> torch.Tensor:
    """1/f^decay over the rfft2 grid (f in cycles per pixel), normalised to mean square 1."""
    fy = torch.fft.fftfreq(height).view(-1, 1)
    fx = torch.fft.rfftfreq(width).view(1, -1)
    frequency = (fy.pow(2) + fx.pow(2)).sqrt().clamp_min(1.0 / max(height, width))
    scale = frequency.pow(-decay)
    return scale / scale.pow(2).mean().sqrt()


def fourier_image(
    spectrum: torch.Tensor,
    size: tuple[int, int],
    *,
    decay: float = 1.0,
    decorrelate: bool = True,
) -> torch.Tensor:
    """The image (B, 3, H, W) in (0, 1) that Fourier coefficients (B, 3, H, W//2+1, 2) stand for.

    The coefficients are scaled by 1/f^``decay`` (``decay=0``: white), turned into
    pixels, mapped through :data:`COLOUR_MATRIX` (``decorrelate``) and squashed by a
    sigmoid centred on :data:`COLOUR_MEAN`. All zeros give a flat image of the mean colour.
    """
    height, width = size
    scale = _frequency_scale(height, width, decay).to(spectrum.device)
    linear = torch.fft.irfft2(torch.view_as_complex(spectrum.contiguous()) * scale, s=(height, width), norm="ortho")
    return _to_colour(linear, decorrelate)


def _to_colour(linear: torch.Tensor, decorrelate: bool) -> torch.Tensor:
    if decorrelate:
        matrix = torch.tensor(COLOUR_MATRIX, dtype=linear.dtype, device=linear.device)
        linear = torch.einsum("ij,bjhw->bihw", matrix, linear)
    mean = torch.tensor(COLOUR_MEAN, dtype=linear.dtype, device=linear.device).view(1, 3, 1, 1)
    return torch.sigmoid(linear + torch.logit(mean))


def pixel_image(free: torch.Tensor, *, decorrelate: bool = True) -> torch.Tensor:
    """The image pixel-space parameters (B, 3, H, W) stand for (colours and sigmoid as :func:`fourier_image`)."""
    return _to_colour(free, decorrelate)


@dataclass(frozen=True)
class Transforms:
    """Random moves applied to the image before the network sees it, fresh at every evaluation.

    Each image of the batch is shifted by up to ``jitter`` pixels, scaled by a factor in
    [1 - ``scale``, 1 + ``scale``] and rotated by up to ``rotate`` degrees (bilinear,
    mirrored at the borders). All zero: the network sees the image as it is.
    """

    jitter: float = 8.0
    scale: float = 0.05
    rotate: float = 5.0

    @property
    def active(self) -> bool:
        return bool(self.jitter or self.scale or self.rotate)

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not self.active:
            return image
        batch, _, height, width = image.shape
        u = torch.rand(batch, 4, generator=generator, dtype=torch.float64) * 2 - 1
        angle = torch.deg2rad(u[:, 0] * self.rotate)
        factor = 1 + u[:, 1] * self.scale
        cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
        theta = torch.zeros(batch, 2, 3, dtype=torch.float64)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        theta[:, 0, 2] = u[:, 2] * self.jitter * 2 / width
        theta[:, 1, 2] = u[:, 3] * self.jitter * 2 / height
        grid = F.affine_grid(theta.to(image), list(image.shape), align_corners=False)
        return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


class _SeenThrough:
    """A network that looks at each image through :class:`Transforms` (what the loop is given as its network)."""

    def __init__(self, net: Any, transforms: Transforms, seed: int) -> None:
        self.net = net
        self.transforms = transforms
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def device(self) -> torch.device:
        return self.net.device

    def describe(self) -> dict[str, Any]:
        return self.net.describe()

    def __call__(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.net(self.transforms(image, self.generator), layers)


@dataclass(frozen=True)
class Unit:
    """What to maximise in one layer: a channel's mean, one neuron, or a direction in channel space."""

    channel: int | None = None
    position: tuple[int, int] | None = None
    """Neuron: (row, column) on the layer's grid; None for the centre."""
    vector: tuple[float, ...] | None = None
    neuron: bool = False

    @property
    def label(self) -> str:
        if self.vector is not None:
            return "direction"
        if self.neuron:
            where = "centre" if self.position is None else f"{self.position[0]},{self.position[1]}"
            return f"neuron {self.channel} @ {where}"
        return f"channel {self.channel}"

    def activation(self, feature: torch.Tensor) -> torch.Tensor:
        """The scalar to maximise, from one image's features (C, h, w)."""
        if self.vector is not None:
            vector = torch.tensor(self.vector, dtype=feature.dtype, device=feature.device)
            if vector.numel() != feature.shape[0]:
                raise NSTError(f"a direction needs one number per channel: {feature.shape[0]}, not {vector.numel()}")
            return torch.einsum("c,chw->hw", vector / vector.norm(), feature).mean()
        channel = self.channel
        if channel is None:
            raise NSTError("a unit needs a channel or a direction: make it with channel(), neuron() or direction()")
        if not 0 <= int(channel) < feature.shape[0]:
            raise NSTError(f"channel {channel} does not exist: this layer has channels 0 to {feature.shape[0] - 1}")
        if self.neuron:
            row, column = self.position or (feature.shape[1] // 2, feature.shape[2] // 2)
            return feature[channel, row, column]
        return feature[channel].mean()


def channel(index: int) -> Unit:
    """A channel's mean activation over the whole image.

    >>> channel(3).label, neuron(3).label, neuron(3, 0, 5).label
    ('channel 3', 'neuron 3 @ centre', 'neuron 3 @ 0,5')
    """
    return Unit(channel=int(index))


def neuron(index: int, row: int | None = None, column: int | None = None) -> Unit:
    """One position of a channel (the centre of the layer's grid unless given)."""
    if row is None or column is None:
        if row is not None or column is not None:
            raise NSTError("give a neuron both a row and a column, or neither for the centre of the grid")
        return Unit(channel=int(index), neuron=True)
    return Unit(channel=int(index), position=(int(row), int(column)), neuron=True)


def direction(vector: Sequence[float]) -> Unit:
    """The mean of the channels' activations weighted by ``vector`` (one number per channel)."""
    values = tuple(float(v) for v in vector)
    if not any(values):
        raise NSTError("a direction needs at least one non-zero weight")
    return Unit(vector=values)


@dataclass(frozen=True)
class UnitObjective:
    """The loop's objective: minus each unit's activation, image ``i`` of the batch for unit ``i``; plus TV.

    Returns ``{"<layer> channel 3": -a_3, ..., "tv": tv_weight * TV per image}``.
    """

    layer: str
    units: tuple[Unit, ...]
    tv_weight: float = 0.0

    @property
    def layers(self) -> list[str]:
        return [self.layer]

    def __call__(self, features: Mapping[str, torch.Tensor], image: torch.Tensor) -> dict[str, torch.Tensor]:
        feature = features[self.layer]
        terms = {f"{self.layer} {unit.label} #{i}": -unit.activation(feature[i]) for i, unit in enumerate(self.units)}
        if self.tv_weight:
            terms["tv"] = self.tv_weight * len(self.units) * tv_loss(image)
        return terms


@dataclass(frozen=True)
class VisSettings:
    """How a visualisation is made; recorded in every saved picture."""

    size: int = 128
    steps: int = 32  # a 16-channel grid at 128 px in 44 s on 2 cores; 64 steps drew the same picture in 88 s
    learning_rate: float = 0.05
    seed: int = 0
    fourier: bool = True
    decorrelate: bool = True
    decay: float = 1.0
    jitter: float = 8.0
    scale: float = 0.05
    rotate: float = 5.0
    tv_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.size < 16:
            raise NSTError(f"size must be at least 16 px, not {self.size}")
        if self.steps < 1:
            raise NSTError(f"steps must be at least 1, not {self.steps}")
        if not self.learning_rate > 0:
            raise NSTError(f"the learning rate must be above 0, not {self.learning_rate}")

    @property
    def transforms(self) -> Transforms:
        return Transforms(self.jitter, self.scale, self.rotate)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"optimizer": "adam", "method": "feature visualisation"}


def _as_unit(unit: int | Unit) -> Unit:
    if isinstance(unit, Unit):
        return unit
    if isinstance(unit, bool) or not isinstance(unit, int):
        raise NSTError(f"give channels as whole numbers (or nst_course.engine.featurevis units), not {unit!r}")
    return channel(unit)


def visualise(
    net: Any,
    layer: str,
    units: Sequence[int | Unit],
    *,
    settings: VisSettings | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Images (one per unit, as one batch) that excite ``units`` of ``layer`` most; a :class:`Result`.

    ``units`` are channel numbers or :func:`channel`, :func:`neuron`, :func:`direction`.
    ``settings`` (or keyword overrides such as ``steps=64, jitter=0``) say how.
    """
    cfg = dataclasses.replace(settings or VisSettings(), **overrides)
    chosen = tuple(_as_unit(u) for u in units)
    if not chosen:
        raise NSTError("give at least one channel to visualise")
    size = (cfg.size, cfg.size)
    generator = torch.Generator().manual_seed(cfg.seed)
    if cfg.fourier:
        init = 0.01 * torch.randn(len(chosen), 3, cfg.size, cfg.size // 2 + 1, 2, generator=generator)

        def image_of(free: torch.Tensor) -> torch.Tensor:
            return fourier_image(free, size, decay=cfg.decay, decorrelate=cfg.decorrelate)
    else:
        init = 0.01 * torch.randn(len(chosen), 3, *size, generator=generator)

        def image_of(free: torch.Tensor) -> torch.Tensor:
            return pixel_image(free, decorrelate=cfg.decorrelate)

    result = optimize(
        _SeenThrough(net, cfg.transforms, cfg.seed),
        UnitObjective(layer, chosen, cfg.tv_weight),
        init,
        steps=cfg.steps,
        optimizer="adam",
        learning_rate=cfg.learning_rate,
        callback=callback,
        progress=progress,
        description=f"{layer} x{len(chosen)}",
        image_of=image_of,
    )
    return dataclasses.replace(
        result,
        settings=cfg.as_dict(),
        extra={"layer": layer, "units": [u.label for u in chosen]},
    )
