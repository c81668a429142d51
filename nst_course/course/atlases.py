"""The layer atlas: for one layer, each channel's visualisation beside the sample patches that excite it most.

:func:`atlas` runs :func:`nst_course.engine.featurevis.visualise` on a grid of channels (one
batch) and :func:`nst_course.course.examples.top_patches` on the offline samples, and draws
both, with the layer's receptive field and grid size and the weights in the title.
On the untrained network (``weights="random"``) every channel is a random filter,
and the pictures show random filters; what the channels of the trained VGG-19
respond to is what the literature reports (Zeiler & Fergus 2014; Olah et al.,
Distill 2017), not something this package has shown.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.estimate import estimate_run
from ..engine.featurevis import VisSettings, visualise
from ..engine.loop import Callback, Result
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19, check_layers, describe_layers
from ..errors import NSTError
from .examples import Patch, layer_geometry, top_patches

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ATLAS_LAYERS", "Atlas", "atlas", "atlas_seconds", "check_channels", "default_channels", "depth"]

#: The layers of ``nst-course atlas all``: the paper's style layers and its content layer.
ATLAS_LAYERS = (*STYLE_LAYERS, CONTENT_LAYER)
#: How many channels an atlas shows unless told.
DEFAULT_COUNT = 16


def depth(layer: str) -> int:
    """How many channels ``layer`` has."""
    (name,) = check_layers([layer])
    return next(int(r["channels"]) for r in describe_layers((16, 16)) if r["layer"] == name)


def default_channels(layer: str, count: int = DEFAULT_COUNT) -> list[int]:
    """The first ``count`` channels of ``layer``.

    >>> default_channels("relu5_1")[-1], depth("relu5_1")
    (15, 512)
    """
    return list(range(min(count, depth(layer))))


def check_channels(layer: str, channels: Sequence[int]) -> list[int]:
    """``channels`` as a list, or one line saying which numbers ``layer`` has."""
    chosen = list(channels)
    if not chosen:
        raise NSTError(f"give at least one channel of {layer}")
    bad = [c for c in chosen if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < depth(layer)]
    if bad:
        raise NSTError(f"{layer} has channels 0 to {depth(layer) - 1}; there is no channel {bad[0]!r}")
    return chosen


def grid_size(layer: str, size: int) -> tuple[int, int]:
    """(rows, columns) of ``layer``'s grid for a ``size`` x ``size`` image.

    >>> grid_size("relu3_1", 128)
    (32, 32)
    """
    return next((int(r["height"]), int(r["width"])) for r in describe_layers((size, size)) if r["layer"] == layer)


@dataclass(frozen=True)
class Atlas:
    """One layer's atlas: the visualisations (a :class:`Result`), the top patches and the figure."""

    layer: str
    channels: list[int]
    result: Result
    patches: list[list[Patch]]
    figure: Figure

    def _repr_png_(self) -> bytes:
        from ..media.canvas import figure_png

        return figure_png(self.figure)

    def metadata(self) -> dict[str, Any]:
        """The visualisations' record (settings, seed, network, versions) plus what the atlas adds."""
        meta = self.result.metadata()
        field, _ = layer_geometry(self.layer)
        meta["nst-course:atlas"] = {
            "layer": self.layer,
            "channels": self.channels,
            "receptive_field": field,
            "patches": [[{"source": p.source, "row": p.row, "column": p.column} for p in row] for row in self.patches],
        }
        return meta

    def save(self, path: str | Path) -> Path:
        """Write the figure as PNG with :meth:`metadata` inside."""
        from ..media.files import atomic_write

        path = Path(path).expanduser()
        if path.suffix.lower() != ".png":
            raise NSTError(f"an atlas is saved as PNG: name the file *.png, not {path.name!r}")
        meta = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in self.metadata().items()}
        return atomic_write(path, lambda fh: self.figure.savefig(fh, format="png", dpi=100, metadata=meta))


def atlas_seconds(net: VGG19, layer: str, count: int, settings: VisSettings) -> float:
    """About how long an atlas of ``count`` channels takes (the visualisations; the patches are one pass)."""
    estimate = estimate_run(
        net, shape=(settings.size, settings.size), layers=[layer], steps=settings.steps, optimizer="adam", batch=count
    )
    return estimate.seconds


def atlas(
    layer: str,
    channels: Sequence[int] | None = None,
    *,
    net: VGG19 | None = None,
    weights: Any = None,
    device: Any = None,
    settings: VisSettings | None = None,
    patches: int = 3,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Atlas:
    """The atlas of ``layer``: ``channels`` (default the first 16) visualised, beside their top sample patches.

    Pass a loaded ``net`` or let one be built from ``weights`` (as every task does);
    keyword overrides (``size=``, ``steps=``, ``seed=``, ``jitter=`` ...) go to :class:`VisSettings`.
    """
    from ..engine.tasks import network_for

    (layer,) = check_layers([layer])
    cfg = VisSettings(**{**(settings.__dict__ if settings else {}), **overrides})
    chosen = check_channels(layer, channels) if channels is not None else default_channels(layer)
    net = network_for(net, weights=weights, device=device, seed=cfg.seed)
    found = top_patches(net, layer, chosen, count=patches) if patches else [[] for _ in chosen]
    result = visualise(net, layer, chosen, settings=cfg, callback=callback, progress=progress)
    figure = draw_atlas(layer, chosen, result, found)
    return Atlas(layer, chosen, result, found, figure)


def draw_atlas(layer: str, channels: Sequence[int], result: Result, patches: Sequence[Sequence[Patch]]) -> Figure:
    """The figure: per channel its visualisation, then its patches; two channels to a row (four without patches)."""
    from ..media.canvas import new_figure

    shown = max((len(p) for p in patches), default=0)
    per_row = min(len(channels), 2 if shown else 4)
    columns = per_row * (1 + shown)
    rows = -(-len(channels) // per_row)
    cell = 1.3
    field, _ = layer_geometry(layer)
    size = int(result.settings["size"])
    height, width = grid_size(layer, size)
    lines = [
        f"{layer}: receptive field {field} px, {height}x{width} grid at {size} px; weights: {result.weights}",
        "each channel: the image optimised to excite it, then the sample patches that excite it most",
    ]
    chars = max(30, int(columns * cell * 14))  # about what fits across the figure at this font size
    title = "\n".join(textwrap.fill(line, chars) for line in lines)
    figure = new_figure(columns * cell, rows * cell * 1.15 + 0.45 + 0.16 * title.count("\n"))
    figure.suptitle(title, fontsize=9)
    for i, c in enumerate(channels):
        row, slot = divmod(i, per_row)
        first = slot * (1 + shown)
        ax = figure.add_subplot(rows, columns, row * columns + first + 1)
        ax.imshow(result.image[i].permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(f"ch {c}", fontsize=8)
        ax.axis("off")
        for j, patch in enumerate(patches[i]):
            ax = figure.add_subplot(rows, columns, row * columns + first + 2 + j)
            ax.imshow(patch.image.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(f"{patch.source} {patch.activation:.2g}", fontsize=6)
            ax.axis("off")
    return figure
