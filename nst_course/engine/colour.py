"""Keeping the photo's colours: luminance-only transfer and colour matching (Gatys et al., CVPR 2017).

A plain transfer copies the painting's colours along with its strokes. Gatys,
Ecker, Bethge, Hertzmann & Shechtman ("Controlling Perceptual Factors in
Neural Style Transfer", 2017) give two ways to keep the photo's colours:

* **luminance only**: split both images into luminance Y and the colour
  channels I, Q (the YIQ space of NTSC television), give the painting's
  luminance the photo's mean and spread, transfer on luminance alone, and put
  the photo's I and Q back. The colours are the photo's by construction.
* **colour matching** ("histogram" here): give the painting's pixels the
  photo's colour mean and covariance by one affine map of RGB, then transfer as
  usual. The strokes stay; the palette becomes the photo's.

:func:`colour_inputs` and :func:`colour_output` are what ``nst.transfer(...,
preserve_colour=...)`` applies before and after the one optimisation loop, and
:func:`chroma_difference` measures how far a result's colours are from the
photo's. Images are (B, 3, H, W) tensors in [0, 1]. Lesson 05.
"""

from __future__ import annotations

import torch

from ..errors import NSTError
from ..media.images import resize
from .settings import COLOUR_MODES

__all__ = [
    "chroma_difference",
    "colour_inputs",
    "colour_output",
    "luminance",
    "match_colour",
    "match_luminance",
    "rgb_to_yiq",
    "yiq_to_rgb",
]

#: RGB -> YIQ (NTSC 1953): Y is the luminance, I and Q the two colour (chroma) axes.
_YIQ = (
    (0.299, 0.587, 0.114),
    (0.596, -0.274, -0.322),
    (0.211, -0.523, 0.312),
)
_EPS = 1e-6


def _check_image(image: torch.Tensor, name: str) -> None:
    if image.ndim != 4 or image.shape[1] != 3:
        raise NSTError(f"{name} must be a (B, 3, H, W) RGB image tensor, got shape {tuple(image.shape)}")


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel's 3-vector by ``matrix``: (3, 3) x (B, 3, H, W) -> (B, 3, H, W)."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> YIQ: channel 0 is the luminance Y, channels 1 and 2 the chroma I and Q.

    >>> yiq = rgb_to_yiq(torch.ones(1, 3, 1, 1))  # white: full luminance, no colour
    >>> [round(float(v), 3) for v in yiq.flatten()]
    [1.0, 0.0, 0.0]
    """
    _check_image(image, "image")
    return _apply(torch.tensor(_YIQ, dtype=torch.float64), image)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    """YIQ -> RGB (not clamped), the exact inverse of :func:`rgb_to_yiq`.

    >>> x = torch.rand(1, 3, 4, 5)
    >>> torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-6)
    True
    """
    _check_image(yiq, "yiq")
    return _apply(torch.linalg.inv(torch.tensor(_YIQ, dtype=torch.float64)), yiq)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """The luminance Y of an RGB image: (B, 3, H, W) -> (B, 1, H, W)."""
    return rgb_to_yiq(image)[:, :1]


def match_luminance(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` in grey (Y in all three channels), with ``reference``'s luminance mean and spread.

    What luminance-only transfer does to the style image, so that a dark
    painting does not darken a bright photo.

    >>> dark, bright = torch.rand(1, 3, 8, 8) * 0.3, 0.5 + torch.rand(1, 3, 8, 8) * 0.4
    >>> out = match_luminance(dark, bright)
    >>> abs(float(luminance(out).mean() - luminance(bright).mean())) < 1e-3
    True
    """
    _check_image(reference, "reference")
    y, y_ref = luminance(image), luminance(reference)
    mean, std = y.mean(dim=(2, 3), keepdim=True), y.std(dim=(2, 3), keepdim=True)
    ref_mean, ref_std = y_ref.mean(dim=(2, 3), keepdim=True), y_ref.std(dim=(2, 3), keepdim=True)
    matched = (y - mean) * (ref_std / (std + _EPS)) + ref_mean
    return matched.clamp(0.0, 1.0).expand(-1, 3, -1, -1).contiguous()


