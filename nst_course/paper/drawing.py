"""Drawing the paper's figures: the grids of panels, their titles, and the normalisation chart.

Pure drawing: each function takes finished panels (``nst_course.paper.panels``) and
what the figure was made from, and returns a matplotlib figure; nothing here runs the loop.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from .alphabeta import NORMALISATION_LABELS, LossScales, format_ratio
from .panels import Panel, Plan
from .specs import FIG4_RATIOS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_fig3", "draw_fig4", "draw_pair", "layer_set_name", "plot_normalisations", "short_caption"]


def short_caption(caption: str) -> str:
    """A painting's caption short enough for a panel title; a stand-in still names what it stands for.

    >>> short_caption("The Scream, Edvard Munch (1893)")
    'The Scream'
    >>> short_caption("'waves' (built-in stand-in: The Scream is not downloaded)")
    "'waves' for The Scream"
    """
    stand_in = re.fullmatch(r"(.*) \(built-in stand-in: (.*) is not downloaded\)", caption)
    if stand_in:
        return f"{stand_in.group(1)} for {stand_in.group(2)}"
    return caption.split(", ")[0].split(" (")[0]


def layer_set_name(layers: Sequence[str]) -> str:
    """``conv1_1`` or ``conv1_1 … conv3_1``: a row of Fig. 4 by its first and last layer."""
    return layers[0] if len(layers) == 1 else f"{layers[0]} … {layers[-1]}"


def plot_normalisations(scales: LossScales, ratios: Sequence[float] = FIG4_RATIOS, *, title: str | None = None):
    """One picture: each normalisation's content and style loss (left), and the paper's alpha/beta in each (right)."""
    from ..media.canvas import new_figure

    names = list(NORMALISATION_LABELS)
    fig = new_figure(12.5, 4.2)
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    positions = range(len(names))
    left.bar([p - 0.2 for p in positions], [scales.content[n] for n in names], 0.4, label="content loss")
    left.bar([p + 0.2 for p in positions], [scales.style[n] for n in names], 0.4, label="style loss")
    left.set_yscale("log")
    labels = [textwrap.fill(NORMALISATION_LABELS[n], 16) for n in names]
    left.set_xticks(list(positions), labels, fontsize=7)
    left.set_ylabel("loss of the reference image")
    left.legend(fontsize=8)
    left.set_title(f"The same two losses, five scales\n({scales.reference})", fontsize=9)
    right.axis("off")
    header = ["paper α/β", *(n for n in names if n != "paper-rescaled")]
    rows = [
        [format_ratio(r), *(f"{scales.style_weight(r, n):.3g}" for n in names if n != "paper-rescaled")] for r in ratios
    ]
    table = right.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.6)
    right.set_title("β (with α = 1) that weighs the terms as the paper's α/β did", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _grid(rows: int, columns: int, *, size: float, title: str, aspect: float = 1.0):
    """``rows`` x ``columns`` empty axes for images ``aspect`` (height / width) tall, ``size`` inches wide."""
    from ..media.canvas import new_figure

    width = size * columns
    # about 13 characters of a 10-point title per inch: wrap what would run off a narrow figure
    lines = [part for line in title.splitlines() for part in textwrap.wrap(line, max(30, int(width * 13.5)))]
    title = "\n".join(lines)
    fig = new_figure(width, (size * aspect + 0.45) * rows + 0.4 + 0.2 * len(lines))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def _show(ax, image: torch.Tensor | None, title: str = "", *, inset: torch.Tensor | None = None) -> None:
    from ..media.images import to_pil

    if image is None:
        ax.text(0.5, 0.5, "not run", ha="center", va="center", color="grey", transform=ax.transAxes)
    else:
        ax.imshow(to_pil(image))
    if inset is not None and image is not None:
        small = ax.inset_axes([0.0, 0.0, 0.32, 0.32])
        small.imshow(to_pil(inset))
        small.set_xticks([])
        small.set_yticks([])
    ax.set_title(title, fontsize=8)


def _by_key(panels: Sequence[Panel]) -> dict[str, Panel]:
    return {p.key: p for p in panels}


def draw_fig3(
    panels: Sequence[Panel], title: str, *, plans: Sequence[Plan], inputs: dict[str, tuple[torch.Tensor, str]]
) -> Figure:
    """Fig. 3: the photo (A), then each painting's panel with the painting inset, three to a row."""
    done = _by_key(panels)
    photo, photo_caption = inputs["content"]
    columns = 3
    fig, axes = _grid(
        -(-(len(plans) + 1) // columns), columns, size=3.0, title=title, aspect=photo.shape[-2] / photo.shape[-1]
    )
    _show(axes.flat[0], photo, f"A: {photo_caption}")
    for ax, plan in zip(list(axes.flat)[1:], plans, strict=False):
        panel = done.get(plan.key)
        _show(ax, panel.image if panel else None, plan.label, inset=plan.style)
    return fig


def draw_fig4(
    panels: Sequence[Panel],
    title: str,
    *,
    plans: Sequence[Plan],
    inputs: dict[str, tuple[torch.Tensor, str]],
    rows: Sequence[Sequence[str]],
    ratios: Sequence[float],
) -> Figure:
    """Fig. 4: a row per layer set (``rows``), a column per alpha/beta (``ratios``)."""
    done = _by_key(panels)
    (photo, photo_caption), (_, painting_caption) = inputs["content"], inputs["style"]
    width = max(2.2, 6.0 / len(ratios))  # one cell alone is drawn large enough for the titles
    fig, axes = _grid(len(rows), len(ratios), size=width, title=title, aspect=photo.shape[-2] / photo.shape[-1])
    for plan in plans:
        r, c = plan.extra["row"] - 1, plan.extra["column"] - 1
        ax = axes[r][c]
        panel = done.get(plan.key)
        header = f"α/β = {format_ratio(ratios[c])}\n" if r == 0 else ""
        _show(ax, panel.image if panel else None, header + plan.label)
        if c == 0:
            ax.set_ylabel(layer_set_name(rows[r]), fontsize=9)
    fig.supxlabel(f"content: {photo_caption} · style: {painting_caption}", fontsize=8)
    return fig


def draw_pair(
    panels: Sequence[Panel],
    title: str,
    *,
    plans: Sequence[Plan],
    inputs: dict[str, tuple[torch.Tensor, str]],
    ratio: float,
) -> Figure:
    """Fig. 5, 6 and 7: the photo and the style image, then one panel per variant, with its loss."""
    done = _by_key(panels)
    (photo, photo_caption), (painting, painting_caption) = inputs["content"], inputs["style"]
    fig, axes = _grid(1, len(plans) + 2, size=2.4, title=title, aspect=photo.shape[-2] / photo.shape[-1])
    _show(axes[0][0], photo, f"content: {short_caption(photo_caption)}")
    _show(axes[0][1], painting, f"style: {short_caption(painting_caption)}")
    for ax, plan in zip(axes[0][2:], plans, strict=True):
        panel = done.get(plan.key)
        loss = f"\nloss {panel.result.best_loss:.3g}" if panel and panel.result.best_loss is not None else ""
        _show(ax, panel.image if panel else None, plan.label + loss)
    fig.supxlabel(f"α/β = {format_ratio(ratio)} (β = {plans[0].settings.beta:.3g} here)", fontsize=9)
    return fig
