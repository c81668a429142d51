"""The paper's Figs 3-7 as data: their paintings, alpha/beta ratios, layers, seeds and panels.

The figure functions (``nst_course.paper.figures``) build their panels from these, and
:data:`PANEL_COUNTS` counts the same panels from them, so a changed spec changes both.

>>> [row[-1] for row in growing_layer_sets(("conv1_1", "conv2_1", "conv3_1"))]
['conv1_1', 'conv2_1', 'conv3_1']
>>> same_kind_layer(2, 2, like="relu4_2"), same_kind_layer(2, 2, like="conv4_2")
('relu2_2', 'conv2_2')
>>> PANEL_COUNTS
{3: 5, 4: 20, 5: 2, 6: 6, 7: 1}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS

__all__ = [
    "CONTENT",
    "FIG3_RATIOS",
    "FIG3_STYLES",
    "FIG4_RATIOS",
    "FIG4_STYLE",
    "FIG5_RATIO",
    "FIG5_STYLE",
    "FIG6_RATIO",
    "FIG6_SEEDS",
    "FIG6_STYLE",
    "FIG7_RATIO",
    "FIG7_STYLE",
    "FIG7_VARIANTS",
    "PANEL_COUNTS",
    "SIZE",
    "STEPS",
    "Variant",
    "fig5_layers",
    "fig5_variants",
    "fig6_variants",
    "growing_layer_sets",
    "same_kind_layer",
]

#: A panel that differs from its figure's others in one change of the settings: ``(key, label, change)``.
Variant = tuple[str, str, dict[str, Any]]

#: The photograph every figure starts from (a built-in stand-in for the paper's Neckarfront).
CONTENT = "town"
#: Small defaults for a CPU: every figure can be rerun bigger with ``size=`` and ``steps=``.
SIZE, STEPS = 64, 40

#: Fig. 3: one photo, five paintings, each with its own alpha/beta (panels B to F).
#: Picasso's Femme nue assise is not in the public domain; Juan Gris's portrait of Picasso stands in.
FIG3_STYLES = ("shipwreck", "starry_night", "the_scream", "portrait_of_picasso", "composition_vii")
FIG3_RATIOS = (1e-3, 8e-4, 5e-3, 5e-4, 5e-4)
#: Fig. 4: rows are growing sets of style layers, columns alpha/beta, one decade apart.
FIG4_STYLE = "composition_vii"
FIG4_RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)
FIG5_RATIO = FIG6_RATIO = 1e-3
FIG6_SEEDS = (0, 1, 2, 3)
FIG7_RATIO = 1e-2


def growing_layer_sets(layers: Sequence[str] = STYLE_LAYERS) -> list[tuple[str, ...]]:
    """The rows of Fig. 4: the first layer, the first two, ... all of ``layers``."""
    return [tuple(layers[: n + 1]) for n in range(len(layers))]


def same_kind_layer(block: int, index: int, *, like: str = CONTENT_LAYER) -> str:
    """The layer ``block_index`` of the same kind ("conv" or "relu") as ``like``."""
    kind = re.match(r"[a-z]+", like)
    return f"{kind.group() if kind else 'conv'}{block}_{index}"


#: Fig. 5, 6 and 7: the style image of each (Fig. 7's is a photograph).
FIG5_STYLE, FIG6_STYLE, FIG7_STYLE = "starry_night", "the_scream", "hopper"


def fig5_layers() -> tuple[str, ...]:
    """Fig. 5's content layers: the conv2_2 level (A) and the default content layer (B), of one kind."""
    return (same_kind_layer(2, 2), CONTENT_LAYER)


def fig5_variants(layers: Sequence[str]) -> list[Variant]:
    """Fig. 5's panels: one per content layer, lettered A, B, ..."""
    letters = "ABCDEFGH"
    return [(letters[i], f"{letters[i]}: content {name}", {"content_layers": (name,)}) for i, name in enumerate(layers)]


def fig6_variants(seeds: Sequence[int]) -> list[Variant]:
    """Fig. 6's panels: from the photo (A), from the painting (B), from white noise once per seed (C)."""
    return [
        ("A", "A: from the photo", {"init": "content"}),
        ("B", "B: from the painting", {"init": "style"}),
        *((f"C{i}", f"C: noise, seed {seed}", {"init": "noise", "seed": seed}) for i, seed in enumerate(seeds, 1)),
    ]


#: Fig. 7's one panel: the photo in the other photo's style, from the photo.
FIG7_VARIANTS: list[Variant] = [("result", "the photo in the other photo's style", {"init": "content"})]

#: How many panels each figure runs with its defaults, counted from the specs above.
PANEL_COUNTS = {
    3: len(FIG3_STYLES),
    4: len(growing_layer_sets()) * len(FIG4_RATIOS),
    5: len(fig5_variants(fig5_layers())),
    6: len(fig6_variants(FIG6_SEEDS)),
    7: len(FIG7_VARIANTS),
}
