"""THE pixel-optimisation loop.

Content reconstruction (lesson 01), texture synthesis (lesson 02) and style
transfer (lesson 03) are the same procedure with different objectives: start
from an image, measure the losses on VGG-19 features, change the pixels to lower
them (Gatys et al. 2016, Fig. 2). :func:`run_loop` is that procedure, once, and
:func:`optimize` is it with a :class:`Result`; ``nst_course.engine.tasks`` builds the
objective for each of the three and calls :func:`run_loop`, once per scale.
``nst_course.engine.result`` holds what a run gives back: :class:`Result`, and
:func:`result_of`, the one place one is built.

What the loop does, exactly:

* L-BFGS (the paper's optimiser) takes one iteration per step: it tries the full
  step (``Settings.learning_rate``, 1.0) and keeps it when the loss falls enough
  (the strong Wolfe conditions); otherwise a line search tries shorter or longer
  ones, up to ``LINE_SEARCH_TRIALS`` more forward and backward passes. Most steps
  need one pass; the point the search ends on is not measured twice. Without the
  search, a step could land far uphill and the run never recover
  (``experiments/RESULTS.md``). The first step, which has no curvature to go
  on, tries the step :func:`first_step_lr` aims, so the first preview comes after
  two passes, not five. Adam is the alternative.
* The optimiser moves an unconstrained tensor; the image is :func:`fold` of it,
  mirrored into [0, 1] (or what another parametrisation, ``image_of``, makes of
  it: feature visualisation moves a spectrum). Nothing is clamped after a step, so L-BFGS's curvature
  estimates stay true and the loss does not blow up after convergence (with the
  clamp it jumped 10-100x above its best, again and again).
* The optimiser sees the loss divided by its value at the start, so its
  tolerances mean the same whatever the normalisation makes of the loss's scale.
  Every number recorded is the loss itself.
* It stops when the best loss has improved by less than ``stop_tolerance`` (a
  fraction) over the last ``stop_window`` steps: ``Settings`` turns this on
  (0.5% over 20 steps), ``steps`` is the upper bound.
* The image with the lowest loss seen is kept. Ctrl-C or a callback that returns
  True ends the run early and still returns it; a loss that is not a finite
  number raises :class:`OptimizationError` carrying it.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import torch

from ..errors import NSTError
from .result import OptimizationError, Result, Trace, result_of
from .settings import OPTIMIZERS

__all__ = [
    "Callback",
    "LossFunction",
    "OptimizationError",
    "Result",
    "converged",
    "first_step_lr",
    "fold",
    "optimize",
    "result_of",
    "run_loop",
]

#: Extra loss evaluations L-BFGS's line search may spend in one step to find a lower loss.
LINE_SEARCH_TRIALS = 20
#: Curvature pairs L-BFGS remembers (each two image-sized vectors).
LBFGS_HISTORY = 50

#: ``callback(step, losses, image)``: called after every step with the losses
#: (floats, by term, plus "total") and a detached CPU copy of the image. Return True to stop.
Callback = Callable[[int, Mapping[str, float], torch.Tensor], "bool | None"]


class LossFunction(Protocol):
    """What the loop minimises: ``objective(features, image)`` -> named scalar terms.

    ``layers`` names the features it needs. :class:`nst_course.engine.objective.Objective`
    is one; a learner's own objective can be another.
    """

    @property
    def layers(self) -> Sequence[str]: ...

    def __call__(self, features: Mapping[str, torch.Tensor], image: torch.Tensor) -> Mapping[str, torch.Tensor]: ...


class Network(Protocol):
    """What the loop runs images through: :class:`~nst_course.engine.vgg.VGG19`, or a network wrapping it."""

    @property
    def device(self) -> torch.device: ...

    def describe(self) -> dict[str, object]: ...

    def __call__(self, image: torch.Tensor, layers: Sequence[str]) -> Mapping[str, torch.Tensor]: ...


def check_terms(terms: Any) -> None:
    """Refuse, in one line, what an objective returns unless it is a dict of one-number loss tensors."""
    if not isinstance(terms, Mapping) or not terms:
        raise NSTError(
            f"an objective must return a dict of named loss tensors ({{'content': loss}}), not {type(terms).__name__}"
        )
    for name, value in terms.items():
        if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.is_complex():
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise NSTError(
                f"the objective's {name!r} term must be one number (a 0-d tensor; add .sum() or .mean()), not {shape}"
            )


def make_optimizer(name: str, image: torch.Tensor, learning_rate: float) -> torch.optim.LBFGS | torch.optim.Adam:
    """The optimiser over ``image``'s pixels: one L-BFGS iteration (with a line search) per step, or Adam."""
    if name == "lbfgs":
        # no tolerances: when to stop is the loop's decision, not a side effect of the loss's scale.
        # max_eval: torch's default (5/4 of max_iter, so 1) would leave the line search no trial to make.
        return torch.optim.LBFGS(
            [image],
            lr=learning_rate,
            max_iter=1,
            max_eval=1 + LINE_SEARCH_TRIALS,
            history_size=LBFGS_HISTORY,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,
            tolerance_change=0.0,
        )
    if name == "adam":
        return torch.optim.Adam([image], lr=learning_rate)
    raise NSTError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")


