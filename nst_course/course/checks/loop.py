"""Lesson 03's second check: the learner's optimisation loop, step by step against :func:`nst_course.optimize`.

The lesson gives the loop's skeleton (the optimiser, the aimed first step, the
stopping rule, the fold into [0, 1]) and the learner writes what the closure
measures, differentiates and returns. The check runs the learner's whole loop on a
small problem and compares its losses with the package's; when they differ, it
reruns the loop with one ingredient changed and names the first one whose losses
the learner's follow:

=====================================  ==================================================
the learner's loop                     the check says
=====================================  ==================================================
closure not written                    "not written yet"
no ``zero_grad``                       "you forgot optimizer.zero_grad() in the closure"
no division by ``scale``               "you did not divide the loss by its first value"
measures ``free``, not the image       "you measured `free` itself"
clamps ``free`` after each step        "you optimise the image itself and clamp it"
measures ``free.clamp(0, 1)``          "you measure free.clamp(0, 1)"
returns the total, not the divided     "your closure calls backward() on the divided loss
                                       but returns the total"
differentiates the total, returns the  "your closure calls backward() on the total but
divided                                returns the divided loss"
no ``backward()``                      "your closure never called backward()"
closure returns None or a float        "your closure returned None" / "a float"
loss detached before ``backward()``    "backward() found no gradient path"
losses recorded divided (1.0 first)    "your losses are the divided ones"
another ``lr``, no line search, no     "the step size differs", "line_search_fn=...",
room for it, no aimed first step,      "your line search has no room", "torch's own
``lr`` not reset                       tiny first try", "set lr back to 1.0"
one loss per evaluation, not per step  "N losses for M steps"
=====================================  ==================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ...engine.loop import LINE_SEARCH_TRIALS, first_step_lr, fold, optimize
from ...engine.objective import Objective
from .harness import Hint, as_tensor, call, check

__all__ = ["check_loop", "reference_loop"]


class _TinyNet(torch.nn.Module):
    """A stand-in for VGG-19 in the loop check: one fixed 3x3 convolution and a ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        generator = torch.Generator().manual_seed(3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator) * 0.5)
            bias = self.conv.bias
            assert bias is not None, "Conv2d has a bias unless told bias=False"
            bias.zero_()
        self.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return self.conv.weight.device

    def describe(self) -> dict[str, object]:
        return {"weights": "a tiny fixed network for the check", "kind": "check", "pretrained": False}

    def forward(self, image: torch.Tensor, layers: Any) -> dict[str, torch.Tensor]:
        return {"relu1_1": torch.relu(self.conv(image))}


def _loop_problem() -> tuple[_TinyNet, Objective, torch.Tensor]:
    net = _TinyNet()
    g = torch.Generator().manual_seed(6)
    goal = torch.rand(1, 3, 6, 9, generator=g) * 3.0 - 1.0  # partly outside [0, 1]: the projection matters
    # a loss as small as the paper's on an untrained network (about 1e-11): then only a loop that divides
    # by the first loss keeps L-BFGS's curvature pairs (torch drops a pair whose y's is below 1e-10)
    target = {"relu1_1": net(goal, ["relu1_1"])["relu1_1"]}
    objective = Objective(content_targets=target, content_weight=1e-13, normalization="paper")
    return net, objective, torch.rand(1, 3, 6, 9, generator=g)


def reference_loop(net: Any, objective: Any, init: torch.Tensor, steps: int) -> tuple[torch.Tensor, list[float]]:
    """The package's loop in the shape a learner's loop has: (final image, total loss before each step).

    >>> net, objective, init = _loop_problem()
    >>> image, losses = reference_loop(net, objective, init, steps=2)
    >>> len(losses), losses[1] < losses[0], tuple(image.shape)
    (2, True, (1, 3, 6, 9))
    """
    result = optimize(net, objective, init, steps=steps, progress=False)
    return result.image, list(result.history["total"])


