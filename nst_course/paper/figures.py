"""The paper's experiments, Fig. 3 to 7 of Gatys, Ecker & Bethge (2016), each one call away.

``figure3()`` ... ``figure7()`` run the panels of one figure with the one loop
(:func:`nst_course.engine.tasks.transfer`), with the figure's own choices as defaults
(``nst_course.paper.specs``: paintings, layer sets, alpha/beta, start images, seeds) and
small sizes for a CPU, and return a :class:`~nst_course.paper.panels.PaperFigure`: every
panel's :class:`~nst_course.engine.loop.Result` (its settings, plus the figure's own
values in ``extra``) and a matplotlib figure laid out and labelled like the paper's
(``nst_course.paper.drawing``). Every panel runs with the paper's alpha/beta translated
to this package's normalisation (``nst_course.paper.alphabeta``). One progress bar
covers the whole figure; Ctrl-C ends it and keeps the panels already finished.

Every figure takes a loaded network (``net=``; None builds one), ``settings=``, its
own choices (images, ratios, layers, seeds), and keyword options: a
:class:`~nst_course.paper.panels.FigureRun` field (``progress=``, ``callback=``,
``on_panel=``) or a setting to change (``size=``, ``steps=``, ...).

>>> sorted(FIGURES), FIGURES[4].__name__
([3, 4, 5, 6, 7], 'figure4')
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..engine.estimate import estimate_seconds
from ..engine.settings import Settings, replace_settings
from ..engine.tasks import network_for
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19
from ..errors import NSTError
from ..media.images import ImageSource, load_image, resize
from .alphabeta import format_ratio, loss_scales
from .drawing import draw_fig3, draw_fig4, draw_pair, short_caption
from .panels import (
    PaperFigure,
    Plan,
    base_settings,
    finish,
    input_image,
    panel_record,
    split_figure_options,
    translated_weights,
)
from .specs import (
    CONTENT,
    FIG3_RATIOS,
    FIG3_STYLES,
    FIG4_RATIOS,
    FIG4_STYLE,
    FIG5_RATIO,
    FIG5_STYLE,
    FIG6_RATIO,
    FIG6_SEEDS,
    FIG6_STYLE,
    FIG7_RATIO,
    FIG7_STYLE,
    FIG7_VARIANTS,
    PANEL_COUNTS,
    SIZE,
    STEPS,
    Variant,
    fig5_layers,
    fig5_variants,
    fig6_variants,
    growing_layer_sets,
)

__all__ = [
    "FIGURES",
    "estimate_figure_seconds",
    "figure3",
    "figure4",
    "figure5",
    "figure6",
    "figure7",
    "trade_off",
]


def figure3(
    *,
    net: VGG19 | None = None,
    content: ImageSource = CONTENT,
    styles: Sequence[ImageSource] = FIG3_STYLES,
    ratios: Sequence[float] = FIG3_RATIOS,
    settings: Settings | None = None,
    **options: Any,
) -> PaperFigure:
    """Fig. 3: one photo (A) in five styles (B to F), each painting with its own alpha/beta, from white noise."""
    if len(styles) != len(ratios):
        raise NSTError(f"Fig. 3 needs one alpha/beta per painting: {len(styles)} paintings, {len(ratios)} ratios")
    run, overrides = split_figure_options(options)
    net = network_for(net)
    base = base_settings(settings, overrides, init="noise")
    photo, photo_caption = input_image(content, base.size)
    plans, inputs = [], {"content": (photo, photo_caption)}
    for letter, source, ratio in zip("BCDEFGHIJK", styles, ratios, strict=False):
        painting, caption = input_image(source, base.size)
        inputs[f"style {letter}"] = (painting, caption)
        scales = loss_scales(net, photo, painting, settings=base)
        cfg = replace_settings(base, translated_weights(scales, ratio, base))
        label = f"{letter}: {short_caption(caption)}\nα/β = {format_ratio(ratio)} (β = {cfg.beta:.3g} here)"
        record = panel_record(3, ratio=ratio, scales=scales, base=base, style=caption)
        plans.append(Plan(key=letter, label=label, content=photo, style=painting, settings=cfg, extra=record))
    return finish(
        3,
        title="one photograph, five paintings",
        plans=plans,
        net=net,
        inputs=inputs,
        draw=functools.partial(draw_fig3, plans=plans, inputs=inputs),
        run=run,
    )


def figure4(
    *,
    net: VGG19 | None = None,
    content: ImageSource = CONTENT,
    style: ImageSource = FIG4_STYLE,
    layer_sets: Sequence[Sequence[str]] | None = None,
    ratios: Sequence[float] = FIG4_RATIOS,
    settings: Settings | None = None,
    **options: Any,
) -> PaperFigure:
    """Fig. 4: rows are growing sets of style layers, columns the paper's alpha/beta; from white noise.

    Rows default to the growing prefixes of :data:`~nst_course.STYLE_LAYERS`. Along
    a row beta/alpha falls from left to right: the left column weighs the style
    most (texture-like), the right the content (photo-like).
    """
    run, overrides = split_figure_options(options)
    net = network_for(net)
    base = base_settings(settings, overrides, init="noise")
    rows = [tuple(s) for s in (layer_sets or growing_layer_sets(base.style_layers))]
    if not rows or not ratios:
        raise NSTError("Fig. 4 needs at least one layer set and one alpha/beta")
    photo, photo_caption = input_image(content, base.size)
    painting, painting_caption = input_image(style, base.size)
    plans = []
    for r, layers in enumerate(rows, start=1):
        row_base = replace_settings(base, {"style_layers": layers, "style_layer_weights": None})
        scales = loss_scales(net, photo, painting, settings=row_base)
        for c, ratio in enumerate(ratios, start=1):
            cfg = replace_settings(row_base, translated_weights(scales, ratio, row_base))
            record = panel_record(4, ratio=ratio, scales=scales, base=row_base, row=r, column=c, layers=list(layers))
            label = f"β = {cfg.beta:.3g}"
            plans.append(Plan(key=f"r{r}c{c}", label=label, content=photo, style=painting, settings=cfg, extra=record))
    inputs = {"content": (photo, photo_caption), "style": (painting, painting_caption)}
    return finish(
        4,
        title="style layers (rows) against α/β (columns)",
        plans=plans,
        net=net,
        inputs=inputs,
        draw=functools.partial(draw_fig4, plans=plans, inputs=inputs, rows=rows, ratios=ratios),
        run=run,
    )


def _pair_figure(
    number: int,
    *,
    title: str,
    variants: Sequence[Variant],
    images: tuple[ImageSource, ImageSource],
    ratio: float,
    net: VGG19 | None,
    settings: Settings | None,
    defaults: Mapping[str, Any],
    options: Mapping[str, Any],
) -> PaperFigure:
    """Fig. 5, 6 and 7: one photo, one style (``images``), one alpha/beta, and panels that differ in one setting."""
    run, overrides = split_figure_options(options)
    net = network_for(net)
    base = base_settings(settings, overrides, **defaults)
    photo, photo_caption = input_image(images[0], base.size)
    painting, painting_caption = input_image(images[1], base.size)
    scales = loss_scales(net, photo, painting, settings=base)
    plans = []
    for key, label, change in variants:
        cfg = replace_settings(base, {**change, **translated_weights(scales, ratio, base)})
        record = panel_record(number, ratio=ratio, scales=scales, base=base, **change)
        plans.append(Plan(key=key, label=label, content=photo, style=painting, settings=cfg, extra=record))
    inputs = {"content": (photo, photo_caption), "style": (painting, painting_caption)}
    return finish(
        number,
        title=title,
        plans=plans,
        net=net,
        inputs=inputs,
        draw=functools.partial(draw_pair, plans=plans, inputs=inputs, ratio=ratio),
        run=run,
    )


def figure5(
    *,
    net: VGG19 | None = None,
    content: ImageSource = CONTENT,
    style: ImageSource = FIG5_STYLE,
    layers: Sequence[str] | None = None,
    ratio: float = FIG5_RATIO,
    settings: Settings | None = None,
    **options: Any,
) -> PaperFigure:
    """Fig. 5: the content matched at the conv2_2 level (A) and at the default content layer (B); from noise."""
    variants = fig5_variants(layers or fig5_layers())
    return _pair_figure(
        5, title="content layer", variants=variants, images=(content, style), ratio=ratio,
        net=net, settings=settings, defaults={"init": "noise"}, options=options,
    )  # fmt: skip


def figure6(
    *,
    net: VGG19 | None = None,
    content: ImageSource = CONTENT,
    style: ImageSource = FIG6_STYLE,
    seeds: Sequence[int] = FIG6_SEEDS,
    ratio: float = FIG6_RATIO,
    settings: Settings | None = None,
    **options: Any,
) -> PaperFigure:
    """Fig. 6: start from the photo (A), from the painting (B), and from white noise with several seeds (C)."""
    variants = fig6_variants(seeds)
    return _pair_figure(
        6, title="where the optimisation starts", variants=variants, images=(content, style), ratio=ratio,
        net=net, settings=settings, defaults={}, options=options,
    )  # fmt: skip


def figure7(
    *,
    net: VGG19 | None = None,
    content: ImageSource = CONTENT,
    style: ImageSource = FIG7_STYLE,
    ratio: float = FIG7_RATIO,
    settings: Settings | None = None,
    **options: Any,
) -> PaperFigure:
    """Fig. 7: one photograph's style onto another, alpha/beta = 1e-2, starting from the content photo."""
    return _pair_figure(
        7, title="a photograph's style on another photograph", variants=FIG7_VARIANTS, images=(content, style),
        ratio=ratio, net=net, settings=settings, defaults={}, options=options,
    )  # fmt: skip


