"""Interactive front ends for the lessons: choose layers and weights, press Run, watch.

::

    from nst_course import widgets
    widgets.reconstruction_explorer(photo, net, settings=settings)   # lesson 01

Each optimising explorer is a :class:`Declaration` (its controls, the settings a
choice gives, one call of the package's API, a caption and figures) that one
runtime, :func:`explore`, turns into controls, Run and Stop buttons and a live
preview. Nothing is optimised until Run is pressed; the run goes in a
background thread, so Stop is heard, and stopping keeps the best image so far.
A new explorer is one more declaration; for example, style weight against the
layer set (the paper's Fig. 4)::

    def weight_explorer(content, style, net, *, settings=None):
        base = settings or nst.Settings()
        return widgets.explore(widgets.Declaration(
            kind="weights", title="Style weight and layers", base=base,
            controls={"beta": widgets.LogNumber("style β", base.beta, -2, 4),
                      "layers": widgets.LayerSet("style", base.style_layers)},
            overrides=lambda c: {"style_weight": c["beta"], "style_layers": c["layers"], "style_layer_weights": None},
            run=lambda cfg, callback: nst.transfer(content, style, settings=cfg, net=net, callback=callback),
            caption=lambda cfg, r: f"β = {cfg.beta:.3g}, style {' + '.join(cfg.style_layers)}",
            figures=lambda cfg, r: [nst.plotting.show_images([r.image])],
            target=lambda cfg: nst.load_image(content, size=cfg.size),
        ))

Without a widget front end (ipywidgets missing, or not inside a Jupyter
kernel) each explorer prints a note, does one plain run with the starting
choice and returns a :class:`PlainRun` that shows the figure.

ipywidgets is imported only when an explorer is shown, so ``import nst_course``
never needs it.
"""

from __future__ import annotations

from .controls import STYLE_LAYER_SETS, Layer, LayerSet, LogNumber, Whole
from .explorers import reconstruction_explorer, texture_explorer, trade_off_explorer, transfer_explorer
from .maps import (
    ChannelChoice,
    FeatureMapsExplorer,
    channel_explorer,
    channel_map,
    feature_maps,
    feature_maps_explorer,
    ordered_channels,
)
from .runtime import Declaration, Explorer, PlainRun, explore

__all__ = [
    "STYLE_LAYER_SETS",
    "ChannelChoice",
    "Declaration",
    "Explorer",
    "FeatureMapsExplorer",
    "Layer",
    "LayerSet",
    "LogNumber",
    "PlainRun",
    "Whole",
    "channel_explorer",
    "channel_map",
    "explore",
    "feature_maps",
    "feature_maps_explorer",
    "ordered_channels",
    "reconstruction_explorer",
    "texture_explorer",
    "trade_off_explorer",
    "transfer_explorer",
]