def _sqrt_and_inverse_sqrt(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric square root of a (3, 3) covariance and of its inverse."""
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(_EPS)
    root = vectors @ torch.diag(values.sqrt()) @ vectors.T
    inverse_root = vectors @ torch.diag(values.rsqrt()) @ vectors.T
    return root, inverse_root


def _mean_and_covariance(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = image[0].reshape(3, -1).double()
    mean = pixels.mean(dim=1, keepdim=True)
    centred = pixels - mean
    return mean, centred @ centred.T / pixels.shape[1]


def match_colour(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` recoloured so that its RGB mean and covariance are ``reference``'s (then clamped to [0, 1]).

    The affine map ``x -> C_r^(1/2) C_i^(-1/2) (x - mu_i) + mu_r`` of every pixel
    (symmetric matrix square roots), the "colour histogram matching" of Gatys et
    al. 2017. Spatial structure is untouched; only the palette changes.
    ``image`` and ``reference`` are (1, 3, H, W) and may differ in size.

    >>> g = torch.Generator().manual_seed(0)
    >>> blue = torch.rand(1, 3, 16, 16, generator=g) * torch.tensor([0.2, 0.3, 0.9]).view(1, 3, 1, 1)
    >>> red = torch.rand(1, 3, 20, 12, generator=g) * torch.tensor([0.9, 0.2, 0.2]).view(1, 3, 1, 1)
    >>> out = match_colour(blue, red)
    >>> [round(float(v), 2) for v in out.mean(dim=(0, 2, 3)) - red.mean(dim=(0, 2, 3))]
    [0.0, 0.0, 0.0]
    """
    _check_image(image, "image")
    _check_image(reference, "reference")
    if image.shape[0] != 1 or reference.shape[0] != 1:
        raise NSTError("match_colour takes one image and one reference (batch size 1 each)")
    mean, cov = _mean_and_covariance(image)
    ref_mean, ref_cov = _mean_and_covariance(reference)
    ref_root, _ = _sqrt_and_inverse_sqrt(ref_cov)
    _, inverse_root = _sqrt_and_inverse_sqrt(cov)
    transform = ref_root @ inverse_root
    pixels = image[0].reshape(3, -1).double()
    mapped = transform @ (pixels - mean) + ref_mean
    return mapped.reshape(image.shape).to(image.dtype).clamp(0.0, 1.0)


def _check_mode(mode: str) -> None:
    if mode not in COLOUR_MODES:
        raise NSTError(f"preserve_colour must be one of {', '.join(COLOUR_MODES)}, not {mode!r}")


def colour_inputs(content: torch.Tensor, style: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The (content, style) pair that the loop should see for a transfer that keeps the photo's colours.

    "luminance": both in grey, the style's luminance matched to the photo's.
    "histogram": the photo as it is, the style recoloured by :func:`match_colour`.
    """
    _check_mode(mode)
    if mode == "luminance":
        grey = luminance(content).expand(-1, 3, -1, -1).contiguous()
        return grey, match_luminance(style, content)
    return content, match_colour(style, content)


def colour_output(image: torch.Tensor, content: torch.Tensor, mode: str) -> torch.Tensor:
    """The final picture from the loop's ``image``: with "luminance", its Y and the photo's I and Q.

    The photo is resized to the result's size first. "histogram" needs nothing
    after the loop and returns ``image`` unchanged.
    """
    _check_mode(mode)
    if mode == "histogram":
        return image
    photo = resize(content, tuple(image.shape[-2:])).to(image)
    yiq = rgb_to_yiq(photo)
    yiq = torch.cat([luminance(image), yiq[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0.0, 1.0)


def chroma_difference(image: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean distance between the colours of two same-sized images, ignoring brightness.

    Per pixel, the length of the difference of the (I, Q) chroma vectors of
    YIQ, averaged over the image: 0 when every pixel has the reference's colour
    however light or dark it is; pure red against grey gives 0.63.

    >>> grey, lighter_grey = torch.full((1, 3, 4, 4), 0.3), torch.full((1, 3, 4, 4), 0.8)
    >>> round(chroma_difference(grey, lighter_grey), 6)
    0.0
    >>> red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    >>> round(chroma_difference(red, grey), 3)
    0.632
    """
    _check_image(image, "image")
    _check_image(reference, "reference")
    if image.shape != reference.shape:
        raise NSTError(
            f"chroma_difference compares images of one size, not {tuple(image.shape)} and {tuple(reference.shape)}: "
            "resize one first, e.g. nst.resize(photo, tuple(result.shape[-2:]))"
        )
    chroma = rgb_to_yiq(image)[:, 1:] - rgb_to_yiq(reference.to(image))[:, 1:]
    return float(chroma.pow(2).sum(dim=1).sqrt().mean())
