"""The three things the lessons do with the one loop: reconstruct, synthesise a texture, transfer.

Each builds an :class:`~nst_course.engine.objective.Objective` from the images and the
settings, picks a start image, and calls the loop in ``nst_course.engine.loop``,
once per scale (coarse to fine as :func:`~nst_course.engine.settings.plan_scales` says). The
:class:`~nst_course.engine.loop.Result` is built once, at the end, with the
settings used and a description of the network actually used.

Every task takes a loaded network (``net=``), the run's :class:`Settings` (``settings=``)
and keyword options: a :class:`RunContext` field (how the run is carried out: ``weights``,
``pooling``, ``device``, ``init_image``, ``callback``, ``progress``) or a setting to
change (``steps=``, ``size=``, ...). :func:`split_options` tells the two apart, once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import NSTError
from ..media.images import ImageSource, load_image, resize
from .colour import colour_inputs, colour_output
from .estimate import check_fits, shape_at
from .loop import Callback, run_loop
from .objective import Objective, content_targets, style_targets
from .result import OptimizationError, Result, Trace, result_of
from .settings import COARSE_TO_FINE_FROM, Settings, plan_scales, replace_settings
from .vgg import CONTENT_LAYER, LAYER_NAMES, STYLE_LAYERS, VGG19, load_vgg19

__all__ = [
    "COARSE_TO_FINE_FROM",
    "RunContext",
    "plan_scales",
    "reconstruct",
    "run",
    "split_options",
    "synthesize_texture",
    "transfer",
]


def network_for(
    net: VGG19 | None, *, weights: Any = None, pooling: str | None = None, device: Any = None, seed: int = 0
) -> VGG19:
    """``net`` if given, else a VGG-19 built from ``weights`` and ``pooling`` (one network per call)."""
    if net is None:
        return load_vgg19(weights=weights, pooling=pooling or "avg", device=device, seed=seed)
    if weights is not None or pooling is not None:
        raise NSTError(
            "give either a loaded network (net=) or how to build one (weights=, pooling=), not both: "
            f"this network already has {net.weights} weights and {net.pooling} pooling"
        )
    return net


@dataclass(frozen=True)
class RunContext:
    """How a run is carried out, apart from what it computes (that is :class:`Settings`).

    Pass a loaded ``net`` to reuse it; otherwise one is built from ``weights``
    (None: ``$NST_COURSE_WEIGHTS``, else "auto"), ``pooling`` ("avg") and ``device``.
    ``init_image`` replaces the start image that ``Settings.init`` names;
    ``callback`` and ``progress`` are the loop's (:func:`~nst_course.engine.loop.run_loop`).
    """

    net: VGG19 | None = None
    weights: Any = None
    pooling: str | None = None
    device: str | torch.device | None = None
    init_image: ImageSource | None = None
    callback: Callback | None = None
    progress: bool = True

    def network(self, seed: int) -> VGG19:
        """The network of this run: ``net``, or one built from ``weights`` and ``pooling``."""
        return network_for(self.net, weights=self.weights, pooling=self.pooling, device=self.device, seed=seed)


_CONTEXT_FIELDS = frozenset(f.name for f in dataclasses.fields(RunContext))


def split_options(net: VGG19 | None, options: Mapping[str, Any]) -> tuple[RunContext, dict[str, Any]]:
    """A task's keyword options as its :class:`RunContext` and the settings they change.

    >>> context, overrides = split_options(None, {"progress": False, "steps": 5})
    >>> context.progress, overrides
    (False, {'steps': 5})
    """
    context = RunContext(net=net, **{k: v for k, v in options.items() if k in _CONTEXT_FIELDS})
    return context, {k: v for k, v in options.items() if k not in _CONTEXT_FIELDS}


def run(
    *,
    content: ImageSource | None = None,
    style: ImageSource | list[ImageSource] | tuple[ImageSource, ...] | None = None,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    **options: Any,
) -> Result:
    """Optimise an image for ``content`` (its features), ``style`` (its Gram matrices) or both.

    What :func:`reconstruct`, :func:`synthesize_texture` and :func:`transfer` use.
    ``options``: :class:`RunContext` fields (``weights=``, ``progress=``, ...) or
    settings to change. ``style`` may be a list of images, blended by ``settings.style_blend``.
    """
    context, overrides = split_options(net, options)
    return _run(content=content, style=style, settings=replace_settings(settings, overrides), context=context)


def _run(
    *,
    content: ImageSource | None,
    style: ImageSource | list[ImageSource] | tuple[ImageSource, ...] | None,
    settings: Settings,
    context: RunContext,
) -> Result:
    """:func:`run` once its options are split: the scales, the objective at each, the loop, one :class:`Result`."""
    if content is None and style is None:
        raise NSTError("give a content image, a style image or both")
    if settings.preserve_colour is not None:
        raise NSTError("preserve_colour is an option of transfer(); run() optimises the images it is given as they are")
    net = context.network(settings.seed)
    callback = context.callback
    content_full = load_image(content) if content is not None else None
    style_full = load_styles(style, settings) if style is not None else None
    scales = plan_scales(settings)
    used_layers = [*(settings.content_layers if content_full is not None else ())]
    used_layers += settings.style_layers if style_full is not None else ()
    if content_full is not None:
        first = content_full
    else:
        assert style_full is not None, "a call without either image was refused above"
        first = style_full[0]
    check_fits(
        shape_at(first.shape, max(scales)),
        used_layers,
        optimizer=settings.optimizer,
        device=net.device,
        steps=settings.steps,
    )
    generator = torch.Generator().manual_seed(settings.seed)
    traces: list[Trace] = []
    image: torch.Tensor | None = None
    started = time.perf_counter()
    used = 0  # steps taken so far: a scale that converges early leaves its steps to the next
    for index, size in enumerate(scales):
        left = settings.steps - used
        steps = left if index == len(scales) - 1 else max(1, left // (len(scales) - index))
        c = resize(content_full, size).to(net.device) if content_full is not None else None
        s = styles_at(style_full, size, settings=settings, device=net.device) if style_full is not None else None
        shape = tuple((c if c is not None else resize(first, size)).shape[-2:])
        check_size(shape, used_layers)
        objective = build_objective(net, settings, content=c, style=s)
        if image is not None:
            start = resize(image, shape)  # coarse to fine: continue from the smaller result
        elif context.init_image is not None:
            start = resize(load_image(context.init_image), shape)
        elif settings.init == "content" and c is not None:
            start = c
        elif settings.init == "style" and s is not None:
            start = resize(s[0], shape)
        else:
            start = torch.rand((1, 3, *shape), generator=generator)
        offset = used
        stage_callback = (lambda k, losses, img, offset=offset: callback(k + offset, losses, img)) if callback else None
        trace = run_loop(
            net,
            objective,
            start,
            steps=steps,
            optimizer=settings.optimizer,
            learning_rate=settings.lr,
            stop_tolerance=settings.stop_tolerance,
            stop_window=settings.stop_window,
            callback=stage_callback,
            progress=context.progress,
            description=f"{size}px" if len(scales) > 1 else "optimising",
        )
        traces.append(trace)
        used += trace.steps_done
        image = trace.best_image
        if trace.stopped not in ("finished", "converged"):
            break
    image = traces[-1].best_image
    extra: dict[str, Any] = {"scales": list(scales)} if len(scales) > 1 else {}
    final_shape = tuple(shape_at(first.shape, scales[-1]))
    if tuple(image.shape[-2:]) != final_shape:
        # stopped during a coarse pass: the result is still the size asked for, and says where it came from
        image, extra = resize(image, final_shape), extra | {"upsampled_from": scales[len(traces) - 1]}
    result = result_of(
        traces,
        settings=settings.as_dict(),
        network=net.describe(),
        seconds=time.perf_counter() - started,
        image=image,
        extra=extra,
    )
    if traces[-1].error:
        raise OptimizationError(traces[-1].error, result)
    return result


def build_objective(
    net: VGG19,
    settings: Settings,
    *,
    content: torch.Tensor | None,
    style: torch.Tensor | Sequence[torch.Tensor] | None,
) -> Objective:
    """The objective of ``settings`` for these (already resized) images; a missing image drops its term.

    Several style images give blended targets (:func:`blended_style_targets`).
    """
    return Objective(
        content_targets=content_targets(net, content, settings.content_layers) if content is not None else {},
        style_targets=blended_style_targets(net, style, settings) if style is not None else {},
        content_weight=settings.content_weight if content is not None else 0.0,
        style_weight=settings.beta if style is not None else 0.0,
        style_layer_weights=dict(zip(settings.style_layers, settings.style_layer_weights, strict=True))
        if settings.style_layer_weights is not None
        else None,
        tv_weight=settings.tv_weight,
        normalization=settings.normalization,
    )


def load_styles(
    style: ImageSource | list[ImageSource] | tuple[ImageSource, ...], settings: Settings
) -> list[torch.Tensor]:
    """One or several style images, loaded; refuses blend weights that do not match them."""
    sources = list(style) if isinstance(style, (list, tuple)) else [style]
    if not sources:
        raise NSTError("give at least one style image")
    blend = settings.style_blend
    if blend is not None and len(blend) != len(sources):
        raise NSTError(
            f"style_blend has {len(blend)} weight(s) for {len(sources)} style image(s): give one weight per style image"
        )
    return [load_image(source) for source in sources]


def styles_at(
    styles: Sequence[torch.Tensor], size: int, *, settings: Settings, device: torch.device | str
) -> list[torch.Tensor]:
    """The style images at ``size`` times ``settings.style_scale`` (longest side), on ``device``."""
    style_size = max(16, round(size * settings.style_scale))
    resized = [resize(style, style_size).to(device) for style in styles]
    for style in resized:
        try:
            check_size(tuple(style.shape[-2:]), settings.style_layers)
        except NSTError as exc:
            raise NSTError(f"with style_scale {settings.style_scale:g} the style image is too small: {exc}") from None
    return resized


def blended_style_targets(
    net: VGG19, style: torch.Tensor | Sequence[torch.Tensor], settings: Settings
) -> dict[str, torch.Tensor]:
    """The style term's target Gram matrices: the ``style_blend``-weighted mean over the style images.

    One image gives its own Gram matrices; several give, at each layer,
    ``sum_i w_i A_i / sum_i w_i`` (equal weights when ``style_blend`` is None).
    """
    styles = [style] if isinstance(style, torch.Tensor) else list(style)
    weights = settings.style_blend or (1.0,) * len(styles)
    if len(weights) != len(styles):
        raise NSTError(f"style_blend has {len(weights)} weight(s) for {len(styles)} style image(s)")
    total = float(sum(weights))
    blended: dict[str, torch.Tensor] = {}
    for weight, image in zip(weights, styles, strict=True):
        for name, gram in style_targets(net, image, settings.style_layers).items():
            share = gram * (float(weight) / total)
            blended[name] = blended[name] + share if name in blended else share
    return blended


def check_size(shape: Sequence[int], layers: Sequence[str]) -> None:
    """Refuse images that the pooling layers would shrink to nothing before ``layers``."""
    deepest = max(layers, key=LAYER_NAMES.index)
    halvings = sum(name.startswith("pool") for name in LAYER_NAMES[: LAYER_NAMES.index(deepest)])
    if min(shape) < 2**halvings:
        raise NSTError(
            f"a {shape[1]}x{shape[0]} image is too small for {deepest} (it is halved {halvings} times before it): "
            f"use a size of at least {2**halvings} px on the short side, or shallower layers"
        )


def reconstruct(
    image: ImageSource,
    *,
    layer: str | Sequence[str] = CONTENT_LAYER,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    **options: Any,
) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (the paper's content reconstructions, Fig. 1).

    Starts from white noise (unless ``init=`` is given); only the content loss counts. Lesson 01.
    ``options``: :class:`RunContext` fields (``progress=``, ``callback=``, ...) or settings to change.
    """
    context, overrides = split_options(net, options)
    layers = (layer,) if isinstance(layer, str) else tuple(layer)
    cfg = replace_settings(settings, {"content_layers": layers, "tv_weight": 0.0, "init": "noise", **overrides})
    return _run(content=image, style=None, settings=cfg, context=context)