def fold(free: torch.Tensor) -> torch.Tensor:
    """Fold any real numbers into [0, 1] by mirroring them at 0 and 1 (a triangle wave of period 2).

    The loop optimises an unconstrained tensor and measures ``fold`` of it, so every
    image it looks at is in [0, 1] and nothing is clamped after a step: a clamp moves
    the image behind L-BFGS's back, spoils its curvature pairs, and made the loss jump
    10-100x above its best again and again after convergence. Inside [0, 1] ``fold`` is
    the identity, and its slope is +1 or -1 everywhere.

    >>> fold(torch.tensor([0.25, 1.25, -0.25, 2.0]))
    tensor([0.2500, 0.7500, 0.2500, 0.0000])
    """
    wrapped = torch.remainder(free, 2.0)
    return torch.where(wrapped <= 1.0, wrapped, 2.0 - wrapped)


def first_step_lr(loss: float, grad: torch.Tensor, learning_rate: float = 1.0) -> float:
    """The ``lr`` that makes torch's L-BFGS try a step of 2 loss / |grad|^2 along -grad first.

    L-BFGS learns the curvature from its own steps, so the first one is a guess. Torch's
    guess is a step of min(1, 1 / sum|grad|) (times ``lr``): on an image of thousands of
    pixels a tiny one, which the line search then lengthened by up to 10x a trial: 4
    extra forward and backward passes before the first preview. This guess is the step to
    the bottom of a parabola that falls from ``loss`` to 0 along the gradient; the search
    shortens or lengthens it from there, and it needs one trial, not four, and ends lower
    (``experiments/first_step.py``). ``learning_rate`` scales it as it scales every later
    step. Set the optimiser's ``lr`` to this for the first step and back afterwards.

    >>> x = torch.tensor([3.0, -4.0])  # the loss |x|^2: 25 here, 0 at its bottom, x = 0
    >>> lr = first_step_lr(25.0, 2 * x)
    >>> round(lr * min(1.0, 1.0 / float((2 * x).abs().sum())), 6)  # torch's first step: x - 0.5 * 2x = 0
    0.5
    """
    squared = float(grad.pow(2).sum())
    if not (math.isfinite(squared) and squared > 0 and loss > 0):
        return learning_rate  # nothing to aim with: torch's own first try
    return learning_rate * 2.0 * loss / squared * max(1.0, float(grad.abs().sum()))


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
    return best[-window - 1] - best[-1] <= tolerance * abs(best[-1])


