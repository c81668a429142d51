"""Pictures for the lessons: image rows, feature maps, Gram heat maps, loss curves.

Every function returns a matplotlib Figure (a notebook shows it; a script can
``fig.savefig(...)``) and never changes its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch

from ..errors import NSTError
from ..media.canvas import new_figure
from ..media.images import to_pil

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_feature_maps", "plot_gram", "plot_losses", "show_images"]


def show_images(
    images: Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    suptitle: str | None = None,
    columns: int | None = None,
    size: float = 3.0,
) -> Figure:
    """A row (or grid) of (1, 3, H, W) images with titles underneath."""
    images = list(images)
    titles = list(titles or [""] * len(images))
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    fig = new_figure(size * columns, size * rows + (0.4 if suptitle else 0.0))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(to_pil(image))
        ax.set_title(title, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    return fig


def plot_feature_maps(
    features: torch.Tensor,
    *,
    max_maps: int = 16,
    title: str | None = None,
    size: float = 1.6,
) -> Figure:
    """The first ``max_maps`` channels of (1, C, H, W) features as grey images.

    Each map is scaled to its own range, so weak channels are visible too.
    """
    if not (isinstance(max_maps, int) and not isinstance(max_maps, bool) and max_maps >= 1):
        raise NSTError(f"max_maps must be a whole number of at least 1, not {max_maps!r}")
    if not isinstance(features, torch.Tensor) or features.ndim != 4 or features.numel() == 0:
        raise NSTError(f"plot_feature_maps needs (1, C, H, W) features, not {getattr(features, 'shape', features)!r}")
    maps = features.detach().float().cpu()[0]
    count = min(max_maps, maps.shape[0])
    columns = min(8, count)
    rows = math.ceil(count / columns)
    fig = new_figure(size * columns, size * rows + (0.4 if title else 0.0))
    axes = fig.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(maps[index].numpy(), cmap="gray")
            ax.set_title(f"channel {index}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_gram(gram: torch.Tensor, *, title: str | None = None, max_channels: int = 64, size: float = 3.5) -> Figure:
    """A (C, C) or (1, C, C) Gram matrix as a heat map (first ``max_channels`` channels)."""
    matrix = gram.detach().float().cpu()
    if matrix.ndim == 3:
        matrix = matrix[0]
    matrix = matrix[:max_channels, :max_channels]
    fig = new_figure(size + 0.8, size)
    ax = fig.subplots()
    shown = ax.imshow(matrix.numpy(), cmap="magma")
    ax.set_xlabel("channel")
    ax.set_ylabel("channel")
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(shown, ax=ax, shrink=0.8)
    return fig


def plot_losses(history: Mapping[str, Sequence[float]], *, title: str | None = None, size: float = 4.0) -> Figure:
    """Loss per step, one line per term, on a log scale (the "total" line is thick)."""
    fig = new_figure(size * 1.6, size)
    ax = fig.subplots()
    for name, values in history.items():
        positive = [v if v > 0 else float("nan") for v in values]
        ax.plot(range(1, len(values) + 1), positive, label=name, linewidth=2.5 if name == "total" else 1.2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