def synthesize_texture(
    style: ImageSource,
    *,
    layers: Sequence[str] = STYLE_LAYERS,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    **options: Any,
) -> Result:
    """Find an image whose Gram matrices at ``layers`` match ``style``'s (the paper's style reconstructions, Fig. 1).

    Only the style loss counts, so the layout is lost and the texture stays. Lesson 02.
    ``options``: :class:`RunContext` fields (``progress=``, ``callback=``, ...) or settings to change.
    """
    context, overrides = split_options(net, options)
    cfg = replace_settings(
        settings, {"style_layers": tuple(layers), "style_layer_weights": None, "init": "noise", **overrides}
    )
    return _run(content=None, style=style, settings=cfg, context=context)


def transfer(
    content: ImageSource,
    style: ImageSource | list[ImageSource] | tuple[ImageSource, ...],
    *,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    **options: Any,
) -> Result:
    """Paint ``content`` in the style of ``style`` (Fig. 2 and 3). Lesson 03.

    Minimises alpha * L_content + beta * L_style (``content_weight``,
    ``style_weight``); the style image is resized to the same longest side
    (times ``style_scale``). Starts from the content image unless ``init=`` (or
    ``init_image=``) says otherwise. ``options``: :class:`RunContext` fields
    (``progress=``, ``callback=``, ...) or settings to change.

    Lesson 05 adds: a list of style images blended by ``style_blend`` (one
    weight each), and ``preserve_colour="luminance"`` or ``"histogram"`` to keep
    the photo's colours (see :func:`transfer_keeping_colour`).
    """
    context, overrides = split_options(net, options)
    cfg = replace_settings(settings, overrides)
    if cfg.preserve_colour is not None:
        return transfer_keeping_colour(content, style, settings=cfg, context=context)
    return _run(content=content, style=style, settings=cfg, context=context)


