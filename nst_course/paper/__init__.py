"""The paper's experiments (Figs 3-7 of Gatys, Ecker & Bethge, CVPR 2016), run with the engine.

The lessons use this package as ``nst.figures`` (``from nst_course import figures``); its
public names come from five modules, one job each::

    specs      the figures as data: paintings, alpha/beta ratios, layers, seeds, panel counts
    alphabeta  the alpha/beta translation between normalisations (loss_scales, format_ratio)
    panels     running a figure's panels under one progress bar; the PaperFigure it gives
    drawing    the panels laid out like the paper's figures; the normalisation chart
    figures    figure3() ... figure7(): specs -> panels -> drawing, one call each
"""

from .alphabeta import NORMALISATION_LABELS, PAPER_SIZE, LossScales, format_ratio, loss_scales, tutorial_losses
from .drawing import layer_set_name, plot_normalisations, short_caption
from .figures import FIGURES, estimate_figure_seconds, figure3, figure4, figure5, figure6, figure7, trade_off
from .panels import Panel, PaperFigure, save_panel
from .specs import (
    FIG3_RATIOS,
    FIG3_STYLES,
    FIG4_RATIOS,
    FIG4_STYLE,
    FIG5_RATIO,
    FIG6_RATIO,
    FIG6_SEEDS,
    FIG7_RATIO,
    PANEL_COUNTS,
    SIZE,
    STEPS,
    growing_layer_sets,
    same_kind_layer,
)

__all__ = [
    "FIG3_RATIOS",
    "FIG3_STYLES",
    "FIG4_RATIOS",
    "FIG4_STYLE",
    "FIG5_RATIO",
    "FIG6_RATIO",
    "FIG6_SEEDS",
    "FIG7_RATIO",
    "FIGURES",
    "NORMALISATION_LABELS",
    "PANEL_COUNTS",
    "PAPER_SIZE",
    "SIZE",
    "STEPS",
    "LossScales",
    "Panel",
    "PaperFigure",
    "estimate_figure_seconds",
    "figure3",
    "figure4",
    "figure5",
    "figure6",
    "figure7",
    "format_ratio",
    "growing_layer_sets",
    "layer_set_name",
    "loss_scales",
    "plot_normalisations",
    "same_kind_layer",
    "save_panel",
    "short_caption",
    "trade_off",
    "tutorial_losses",
]
