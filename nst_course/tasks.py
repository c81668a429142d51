"""The three things the lessons do with the one loop: reconstruct, synthesise a texture, transfer.

Each builds an :class:`~nst_course.objective.Objective` from the images and the
settings, picks a start image, and calls the loop in ``nst_course.optimize``,
once per scale (coarse to fine when ``Settings.scales`` says so). The
:class:`~nst_course.optimize.Result` is built once, at the end, with the
settings used and a description of the network actually used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import torch

from .errors import NSTError
from .images import ImageSource, load_image, resize
from .objective import Objective, content_targets, style_targets
from .optimize import Callback, OptimizationError, Result, Trace, run_loop
from .settings import Settings, replace_settings
from .vgg import CONTENT_LAYER, LAYER_NAMES, STYLE_LAYERS, VGG19, load_vgg19

__all__ = ["reconstruct", "run", "synthesize_texture", "transfer"]


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


def run(
    *,
    content: ImageSource | None = None,
    style: ImageSource | None = None,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    weights: Any = None,
    pooling: str | None = None,
    device: str | torch.device | None = None,
    init_image: ImageSource | None = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> Result:
    """Optimise an image for ``content`` (its features), ``style`` (its Gram matrices) or both.

    What :func:`reconstruct`, :func:`synthesize_texture` and :func:`transfer` use.
    Pass a loaded ``net`` to reuse it; otherwise one is built from ``weights``
    (None: ``$NST_COURSE_WEIGHTS``, else "auto") and ``pooling`` ("avg").
    """
    settings = settings or Settings()
    if content is None and style is None:
        raise NSTError("give a content image, a style image or both")
    net = network_for(net, weights=weights, pooling=pooling, device=device, seed=settings.seed)
    content_full = load_image(content) if content is not None else None
    style_full = load_image(style) if style is not None else None
    scales = settings.scales or (settings.size,)
    steps_per_scale = [settings.steps // len(scales) + (i < settings.steps % len(scales)) for i in range(len(scales))]
    used_layers = [*(settings.content_layers if content_full is not None else ())]
    used_layers += settings.style_layers if style_full is not None else ()
    generator = torch.Generator().manual_seed(settings.seed)
    traces: list[Trace] = []
    image: torch.Tensor | None = None
    started = time.perf_counter()
    for index, (size, steps) in enumerate(zip(scales, steps_per_scale, strict=True)):
        c = resize(content_full, size).to(net.device) if content_full is not None else None
        s = resize(style_full, size).to(net.device) if style_full is not None else None
        shape = tuple((c if c is not None else s).shape[-2:])
        check_size(shape, used_layers)
        objective = build_objective(net, settings, content=c, style=s)
        if image is not None:
            start = resize(image, shape)  # coarse to fine: continue from the smaller result
        elif init_image is not None:
            start = resize(load_image(init_image), shape)
        elif settings.init == "content" and c is not None:
            start = c
        elif settings.init == "style" and s is not None:
            start = resize(s, shape)
        else:
            start = torch.rand((1, 3, *shape), generator=generator)
        offset = sum(steps_per_scale[:index])
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
            progress=progress,
            description=f"{size}px" if len(scales) > 1 else "optimising",
        )
        traces.append(trace)
        image = trace.best_image
        if trace.stopped not in ("finished", "converged"):
            break
    result = _result(traces, settings, net, started, scales)
    if traces[-1].error:
        raise OptimizationError(traces[-1].error, result)
    return result


def build_objective(
    net: VGG19, settings: Settings, *, content: torch.Tensor | None, style: torch.Tensor | None
) -> Objective:
    """The objective of ``settings`` for these (already resized) images; a missing image drops its term."""
    return Objective(
        content_targets=content_targets(net, content, settings.content_layers) if content is not None else {},
        style_targets=style_targets(net, style, settings.style_layers) if style is not None else {},
        content_weight=settings.content_weight if content is not None else 0.0,
        style_weight=settings.beta if style is not None else 0.0,
        style_layer_weights=dict(zip(settings.style_layers, settings.style_layer_weights, strict=True))
        if settings.style_layer_weights is not None
        else None,
        tv_weight=settings.tv_weight,
        normalization=settings.normalization,
    )


def _result(traces: list[Trace], settings: Settings, net: VGG19, started: float, scales: Sequence[int]) -> Result:
    """One :class:`Result` from the traces of every scale, built once."""
    history: dict[str, list[float]] = {}
    offset = 0
    for trace in traces:
        for name, values in trace.history.items():
            history.setdefault(name, []).extend(values)
        offset += trace.steps_done
    last = traces[-1]
    return Result(
        image=last.best_image,
        history=history,
        settings=settings.as_dict(),
        network=net.describe(),
        best_step=offset - last.steps_done + last.best_step,
        best_loss=last.best_loss if math.isfinite(last.best_loss) else None,
        steps_done=offset,
        stopped=last.stopped,
        seconds=time.perf_counter() - started,
        converged_step=None if last.converged_step is None else offset - last.steps_done + last.converged_step,
        extra={"scales": list(scales)} if len(scales) > 1 else {},
    )


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
    weights: Any = None,
    pooling: str | None = None,
    device: str | torch.device | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (the paper's content reconstructions, Fig. 1).

    Starts from white noise (unless ``init=`` is given); only the content loss counts. Lesson 01.
    """
    layers = (layer,) if isinstance(layer, str) else tuple(layer)
    cfg = replace_settings(settings, {"content_layers": layers, "tv_weight": 0.0, "init": "noise", **overrides})
    return run(
        content=image,
        settings=cfg,
        net=net,
        weights=weights,
        pooling=pooling,
        device=device,
        callback=callback,
        progress=progress,
    )


def synthesize_texture(
    style: ImageSource,
    *,
    layers: Sequence[str] = STYLE_LAYERS,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    weights: Any = None,
    pooling: str | None = None,
    device: str | torch.device | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Find an image whose Gram matrices at ``layers`` match ``style``'s (the paper's style reconstructions, Fig. 1).

    Only the style loss counts, so the layout is lost and the texture stays. Lesson 02.
    """
    cfg = replace_settings(
        settings, {"style_layers": tuple(layers), "style_layer_weights": None, "init": "noise", **overrides}
    )
    return run(
        style=style,
        settings=cfg,
        net=net,
        weights=weights,
        pooling=pooling,
        device=device,
        callback=callback,
        progress=progress,
    )


def transfer(
    content: ImageSource,
    style: ImageSource,
    *,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    weights: Any = None,
    pooling: str | None = None,
    device: str | torch.device | None = None,
    init_image: ImageSource | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Paint ``content`` in the style of ``style`` (Fig. 2 and 3). Lesson 03.

    Minimises alpha * L_content + beta * L_style (``content_weight``,
    ``style_weight``); the style image is resized to the same longest side.
    Starts from the content image unless ``init=`` says otherwise.
    """
    cfg = replace_settings(settings, overrides)
    return run(
        content=content,
        style=style,
        settings=cfg,
        net=net,
        weights=weights,
        pooling=pooling,
        device=device,
        init_image=init_image,
        callback=callback,
        progress=progress,
    )