def transfer_keeping_colour(
    content: ImageSource,
    style: ImageSource | list[ImageSource] | tuple[ImageSource, ...],
    *,
    settings: Settings,
    context: RunContext,
) -> Result:
    """A transfer that keeps the photo's colours (Gatys et al. 2017), as ``settings.preserve_colour`` says.

    The images are prepared by :func:`nst_course.engine.colour.colour_inputs`, the
    plain transfer runs on them (the one loop, unchanged), and
    :func:`nst_course.engine.colour.colour_output` makes the final picture. The result
    records ``preserve_colour`` with the other settings; its losses are those
    of the prepared images (grey ones for "luminance").
    """
    mode = settings.preserve_colour
    if mode is None:
        raise NSTError('transfer_keeping_colour needs settings.preserve_colour: "luminance" or "histogram"')
    photo = load_image(content)
    styles = load_styles(style, settings)
    prepared = [colour_inputs(photo, one, mode) for one in styles]
    inner = dataclasses.replace(settings, preserve_colour=None)

    def finished(result: Result) -> Result:
        return dataclasses.replace(result, image=colour_output(result.image, photo, mode), settings=settings.as_dict())

    try:
        result = _run(
            content=prepared[0][0],
            style=[styled for _, styled in prepared] if len(prepared) > 1 else prepared[0][1],
            settings=inner,
            context=context,
        )
    except OptimizationError as exc:
        raise OptimizationError(str(exc), finished(exc.result)) from None
    return finished(result)