def _variant_loop(
    net: Any,
    objective: Any,
    init: torch.Tensor,
    steps: int,
    *,
    zero_grad: bool = True,
    divide: bool = True,
    measure: str = "fold",
    return_divided: bool = True,
    backward_divided: bool = True,
    learning_rate: float = 1.0,
    line_search: bool = True,
    trials: int = 1 + LINE_SEARCH_TRIALS,
    aim_first: bool = True,
    reset_lr: bool = True,
) -> list[float]:
    """The lesson's loop with one thing changed: what a learner's loop gives when that one thing is missing.

    ``measure`` is what the closure measures: "fold" (``nst.fold(free)``, right), "free"
    (``free`` itself), "clamp" (``free.clamp(0, 1)``) or "clamp after" (``free`` itself,
    clamped to [0, 1] after each step: the common tutorial loop).
    """
    free = init.detach().clone().clamp(0, 1).requires_grad_(True)
    opt = torch.optim.LBFGS(
        [free],
        lr=learning_rate,
        max_iter=1,
        max_eval=trials,
        history_size=50,  # a check of a few steps cannot tell one memory from a longer one
        line_search_fn="strong_wolfe" if line_search else None,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    scale = 1.0

    def closure() -> torch.Tensor:
        if zero_grad:
            opt.zero_grad()
        image = {"fold": fold, "clamp": lambda x: x.clamp(0, 1)}.get(measure, lambda x: x)(free)
        total = torch.stack(list(objective(net(image, objective.layers), image).values())).sum()
        divided = total / scale if divide else total
        (divided if backward_divided else total).backward()
        return divided if return_divided else total.detach()

    first = float(closure().detach())
    scale = first
    if aim_first:
        assert free.grad is not None, "closure() ran backward"
        opt.param_groups[0]["lr"] = first_step_lr(1.0, free.grad / first, learning_rate)
    losses: list[float] = []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()) * scale)
        if reset_lr:
            opt.param_groups[0]["lr"] = learning_rate
        if measure == "clamp after":
            with torch.no_grad():
                free.clamp_(0, 1)
    return losses


VARIANTS: dict[str, dict[str, Any]] = {
    "you forgot optimizer.zero_grad() in the closure: gradients add up from step to step": {"zero_grad": False},
    "you did not divide the loss by its first value (`scale`) before backward(): on a loss this small, L-BFGS "
    "drops every curvature pair (torch keeps one only when y's > 1e-10)": {"divide": False},
    "you measured `free` itself: measure `image = nst.fold(free)`, the pixels folded into [0, 1] "
    "(free's values may leave [0, 1])": {"measure": "free"},
    "you optimise the image itself and clamp it: optimise a free tensor and measure nst.fold(free), "
    "so that no clamp moves the pixels behind L-BFGS's back": {"measure": "clamp after"},
    "you measure free.clamp(0, 1): a clamp passes no gradient to a pixel once it is outside [0, 1], so it sticks "
    "at 0 or 1; measure nst.fold(free), which mirrors it back": {"measure": "clamp"},
    "your closure calls backward() on the divided loss but returns the total: return the divided loss, so "
    "that the line search compares values and gradients of one function": {"return_divided": False},
    "your closure calls backward() on the total but returns the divided loss: differentiate the divided loss "
    "you return, so that the line search compares values and gradients of one function": {"backward_divided": False},
    "the step size differs: use lr=1.0 (full L-BFGS steps)": {"learning_rate": 0.5},
    "your loop takes every step as it comes: give LBFGS a line search, line_search_fn='strong_wolfe', and "
    "room for its trials, max_eval=21 (torch's default allows one evaluation in all)": {"line_search": False},
    "your line search has no room: give LBFGS max_eval=21, so that it may try 20 more steps (torch's default "
    "allows one evaluation in all)": {"trials": 1},
    "your first step is torch's own tiny first try: before the loop, measure the start with closure() and "
    "set the optimiser's lr to nst.first_step_lr(loss, free.grad)": {"aim_first": False},
    "only the first step should use nst.first_step_lr: set lr back to 1.0 after it": {"reset_lr": False},
}