def run_loop(
    net: Network,
    objective: LossFunction,
    init: torch.Tensor,
    *,
    steps: int,
    optimizer: str = "lbfgs",
    learning_rate: float = 1.0,
    stop_tolerance: float = 0.0,
    stop_window: int = 20,
    callback: Callback | None = None,
    progress: bool = True,
    description: str = "optimising",
    image_of: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Trace:
    """The loop itself, and the one declaration of its options; returns a :class:`Trace`.

    Use :func:`optimize` (which takes these same keywords) unless you build a task.

    ``image_of`` turns the tensor the optimiser moves into the image the network sees
    (default :func:`fold`, with ``init`` an image in [0, 1]). Given, ``init`` is that
    tensor as it is (e.g. Fourier coefficients), not an image, and is not clamped.
    """
    from tqdm.auto import tqdm

    to_image = fold if image_of is None else image_of
    start = init.detach().to(device=net.device, dtype=torch.float32)
    free = (start.clamp(0, 1) if image_of is None else start).clone().requires_grad_(True)
    opt = make_optimizer(optimizer, free, learning_rate)
    layers = list(objective.layers)
    trace = Trace(best_image=to_image(free.detach()).cpu())
    trace.options = {
        "steps": steps,
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "stop_tolerance": stop_tolerance,
        "stop_window": stop_window,
    }
    best_free = free.detach().clone()  # a copy on the device; to the CPU once, at the end
    best_so_far: list[float] = []
    state: dict[str, Any] = {"latest": {}, "scale": None, "first": True}
    last: dict[str, Any] = {}  # the point measured last and its gradient: a line search ends on a point it measured

    def evaluate(*, gradient: bool) -> torch.Tensor:
        """The (scaled) loss at ``free``; its terms go to ``state["latest"]``, its gradient to ``free.grad``."""
        if last and torch.equal(last["free"], free.detach()):
            if gradient:
                free.grad = last["grad"].clone()
            state["latest"] = last["losses"]
            return last["scaled"]
        with torch.set_grad_enabled(gradient):
            image = to_image(free)
            terms = objective(net(image, layers), image)
            check_terms(terms)
            total = torch.stack(list(terms.values())).sum()
            values = torch.stack([total.detach(), *(term.detach() for term in terms.values())]).tolist()  # one sync
            if not math.isfinite(values[0]):
                raise FloatingPointError(values[0])
            state["latest"] = dict(zip(terms, values[1:], strict=True)) | {"total": values[0]}
            if state["scale"] is None:
                state["scale"] = values[0] if values[0] > 0 else 1.0
            scaled = total / state["scale"]
            if gradient:
                opt.zero_grad(set_to_none=True)
                scaled.backward()
                assert free.grad is not None, "backward() fills it"
                last.update(free=free.detach().clone(), grad=free.grad.detach().clone())
                last.update(scaled=scaled.detach(), losses=state["latest"])
        return scaled.detach()

    def keep_if_best() -> None:
        total = state["latest"]["total"]
        if total < trace.best_loss:
            trace.best_loss, trace.best_step = total, trace.steps_done
            best_free.copy_(free.detach())  # a copy on the device, not to the CPU

    def closure() -> torch.Tensor:
        scaled = evaluate(gradient=True)
        if state["first"]:  # the image this step starts from; later calls are the line search's trials
            state["first"] = False
            for name, value in state["latest"].items():
                trace.history.setdefault(name, []).append(value)
            keep_if_best()
        return scaled

    bar = tqdm(total=steps, desc=description, disable=not progress, leave=False)
    try:
        for step in range(1, steps + 1):
            state["first"] = True
            if step == 1 and optimizer == "lbfgs":  # measured once: the closure's first call reuses it
                first = float(evaluate(gradient=True))
                assert free.grad is not None, "evaluate(gradient=True) fills it"
                opt.param_groups[0]["lr"] = first_step_lr(first, free.grad, learning_rate)
            opt.step(closure)  # measures the image before this step, then moves it
            opt.param_groups[0]["lr"] = learning_rate
            best_so_far.append(trace.best_loss)
            trace.steps_done = step
            bar.update(1)
            start_loss = {name: values[-1] for name, values in trace.history.items()}
            bar.set_postfix(loss=f"{start_loss['total']:.4g}", refresh=False)
            if callback is not None and callback(step, start_loss, to_image(free.detach()).cpu()):
                trace.stopped = "stopped"
                break
            if converged(best_so_far, stop_tolerance, stop_window):
                trace.stopped, trace.converged_step = "converged", step
                break
        else:
            evaluate(gradient=False)  # the image after the last step: often measured already by the line search
            keep_if_best()
    except KeyboardInterrupt:
        trace.stopped = "interrupted"
    except FloatingPointError as exc:
        trace.stopped = "error"
        trace.error = (
            f"the loss became {exc.args[0]} at step {trace.steps_done + 1}; the best image "
            f"(step {trace.best_step}) was kept. Try a smaller learning rate or style weight, or Adam instead of L-BFGS"
        )
    finally:
        bar.close()
    if math.isfinite(trace.best_loss):
        trace.best_image = to_image(best_free).cpu()
    return trace


def optimize(net: Network, objective: LossFunction, init: torch.Tensor, **options: Any) -> Result:
    """Change the pixels of ``init`` to lower ``objective``; THE loop every lesson and the CLI use.

    ``objective`` is an :class:`~nst_course.engine.objective.Objective` or any function of
    ``(features, image)`` that returns named scalar terms and has a ``layers``
    attribute. ``options`` are :func:`run_loop`'s keywords: ``steps`` (required),
    ``optimizer``, ``learning_rate``, ``stop_tolerance``, ``stop_window``, ``callback``,
    ``progress``, ``description`` and ``image_of`` (the image's parametrisation; default
    :func:`fold`). Returns the best image seen; raises :class:`OptimizationError`
    (with that image in ``.result``) if the loss stops being finite.
    """
    started = time.perf_counter()
    unknown = sorted(set(options) - set(_LOOP_OPTIONS))
    if unknown:
        raise NSTError(f"optimize() has no option(s) {', '.join(unknown)}; its options are {', '.join(_LOOP_OPTIONS)}")
    trace = run_loop(net, objective, init, **options)
    result = result_of([trace], settings=trace.options, network=net.describe(), seconds=time.perf_counter() - started)
    if trace.error:
        raise OptimizationError(trace.error, result)
    return result


#: run_loop's keyword options, in order: what :func:`optimize` accepts.
_LOOP_OPTIONS = [p.name for p in inspect.signature(run_loop).parameters.values() if p.kind is p.KEYWORD_ONLY]