#: Each figure's function, by number.
FIGURES: dict[int, Callable[..., PaperFigure]] = {3: figure3, 4: figure4, 5: figure5, 6: figure6, 7: figure7}


def estimate_figure_seconds(net: VGG19, numbers: Sequence[int], *, size: int = SIZE, steps: int = STEPS) -> float:
    """About how long the figures ``numbers`` take at their defaults, at ``size`` px and ``steps`` steps each panel."""
    probe = resize(load_image("town"), size)
    layers = [CONTENT_LAYER, *STYLE_LAYERS]
    runs = sum(PANEL_COUNTS[n] for n in numbers)
    return estimate_seconds(net, probe, layers=layers, steps=steps, runs=runs)


def trade_off(figure: PaperFigure) -> dict[tuple[str, ...], list[tuple[float, float, float]]]:
    """Fig. 4's rows: for each layer set, ``(beta/alpha, content loss, style loss)`` per finished column."""
    rows: dict[tuple[str, ...], list[tuple[float, float, float]]] = {}
    for panel in figure.panels:
        extra = panel.result.extra
        if "layers" not in extra:
            raise NSTError("trade_off reads Fig. 4 (figure4()); this figure has no layer-set rows")
        beta_over_alpha = panel.result.settings["style_weight"] / panel.result.settings["content_weight"]
        rows.setdefault(tuple(extra["layers"]), []).append(
            (beta_over_alpha, extra["content_loss"], extra["style_loss"])
        )
    return {layers: sorted(values) for layers, values in rows.items()}