#: What the learner's loop raised, by a piece of its message, and what that means.
RAISED = {
    "unsupported operand type(s) for /: 'NoneType'": "your closure never called backward(), so free.grad is "
    "empty: call backward() on the loss it returns",
    "'NoneType' object has no attribute": "your closure returned None: return the loss it differentiated",
    "'float' object has no attribute": "your closure returned a float: return the loss tensor itself, the one "
    "you called backward() on",
    "must be real number, not NoneType": "your closure returned None: return the loss it differentiated",
}
NO_PATH = ("does not require grad", "has no attribute 'backward'", "grad_fn")


def _raised_hint(hint: str) -> str:
    for piece, meaning in RAISED.items():
        if piece in hint:
            return meaning
    if any(piece in hint for piece in NO_PATH):
        return (
            "backward() found no gradient path: make the image a leaf that requires grad, and keep the loss "
            f"a tensor inside the closure (no .item(), float() or .detach() before backward) [{hint}]"
        )
    return hint


@check("loop", passed=lambda loop, steps=6: f"follows nst.optimize step by step ({steps} steps) and stays in [0, 1]")
def check_loop(loop: Callable[..., Any], steps: int = 6) -> None:
    """Check a learner's ``loop(net, objective, init, steps) -> (image, losses)`` against :func:`nst_course.optimize`.

    On a small problem whose best image lies partly outside [0, 1], the
    learner's losses (the total before each step, as floats) must follow the
    package's loop step by step, and the image must stay in [0, 1]. When they
    do not, the check names the mistake (the module's table lists them).
    Prints ✓ or a hint; returns whether it passed.

    >>> check_loop(lambda net, objective, init, steps: reference_loop(net, objective, init, steps)[1])
    ✗ loop: return two things: the image and the list of losses, one per step
    False
    """
    net, objective, init = _loop_problem()
    try:
        out = call(loop, net, objective, init, steps, names=("net", "objective", "init", "steps"))
    except Hint as hint:
        raise Hint(_raised_hint(str(hint))) from None
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Hint("return two things: the image and the list of losses, one per step")
    image, losses = out
    image = as_tensor(image, "the image your loop returns", gave="is")
    if image.shape != init.shape:
        raise Hint(f"the image should be a tensor of the start's shape {tuple(init.shape)}, not {tuple(image.shape)}")
    try:
        losses = [float(value) for value in losses]
    except (TypeError, ValueError, RuntimeError):
        raise Hint("the losses should be a list of numbers, one per step") from None
    if len(losses) != steps:
        raise Hint(
            f"{len(losses)} losses for {steps} steps: record the total loss once per step, the one the step "
            "starts from (optimizer.step(closure) returns it; the closure runs more than once when the line "
            "search tries several steps)"
        )
    _, want = reference_loop(net, objective, init, steps)

    def same(a: list[float], b: list[float]) -> bool:  # relative, step by step: the losses are tiny
        return len(a) == len(b) and all(math.isclose(x, y, rel_tol=2e-3) for x, y in zip(a, b, strict=True))

    if same(losses, want):
        if float(image.min()) < -1e-6 or float(image.max()) > 1 + 1e-6:
            raise Hint("the losses agree, but the image left [0, 1]: return fold(free), not free")
        return
    if same([value * want[0] for value in losses], want):
        raise Hint(
            "your losses are the divided ones (1.0 at the start): multiply each by the first loss, so that the "
            "list holds the totals themselves"
        )
    for variant_hint, change in VARIANTS.items():
        if same(losses, _variant_loop(net, objective, init, steps, **change)):
            raise Hint(variant_hint)
    if same(losses[:-1], want[1:]):
        raise Hint("your losses are one step late: record the loss before the step, inside the closure")
    step = next(i for i, (a, b) in enumerate(zip(losses, want, strict=True)) if not math.isclose(a, b, rel_tol=2e-3))
    raise Hint(
        f"the losses part from nst.optimize's at step {step + 1} ({losses[step]:.6g} instead of {want[step]:.6g}): "
        "in the closure, measure the objective's total on image = nst.fold(free), divide it by `scale`, call "
        "backward() on that and return it"
    )
