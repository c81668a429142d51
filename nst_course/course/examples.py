"""Dataset examples: the patches of real images that excite a channel most.

The other half of what a channel looks for (Zeiler & Fergus 2014; Olah et al.,
Distill 2017): instead of making an image for the channel, search images for the
places where it responds most, and cut each out at the channel's receptive field,
the square of input pixels one position of the layer can see
(:func:`nst_course.engine.vgg.describe_layers`). The images searched are the built-in
offline samples unless others are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..engine.vgg import VGG19, check_layers, describe_layers
from ..errors import NSTError
from ..media.images import load_image

__all__ = ["OFFLINE_SAMPLES", "Patch", "layer_geometry", "top_patches"]

#: The built-in images that need no download.
OFFLINE_SAMPLES = ("hopper", "town", "swirls", "mosaic", "waves")


@dataclass(frozen=True)
class Patch:
    """One place in one image where a channel responds strongly."""

    image: torch.Tensor
    """(3, h, w) in [0, 1]: the receptive field around that place (cut at the image's border)."""
    activation: float
    source: str
    row: int
    column: int
    """Position on the layer's grid."""


def layer_geometry(layer: str) -> tuple[int, int]:
    """``(receptive field, stride)`` of ``layer`` in input pixels.

    >>> layer_geometry("relu1_1"), layer_geometry("relu3_1")
    ((3, 1), (24, 4))
    """
    (name,) = check_layers([layer])
    rows = describe_layers((64, 64))
    row = next(r for r in rows if r["layer"] == name)
    index = rows.index(row)
    stride = 2 ** sum(r["type"] == "pool" for r in rows[:index])
    return int(row["receptive_field"]), stride


def _cut(image: torch.Tensor, centre: tuple[float, float], field: int) -> torch.Tensor:
    """The ``field`` x ``field`` square around ``centre`` of (3, H, W) ``image``, moved inside it."""
    _, height, width = image.shape
    out = []
    for c, side in zip(centre, (height, width), strict=True):
        extent = min(field, side)
        start = round(c - (extent - 1) / 2)
        start = max(0, min(start, side - extent))
        out.append(slice(start, start + extent))
    return image[:, out[0], out[1]]


def top_patches(
    net: VGG19,
    layer: str,
    channels: Sequence[int],
    *,
    images: Mapping[str, torch.Tensor] | None = None,
    size: int = 256,
    count: int = 3,
) -> list[list[Patch]]:
    """For each of ``channels``, the ``count`` patches of ``images`` that excite it most.

    ``images`` default to the offline samples at ``size`` px.

    Places closer than a receptive field to one already chosen, in the same image, are skipped,
    so the patches do not repeat one spot.
    """
    field, stride = layer_geometry(layer)
    if images is None:
        images = {name: load_image(name, size=size) for name in OFFLINE_SAMPLES}
    with torch.no_grad():
        maps = {name: net(image.to(net.device), [layer])[layer][0].cpu() for name, image in images.items()}
    depth = next(iter(maps.values())).shape[0]
    bad = [c for c in channels if not 0 <= int(c) < depth]
    if bad:
        raise NSTError(f"{layer} has channels 0 to {depth - 1}; there is no channel {bad[0]}")
    apart = max(1, field // (2 * stride))
    found: list[list[Patch]] = []
    names = list(maps)
    offsets = [0]
    for name in names:
        offsets.append(offsets[-1] + maps[name][0].numel())
    for c in channels:
        values = torch.cat([maps[name][c].flatten() for name in names])
        order = torch.argsort(values, descending=True)
        chosen: list[Patch] = []
        for flat in order.tolist():
            k = next(i for i in range(len(names)) if flat < offsets[i + 1])
            name, index, value = names[k], flat - offsets[k], float(values[flat])
            width = maps[name].shape[2]
            row, column = divmod(index, width)
            if any(p.source == name and max(abs(p.row - row), abs(p.column - column)) < apart for p in chosen):
                continue
            centre = (row * stride + (stride - 1) / 2, column * stride + (stride - 1) / 2)
            patch = _cut(images[name][0], centre, field)
            chosen.append(Patch(patch, value, name, row, column))
            if len(chosen) == count:
                break
        found.append(chosen)
    return found
