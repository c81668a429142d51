"""The one pixel-optimisation loop, and the three things the lessons do with it.

Content reconstruction (lesson 01), texture synthesis (lesson 02) and style
transfer (lesson 03) are the same procedure with different objectives: start
from an image (white noise by default), measure the losses on VGG-19 features,
and change the pixels to lower them (Gatys et al. 2016, Fig. 2). :func:`optimize`
is that loop; :func:`reconstruct`, :func:`synthesize_texture` and :func:`transfer`
only build the objective and call it, once per scale.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .errors import NSTError
from .images import ImageSource, load_image, resize, save_image
from .losses import NORMALIZATIONS, content_loss, gram_matrix, layer_style_loss, tv_loss
from .vgg import CONTENT_LAYER, LAYER_NAMES, STYLE_LAYERS, VGG19, check_layers, load_vgg19

__all__ = [
    "Callback",
    "Objective",
    "OptimizationError",
    "Result",
    "Settings",
    "optimize",
    "reconstruct",
    "run",
    "synthesize_texture",
    "transfer",
]

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content", "style")
#: Extra loss evaluations L-BFGS's line search may spend in one step to find a lower loss.
LINE_SEARCH_TRIALS = 20

#: ``callback(step, losses, image)``: called after every step with the losses
#: (floats, by term) and a detached copy of the image. Return True to stop early.
Callback = Callable[[int, Mapping[str, float], torch.Tensor], "bool | None"]


@dataclass(frozen=True)
class Settings:
    """Everything that decides a result, with the defaults in one place.

    Vary it with ``dataclasses.replace(settings, style_weight=1e4)``. Every
    field is saved with each result image.
    """

    size: int = 256
    """Longest side of the result, in pixels."""
    steps: int = 300
    """Optimiser steps (one L-BFGS iteration or one Adam update each)."""
    optimizer: str = "lbfgs"
    """"lbfgs" (the paper's) or "adam"."""
    learning_rate: float | None = None
    """Step size; None means 1.0 for L-BFGS (its full step) and 0.02 for Adam."""
    stop_tolerance: float = 0.005
    """Stop once the best loss has improved by less than this fraction over the last
    ``stop_window`` steps (0 turns the rule off); ``steps`` stays the upper bound.
    ``benchmarks/RESULTS-loop.md`` shows how the rule was chosen."""
    stop_window: int = 20
    """Steps over which ``stop_tolerance`` is measured."""
    init: str = "content"
    """Starting image for a transfer: "content" (the default, as in the authors' own code),
    "noise" (the paper's white noise) or "style". Fig. 6 of the paper shows the start
    changes little once converged; from the content, the layout is there at once, which
    matters with the few steps a CPU affords. Reconstructions and textures start from noise."""
    seed: int = 0
    """Seeds the starting noise (and random weights), so runs repeat exactly."""
    content_layers: tuple[str, ...] = (CONTENT_LAYER,)
    style_layers: tuple[str, ...] = STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    """One weight per style layer; None means 1/L each, as in the paper."""
    content_weight: float = 1.0
    """alpha in the paper."""
    style_weight: float = 3.0
    """beta in the paper. With "relative" normalisation, style counts this many times the content."""
    tv_weight: float = 0.0
    """Total-variation weight; a little (1 to 10) smooths high-frequency noise."""
    normalization: str = "relative"
    weights: str = "auto"
    """"auto", "imagenet", "random" or a file path (see nst_course.vgg)."""
    pooling: str = "avg"
    """"avg" (the paper's choice) or "max" (VGG's own)."""
    scales: tuple[int, ...] = ()
    """Coarse-to-fine: e.g. (128, 256) optimises at 128 px, upsamples, then 256 px;
    steps are shared out evenly. Empty means one scale: ``size``."""

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.size, int) and 16 <= self.size <= 4096):
            problems.append(f"size must be a whole number of pixels from 16 to 4096, not {self.size!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            problems.append(f"steps must be a whole number of at least 1, not {self.steps!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.init not in INITS:
            problems.append(f"init must be one of {', '.join(INITS)}, not {self.init!r}")
        if self.normalization not in NORMALIZATIONS:
            problems.append(f"normalization must be one of {', '.join(NORMALIZATIONS)}, not {self.normalization!r}")
        if self.pooling not in ("avg", "max"):
            problems.append(f"pooling must be 'avg' or 'max', not {self.pooling!r}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a finite number >= 0, not {value!r}")
        if not (math.isfinite(self.stop_tolerance) and 0 <= self.stop_tolerance < 1):
            problems.append(f"stop_tolerance must be a fraction from 0 (off) to below 1, not {self.stop_tolerance!r}")
        if not (isinstance(self.stop_window, int) and self.stop_window >= 1):
            problems.append(f"stop_window must be a whole number of at least 1, not {self.stop_window!r}")
        if self.learning_rate is not None and not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            problems.append(f"learning_rate must be > 0, not {self.learning_rate!r}")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            problems.append(
                f"style_layer_weights has {len(self.style_layer_weights)} values "
                f"for {len(self.style_layers)} style layers"
            )
        if any(not (16 <= s <= 4096) for s in self.scales):
            problems.append(f"every scale must be 16 to 4096 pixels, not {self.scales!r}")
        if problems:
            raise NSTError("; ".join(problems))
        check_layers(self.content_layers or ["conv4_2"])
        check_layers(self.style_layers or ["conv1_1"])

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1.0 if self.optimizer == "lbfgs" else 0.02

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Objective:
    """What the loop minimises: weighted content, style and TV terms.

    Calling it on the network's features and the image gives a dict of named,
    already weighted terms (``"content conv4_2"``, ``"style conv1_1"``, ``"tv"``);
    the loop minimises their sum and keeps each one's history.
    """

    content_targets: Mapping[str, torch.Tensor] = field(default_factory=dict)
    style_targets: Mapping[str, torch.Tensor] = field(default_factory=dict)  # Gram matrices
    content_weight: float = 1.0
    style_weight: float = 1.0
    style_layer_weights: Mapping[str, float] | None = None
    tv_weight: float = 0.0
    normalization: str = "relative"

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys([*self.content_targets, *self.style_targets]))

    def __call__(self, features: Mapping[str, torch.Tensor], image: torch.Tensor) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        for name, target in self.content_targets.items():
            loss = content_loss(features[name], target, normalization=self.normalization)
            terms[f"content {name}"] = self.content_weight * loss / len(self.content_targets)
        for name, target in self.style_targets.items():
            share = (self.style_layer_weights or {}).get(name, 1.0 / len(self.style_targets))
            loss = layer_style_loss(features[name], target, normalization=self.normalization)
            terms[f"style {name}"] = self.style_weight * share * loss
        if self.tv_weight:
            terms["tv"] = self.tv_weight * tv_loss(image)
        return terms


@dataclass
class Result:
    """What a run gives back: the best image, every loss, the settings."""

    image: torch.Tensor
    """(1, 3, H, W) on the CPU, in [0, 1]: the image with the lowest total loss."""
    history: dict[str, list[float]]
    """Loss per step for each term and for "total"."""
    settings: dict[str, Any]
    weights: str
    best_step: int
    steps_done: int
    stopped: str = "finished"
    """"converged" (the stopping rule: see ``Settings.stop_tolerance``), "finished" (all
    ``steps`` done), "stopped" (the callback asked) or "interrupted" (Ctrl-C)."""
    seconds: float = 0.0
    converged_step: int | None = None
    """The step at which the stopping rule found the run converged; None if it never did."""

    @property
    def loss_drop(self) -> float:
        """Fraction by which the total loss fell from the first step to the best (0.9 = 90%)."""
        total = self.history.get("total", [])
        if not total or total[0] == 0:
            return 0.0
        return 1.0 - min(total) / total[0]

    def metadata(self) -> dict[str, Any]:
        import PIL
        import torchvision

        from . import __version__

        return {
            "Software": f"nst-course {__version__}",
            "nst-course:settings": self.settings,
            "nst-course:weights": self.weights,
            "nst-course:seed": self.settings.get("seed"),
            "nst-course:result": {
                "stopped": self.stopped,
                "best_step": self.best_step,
                "steps_done": self.steps_done,
                "converged_step": self.converged_step,
                "final_loss": min(self.history["total"]) if self.history.get("total") else None,
            },
            "nst-course:versions": {
                "nst-course": __version__,
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
                "pillow": PIL.__version__,
            },
        }

    def save(self, path: str) -> Any:
        """Save the image as PNG with the settings, seed, versions and weights inside."""
        return save_image(self.image, path, metadata=self.metadata())


class OptimizationError(NSTError):
    """The loss stopped being a finite number; ``.result`` holds the last good image."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


def fold(free: torch.Tensor) -> torch.Tensor:
    """Fold any real numbers into [0, 1] by mirroring them at 0 and 1 (a triangle wave of period 2).

    The loop optimises an unconstrained tensor and looks at ``fold`` of it, so the
    pixels never leave [0, 1] and nothing has to be clamped after a step (a clamp
    moves the image behind L-BFGS's back and spoils its curvature estimates).
    Inside [0, 1] it is the identity, and its slope is +1 or -1 everywhere.

    >>> fold(torch.tensor([0.25, 1.25, -0.25, 2.0]))
    tensor([0.2500, 0.7500, 0.2500, 0.0000])
    """
    wrapped = torch.remainder(free, 2.0)
    return torch.where(wrapped <= 1.0, wrapped, 2.0 - wrapped)


def to_image(free: torch.Tensor) -> torch.Tensor:
    """The image the optimiser's unconstrained tensor stands for."""
    return fold(free)


def to_free(image: torch.Tensor) -> torch.Tensor:
    """An unconstrained tensor that stands for ``image`` (the inverse of :func:`to_image` on [0, 1])."""
    return image.clamp(0, 1).clone()


def converged(best: Sequence[float], tolerance: float, window: int) -> bool:
    """The stopping rule: has the best loss improved by at most ``tolerance`` (a fraction) over ``window`` steps?

    ``best`` is the best loss so far after each step. A tolerance of 0 never stops.

    >>> converged([4.0, 2.0, 1.0, 0.999], tolerance=0.01, window=2)
    False
    >>> converged([4.0, 2.0, 1.0, 0.999, 0.998], tolerance=0.01, window=2)
    True
    """
    if tolerance <= 0 or len(best) <= window:
        return False
    return best[-window - 1] - best[-1] <= tolerance * best[-1]


def optimize(
    net: VGG19,
    objective: Objective,
    init: torch.Tensor,
    *,
    steps: int,
    optimizer: str = "lbfgs",
    learning_rate: float = 1.0,
    stop_tolerance: float = Settings.stop_tolerance,
    stop_window: int = Settings.stop_window,
    callback: Callback | None = None,
    progress: bool = True,
    description: str = "optimising",
) -> Result:
    """THE loop: change the pixels of ``init`` to lower ``objective``, for at most ``steps`` steps.

    The optimiser changes an unconstrained tensor whose :func:`fold` is the image,
    so every image it looks at is in [0, 1]. The run stops early once the best loss
    has improved by less than ``stop_tolerance`` over ``stop_window`` steps
    (``stopped == "converged"``). The image with the lowest loss seen is returned.
    Ctrl-C or a callback returning True ends the run early and still returns that
    image; a non-finite loss raises :class:`OptimizationError` carrying it.
    """
    from tqdm.auto import tqdm

    device = next(net.parameters()).device
    free = to_free(init.detach().to(device=device, dtype=torch.float32)).requires_grad_(True)
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [free],
            lr=learning_rate,
            max_iter=1,
            max_eval=1 + LINE_SEARCH_TRIALS,
            history_size=50,
            line_search_fn="strong_wolfe",
        )
    elif optimizer == "adam":
        opt = torch.optim.Adam([free], lr=learning_rate)
    else:
        raise NSTError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    layers = objective.layers
    history: dict[str, list[float]] = {}
    best_so_far: list[float] = []
    best = {"loss": math.inf, "free": free.detach().clone(), "step": 0}
    state: dict[str, Any] = {"step": 0, "stopped": "finished", "converged": None, "record": True}
    last: dict[str, Any] = {}  # the latest point measured: the line search ends on one it has already measured

    def measure(*, gradient: bool) -> tuple[torch.Tensor, list[float]]:
        """Total loss and [total, *terms] at ``free``; with ``gradient``, also its gradient in ``free.grad``."""
        if last and torch.equal(last["free"], free.detach()):
            if gradient:
                free.grad = last["grad"].clone()
            return last["total"], last["values"]
        with torch.enable_grad() if gradient else torch.no_grad():
            image = to_image(free)
            terms = objective(net(image, layers), image)
            total = torch.stack(list(terms.values())).sum()
            values = torch.stack([total.detach(), *(term.detach() for term in terms.values())]).tolist()
            if not math.isfinite(values[0]):
                raise FloatingPointError(values[0])
            if gradient:
                opt.zero_grad(set_to_none=True)
                total.backward()
                last.update(free=free.detach().clone(), grad=free.grad.detach().clone())
                last.update(total=total.detach(), values=values, names=["total", *terms])
        return total.detach(), values

    def record(values: list[float]) -> None:
        """Keep the losses of the image a step starts from, and that image if it is the best yet."""
        for name, value in zip(last["names"], values, strict=True):
            history.setdefault(name, []).append(value)
        best_so_far.append(min(values[0], best_so_far[-1] if best_so_far else math.inf))
        if values[0] < best["loss"]:  # a copy on the device, not to the CPU
            best.update(loss=values[0], step=state["step"])
            best["free"].copy_(free.detach())

    def closure() -> torch.Tensor:
        total, values = measure(gradient=True)
        if state["record"]:  # the first call of a step measures where it starts; later ones are line-search trials
            record(values)
            state["record"] = False
        return total

    def result(stopped: str) -> Result:
        image = to_image(best["free"]).cpu()
        seconds = time.perf_counter() - start
        return Result(image, history, {}, "", best["step"], state["step"], stopped, seconds, state["converged"])

    start = time.perf_counter()
    bar = tqdm(total=steps, desc=description, disable=not progress, leave=False)
    try:
        for step in range(1, steps + 1):
            state["step"], state["record"] = step - 1, True  # the closure measures the image before this step
            opt.step(closure)
            state["step"] = step
            bar.update(1)
            bar.set_postfix(loss=f"{history['total'][-1]:.4g}", refresh=False)
            if callback is not None:
                losses = {name: values[-1] for name, values in history.items()}
                if callback(step, losses, to_image(free.detach()).cpu()):
                    state["stopped"] = "stopped"
                    break
            if converged(best_so_far, stop_tolerance, stop_window):
                state["stopped"], state["converged"] = "converged", step
                break
        else:
            _, values = measure(gradient=False)  # the image after the last step: often measured already
            if values[0] < best["loss"]:
                best.update(loss=values[0], step=state["step"])
                best["free"].copy_(free.detach())
    except KeyboardInterrupt:
        state["stopped"] = "interrupted"
    except FloatingPointError as exc:
        bad = result("error")
        raise OptimizationError(
            f"the loss became {exc.args[0]} at step {state['step'] + 1}; the best image (step {best['step']}) "
            "was kept. Try a smaller learning rate or style weight, or Adam instead of L-BFGS",
            bad,
        ) from None
    finally:
        bar.close()
    return result(state["stopped"])


def run(
    *,
    content: ImageSource | None = None,
    style: ImageSource | None = None,
    settings: Settings = Settings(),
    net: VGG19 | None = None,
    init_image: ImageSource | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> Result:
    """Optimise an image for ``content`` (its features), ``style`` (its Gram matrices) or both.

    This builds the objective at each scale and calls :func:`optimize`; it is
    what :func:`reconstruct`, :func:`synthesize_texture` and :func:`transfer` use.
    A loaded ``net`` can be passed to skip loading VGG-19 again.
    """
    if content is None and style is None:
        raise NSTError("give a content image, a style image or both")
    if net is None:
        net = load_vgg19(settings.weights, pooling=settings.pooling, device=device, seed=settings.seed)
    dev = next(net.parameters()).device
    content_full = load_image(content) if content is not None else None
    style_full = load_image(style) if style is not None else None
    scales = settings.scales or (settings.size,)
    steps_per_scale = [settings.steps // len(scales) + (i < settings.steps % len(scales)) for i in range(len(scales))]
    generator = torch.Generator().manual_seed(settings.seed)
    history: dict[str, list[float]] = {}
    image: torch.Tensor | None = None
    result: Result | None = None
    started = time.perf_counter()
    for index, (size, steps) in enumerate(zip(scales, steps_per_scale, strict=True)):
        c = resize(content_full, size).to(dev) if content_full is not None else None
        s = resize(style_full, size).to(dev) if style_full is not None else None
        shape = (c if c is not None else s).shape[-2:]
        _check_size(
            shape,
            [*settings.content_layers, *settings.style_layers]
            if c is not None and s is not None
            else settings.content_layers
            if c is not None
            else settings.style_layers,
        )
        objective = Objective(
            content_targets=_content_targets(net, c, settings.content_layers) if c is not None else {},
            style_targets=_style_targets(net, s, settings.style_layers) if s is not None else {},
            content_weight=settings.content_weight if c is not None else 0.0,
            style_weight=settings.style_weight if s is not None else 0.0,
            style_layer_weights=dict(zip(settings.style_layers, settings.style_layer_weights, strict=True))
            if settings.style_layer_weights
            else None,
            tv_weight=settings.tv_weight,
            normalization=settings.normalization,
        )
        if image is not None:
            start = resize(image, tuple(shape))  # coarse to fine: continue from the smaller result
        elif init_image is not None:
            start = resize(load_image(init_image), tuple(shape))
        elif settings.init == "content" and c is not None:
            start = c
        elif settings.init == "style" and s is not None:
            start = resize(s, tuple(shape))
        else:
            start = torch.rand((1, 3, *shape), generator=generator)
        label = f"{size}px" if len(scales) > 1 else "optimising"
        step_offset = sum(steps_per_scale[:index])
        stage_callback = (
            (lambda k, losses, img, offset=step_offset: callback(k + offset, losses, img)) if callback else None
        )
        try:
            result = optimize(
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
                description=label,
            )
        except OptimizationError as exc:
            _finish(exc.result, history, settings, net, started, step_offset)
            raise
        _finish(result, history, settings, net, started, step_offset)
        image = result.image
        if result.stopped not in ("finished", "converged"):
            break
    assert result is not None
    return result


def _finish(
    result: Result, history: dict[str, list[float]], settings: Settings, net: VGG19, started: float, step_offset: int
) -> None:
    for name, values in result.history.items():
        history.setdefault(name, []).extend(values)
    result.history = history
    result.settings = settings.as_dict()
    result.weights = str(net.weights)
    result.best_step += step_offset
    result.steps_done += step_offset
    if result.converged_step is not None:
        result.converged_step += step_offset
    result.seconds = time.perf_counter() - started


def _check_size(shape: Sequence[int], layers: Sequence[str]) -> None:
    """Refuse images that the pooling layers would shrink to nothing before ``layers``."""
    deepest = max(layers, key=LAYER_NAMES.index)
    halvings = sum(name.startswith("pool") for name in LAYER_NAMES[: LAYER_NAMES.index(deepest)])
    if min(shape) < 2**halvings:
        raise NSTError(
            f"a {shape[1]}x{shape[0]} image is too small for {deepest} (it is halved {halvings} times before it): "
            f"use a size of at least {2**halvings} px on the short side, or shallower layers"
        )


def _content_targets(net: VGG19, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return {name: value.detach() for name, value in net(image, layers).items()}


def _style_targets(net: VGG19, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return {name: gram_matrix(value).detach() for name, value in net(image, layers).items()}


def _settings(settings: Settings | None, overrides: dict[str, Any]) -> Settings:
    base = settings or Settings()
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Settings)}
    if unknown:
        raise NSTError(f"unknown setting(s) {', '.join(sorted(unknown))}; see nst_course.Settings")
    return dataclasses.replace(base, **overrides)


def reconstruct(
    image: ImageSource,
    *,
    layer: str | Sequence[str] = CONTENT_LAYER,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (Fig. 1, top row).

    Starts from white noise (unless ``init=`` is given); only the content loss counts. Lesson 01.
    """
    layers = (layer,) if isinstance(layer, str) else tuple(layer)
    cfg = _settings(settings, {"content_layers": layers, "tv_weight": 0.0, "init": "noise", **overrides})
    return run(content=image, settings=cfg, net=net, callback=callback, progress=progress)


def synthesize_texture(
    style: ImageSource,
    *,
    layers: Sequence[str] = STYLE_LAYERS,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Find an image whose Gram matrices at ``layers`` match ``style``'s (Fig. 1, bottom rows).

    Only the style loss counts, so the layout is lost and the texture stays. Lesson 02.
    """
    cfg = _settings(
        settings, {"style_layers": tuple(layers), "style_layer_weights": None, "init": "noise", **overrides}
    )
    return run(style=style, settings=cfg, net=net, callback=callback, progress=progress)


def transfer(
    content: ImageSource,
    style: ImageSource,
    *,
    settings: Settings | None = None,
    net: VGG19 | None = None,
    init_image: ImageSource | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Result:
    """Paint ``content`` in the style of ``style`` (Fig. 2 and 3). Lesson 03.

    Minimises alpha * L_content + beta * L_style (``content_weight``,
    ``style_weight``); the style image is resized to the same longest side.
    """
    cfg = _settings(settings, overrides)
    return run(
        content=content, style=style, settings=cfg, net=net, init_image=init_image, callback=callback, progress=progress
    )
