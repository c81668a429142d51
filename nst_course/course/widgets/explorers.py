"""The lessons' explorers, each a short declaration for the runtime in :mod:`.runtime`.

Reconstruction (lesson 01), texture (lesson 02) and transfer (lesson 03) each
declare their controls, the settings a choice gives, the call of the package's
API, a caption and figures. The explorers that optimise nothing (feature maps,
channels) are in :mod:`.maps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ...engine.estimate import estimate_settings
from ...engine.loop import Result
from ...engine.settings import Settings, replace_settings
from ...engine.tasks import reconstruct, synthesize_texture, transfer
from ...engine.vgg import CONTENT_LAYER, VGG19
from ...media.images import ImageSource, load_image, resize
from . import runtime
from .controls import Layer, LayerSet, LogNumber, image_size, join_layers, step_count
from .runtime import Declaration, Explorer, PlainRun

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "drop_text",
    "reconstruction_explorer",
    "texture_explorer",
    "trade_off_explorer",
    "transfer_explorer",
]


def drop_text(result: Result) -> str:
    """How far the loss fell, never rounded up to "100%": the loss does not reach zero."""
    drop = result.loss_drop
    if drop > 0.9999:
        return "loss fell more than 99.99%"
    return f"loss fell {drop:.2%}" if drop >= 0.995 else f"loss fell {drop:.0%}"


def _pictures(images: Sequence[torch.Tensor], titles: Sequence[str], result: Result) -> Figure:
    from ..plotting import show_images

    return show_images(images, titles, suptitle=f"{result.weights} weights", size=3.0)


def _content_layer(settings: Settings) -> str:
    return settings.content_layers[0] if settings.content_layers else CONTENT_LAYER


def reconstruction_explorer(image: ImageSource, net: VGG19, *, settings: Settings | None = None) -> Explorer | PlainRun:
    """Reconstruct ``image`` from one layer's features, with a live preview. Lesson 01.

    Controls: layer (any of :data:`~nst_course.LAYER_NAMES`; default
    ``settings.content_layers[0]``, relu4_2), steps and size. The caption names
    the layer, the weights and how far the loss fell.
    """
    base = settings or Settings()
    photo = load_image(image)
    return runtime.explore(
        Declaration(
            kind="reconstruction",
            title="Feature reconstruction: which layer keeps what?",
            base=base,
            controls={
                "layer": Layer("layer", _content_layer(base)),
                "steps": step_count(base.steps),
                "size": image_size(base.size),
            },
            overrides=lambda c: {"content_layers": (c["layer"],), "steps": c["steps"], "size": c["size"]},
            run=lambda cfg, callback: reconstruct(
                photo, layer=cfg.content_layers, settings=cfg, net=net, callback=callback, progress=False
            ),
            caption=lambda cfg, r: (
                f"Reconstruction from {cfg.content_layers[0]} — {r.weights} weights — {drop_text(r)}"
            ),
            figures=lambda cfg, r: [
                _pictures(
                    [resize(photo, cfg.size), r.image],
                    ["photo (target)", f"reconstructed from {cfg.content_layers[0]}"],
                    r,
                )
            ],
            target=lambda cfg: resize(photo, cfg.size),
            target_label="photo (target)",
            estimate=lambda cfg: estimate_settings(net, cfg, shape=photo.shape, task="reconstruct"),
        )
    )


def texture_explorer(style: ImageSource, net: VGG19, *, settings: Settings | None = None) -> Explorer | PlainRun:
    """Synthesise a texture from the Gram matrices of a growing layer set. Lesson 02.

    Controls: the layer set (a preset: relu1_1; relu1_1 + relu2_1; ... up to
    relu5_1, or any layers picked by hand), steps and size. The caption names
    the layers and the weights.
    """
    base = settings or Settings()
    painting = load_image(style)
    return runtime.explore(
        Declaration(
            kind="texture",
            title="Texture synthesis: which layers make the style?",
            base=base,
            controls={
                "layers": LayerSet("layer set", base.style_layers),
                "steps": step_count(base.steps),
                "size": image_size(base.size),
            },
            overrides=lambda c: {
                "style_layers": c["layers"],
                "style_layer_weights": None,
                "steps": c["steps"],
                "size": c["size"],
            },
            run=lambda cfg, callback: synthesize_texture(
                painting, layers=cfg.style_layers, settings=cfg, net=net, callback=callback, progress=False
            ),
            caption=lambda cfg, r: (
                f"Texture from {join_layers(cfg.style_layers)} — {r.weights} weights — {drop_text(r)}"
            ),
            figures=lambda cfg, r: [
                _pictures(
                    [resize(painting, cfg.size), r.image],
                    ["style (target)", f"texture from {join_layers(cfg.style_layers)}"],
                    r,
                )
            ],
            target=lambda cfg: resize(painting, cfg.size),
            target_label="style (target)",
            estimate=lambda cfg: estimate_settings(net, cfg, shape=painting.shape, task="texture"),
        )
    )


def transfer_explorer(
    content: ImageSource, style: ImageSource, net: VGG19, *, settings: Settings | None = None
) -> Explorer | PlainRun:
    """Paint ``content`` in the style of ``style``, choosing beta and the layers. Lesson 03.

    Controls: style weight (beta, log scale; alpha stays ``settings.content_weight``),
    content layer, style layers, steps and size. After the run: the result next
    to both inputs, and every layer's loss per step.
    """
    from ..plotting import plot_losses

    base = settings or Settings()
    photo = load_image(content)
    painting = load_image(style)

    def caption(cfg: Settings, result: Result) -> str:
        return (
            f"Transfer with style weight β = {cfg.beta:.3g} (α = {cfg.content_weight:.3g}), "
            f"content {cfg.content_layers[0]}, style {join_layers(cfg.style_layers)} — "
            f"{result.weights} weights — {drop_text(result)}"
        )

    return runtime.explore(
        Declaration(
            kind="transfer",
            title="Style transfer: content + style",
            base=base,
            controls={
                "style_weight": LogNumber("style β", base.beta, -2, 4, css="nst-style-weight"),
                "content_layer": Layer("content", _content_layer(base)),
                "style_layers": LayerSet("style", base.style_layers),
                "steps": step_count(base.steps),
                "size": image_size(base.size),
            },
            overrides=lambda c: {
                "style_weight": c["style_weight"],
                "content_layers": (c["content_layer"],),
                "style_layers": c["style_layers"],
                "style_layer_weights": None,
                "steps": c["steps"],
                "size": c["size"],
            },
            run=lambda cfg, callback: transfer(
                photo, painting, settings=cfg, net=net, callback=callback, progress=False
            ),
            caption=caption,
            figures=lambda cfg, r: [
                _pictures(
                    [resize(photo, cfg.size), r.image, resize(painting, cfg.size)],
                    ["content", f"result (β = {cfg.beta:.3g})", "style"],
                    r,
                ),
                plot_losses(r.history, title="weighted loss per layer", size=3.5),
            ],
            target=lambda cfg: resize(photo, cfg.size),
            target_label="content",
            figure_count=2,
            estimate=lambda cfg: estimate_settings(net, cfg, shape=photo.shape),
        )
    )


def trade_off_explorer(
    content: ImageSource, style: ImageSource, net: VGG19, *, settings: Settings | None = None
) -> Explorer | PlainRun:
    """Choose a cell of the paper's Fig. 4 (a paper alpha/beta and a style-layer set) and run it. Lesson 04.

    The paper's alpha/beta is translated into this package's beta on these images
    (:func:`nst_course.paper.alphabeta.loss_scales`); the caption gives both.
    """
    from ...paper.alphabeta import format_ratio, loss_scales

    base = settings or Settings(init="noise")
    photo, painting = load_image(content), load_image(style)
    paper_ratio: dict[float, float] = {}  # beta -> the paper's alpha/beta it stands for

    def overrides(c: Mapping[str, Any]) -> dict[str, Any]:
        cfg = replace_settings(base, {"style_layers": c["layers"], "style_layer_weights": None, "size": c["size"]})
        scales = loss_scales(net, resize(photo, cfg.size), resize(painting, cfg.size), settings=cfg)
        beta = scales.style_weight(c["ratio"], cfg.normalization)
        paper_ratio[beta] = c["ratio"]
        return {"style_layers": c["layers"], "style_layer_weights": None, "size": c["size"], "steps": c["steps"],
                "content_weight": 1.0, "style_weight": beta}  # fmt: skip

    return runtime.explore(
        Declaration(
            kind="trade-off",
            title="Fig. 4, one cell: the paper's α/β and the style layers",
            base=base,
            controls={
                "ratio": LogNumber("paper α/β", 1e-3, -6, -1, css="nst-paper-ratio"),
                "layers": LayerSet("style", base.style_layers),
                "steps": step_count(base.steps),
                "size": image_size(base.size),
            },
            overrides=overrides,
            run=lambda cfg, callback: transfer(
                photo, painting, settings=cfg, net=net, callback=callback, progress=False
            ),
            caption=lambda cfg, r: (
                f"Paper α/β = {format_ratio(paper_ratio.get(cfg.beta, float('nan')))} → β = {cfg.beta:.3g} here, "
                f"style {join_layers(cfg.style_layers)} — {r.weights} weights — {drop_text(r)}"
            ),
            figures=lambda cfg, r: [
                _pictures(
                    [resize(photo, cfg.size), r.image, resize(painting, cfg.size)],
                    ["content", f"result (β = {cfg.beta:.3g})", "style"],
                    r,
                )
            ],
            target=lambda cfg: resize(photo, cfg.size),
            target_label="content",
            estimate=lambda cfg: estimate_settings(net, cfg, shape=photo.shape),
        )
    )
