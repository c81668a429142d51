"""How low can a smooth loop get, how fast? Loop variants at one size, counted in evaluations.

Run:  python experiments/loop_reach.py [--size 256] [--evals 100] [--pair town,swirls]
                                      [--variants fold,fold-h100,pyramid-1,pyramid-0.5,pyramid-0.25,lbfgsb]
                                      [--target 0.17412]

Each variant minimises the objective ``nst.transfer`` builds from its defaults, from the
content image, for ``--evals`` loss evaluations (one forward and one backward pass each),
with untrained seed-0 weights:

* ``fold``: the package's own loop (``run_loop`` in ``nst_course.engine.loop``, stopping rule
  off): folded pixels, torch L-BFGS with the strong-Wolfe line search, history 50, the loss
  divided by its start, the first step aimed by ``first_step_lr``; ``fold-h100`` the same
  with a history of 100 pairs.
* ``pyramid-D``: the same loop over a Laplacian-like pyramid: the image is the fold of
  full-size pixels plus D^k times each of 3 coarser grids (1/2, 1/4, 1/8 of the size)
  upsampled bilinearly, the coarse grids starting at 0. A step on a coarse grid moves
  large areas at once, so L-BFGS's first guess of the curvature is no longer the same
  for every frequency: a preconditioner.
* ``lbfgsb``: SciPy's L-BFGS-B with the bounds [0, 1] (a projection L-BFGS knows about;
  no fold), 50 pairs; skipped when SciPy is not installed.

Prints for each: the best loss after 30, 60 and 100 evaluations (or ``--evals``), the
evaluations and seconds to come within 1% and 0.5% of ``--target`` and to reach it, and
the steps taken. ``--target`` defaults to the plain loop's best loss that
``benchmarks/time_to_picture.py`` measured at 256 px on town + swirls.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

import nst_course as nst
from nst_course.engine import loop as optimize_module
from nst_course.engine import tasks


class Counter:
    """The objective, logging (evaluation, seconds, loss, best so far) at every evaluation.

    It is an objective itself (``layers``, and ``counter(features, image)`` -> terms), so
    the package's own loop can run it; :meth:`loss` is the total of one image, for the others.
    """

    def __init__(self, net, objective):
        self.net, self.objective, self.layers = net, objective, list(objective.layers)
        self.log: list[tuple[int, float, float, float]] = []
        self.start = time.perf_counter()
        self.best = math.inf

    def __call__(self, features, image: torch.Tensor):
        terms = self.objective(features, image)
        value = float(torch.stack([term.detach() for term in terms.values()]).sum())
        self.best = min(self.best, value)
        self.log.append((len(self.log) + 1, time.perf_counter() - self.start, value, self.best))
        return terms

    def loss(self, image: torch.Tensor) -> torch.Tensor:
        return torch.stack(list(self(self.net(image, self.layers), image).values())).sum()


def package_loop(count: Counter, content: torch.Tensor, evals: int, history: int) -> int:
    """``nst_course.engine.loop``'s own loop (stopping rule off) until ``evals`` evaluations; returns the steps."""
    kept, optimize_module.LBFGS_HISTORY = optimize_module.LBFGS_HISTORY, history
    try:
        trace = optimize_module.run_loop(
            count.net, count, content, steps=10 * evals, callback=lambda *_: len(count.log) >= evals, progress=False
        )
    finally:
        optimize_module.LBFGS_HISTORY = kept
    return trace.steps_done


def pyramid_loop(count: Counter, content: torch.Tensor, evals: int, decay: float, levels: int = 4) -> int:
    """The package's loop (as in ``nst_course.engine.loop``) over a pyramid of grids; returns the steps taken."""
    fold, first_step_lr = optimize_module.fold, optimize_module.first_step_lr
    height, width = content.shape[-2:]
    params = [content.clone().requires_grad_(True)]
    for k in range(1, levels):
        params.append(torch.zeros(1, 3, math.ceil(height / 2**k), math.ceil(width / 2**k), requires_grad=True))

    def image_of() -> torch.Tensor:
        image = params[0]
        for k, grid in enumerate(params[1:], start=1):
            image = image + decay**k * F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)
        return fold(image)

    opt = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=1,
        max_eval=1 + optimize_module.LINE_SEARCH_TRIALS,
        history_size=optimize_module.LBFGS_HISTORY,
        line_search_fn="strong_wolfe",
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    last: dict = {}
    scale: list[float] = []

    def closure() -> torch.Tensor:
        point = [p.detach().clone() for p in params]
        if last and all(torch.equal(a, b) for a, b in zip(point, last["point"], strict=True)):
            for p, grad in zip(params, last["grads"], strict=True):  # a line search ends on a point it measured
                p.grad = grad.clone()
            return last["loss"]
        opt.zero_grad(set_to_none=True)
        total = count.loss(image_of())
        scale or scale.append(total.item())
        (total / scale[0]).backward()
        last.update(point=point, grads=[p.grad.clone() for p in params], loss=total.detach() / scale[0])
        return last["loss"]

    start = closure()
    opt.param_groups[0]["lr"] = first_step_lr(float(start), torch.cat([p.grad.flatten() for p in params]))
    steps = 0
    while len(count.log) < evals:
        opt.step(closure)
        opt.param_groups[0]["lr"] = 1.0
        steps += 1
    return steps


def scipy_lbfgsb(count: Counter, content: torch.Tensor, evals: int, history: int) -> int | None:
    try:
        import numpy as np
        from scipy.optimize import minimize
    except ImportError:
        return None
    scale: list[float] = []

    def value_and_grad(x):
        image = torch.from_numpy(x.astype(np.float32)).view(content.shape).requires_grad_(True)
        total = count.loss(image)
        scale or scale.append(total.item())
        (total / scale[0]).backward()
        return total.item() / scale[0], image.grad.numpy().astype(np.float64).ravel()

    x0 = content.numpy().astype(np.float64).ravel()
    options = {"maxcor": history, "maxfun": evals, "maxiter": 10**6, "ftol": 0.0, "gtol": 0.0}
    result = minimize(value_and_grad, x0, jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * x0.size, options=options)
    return int(result.nit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--pair", default="town,swirls")
    parser.add_argument("--variants", default="fold,fold-h100,pyramid-1,pyramid-0.5,pyramid-0.25,lbfgsb")
    parser.add_argument("--target", type=float, default=0.17412)
    args = parser.parse_args()
    if args.pair.count(",") != 1:
        parser.error("--pair takes two images, CONTENT,STYLE (e.g. town,swirls)")
    net = nst.load_vgg19(weights="random", progress=False)
    content_name, style_name = args.pair.split(",")
    content = nst.load_image(content_name, size=args.size)
    style = nst.load_image(style_name, size=args.size)
    objective = tasks.build_objective(net, nst.Settings(size=args.size), content=content, style=style)
    print(f"{args.pair} at {tuple(content.shape[-2:])} px, {args.evals} evaluations; {torch.get_num_threads()} threads")
    print(f"weights: {net.weights}; target loss {args.target}")
    marks = [n for n in (30, 60, 100) if n <= args.evals] or [args.evals]
    for variant in args.variants.split(","):
        count = Counter(net, objective)
        if variant == "lbfgsb":
            steps = scipy_lbfgsb(count, content, args.evals, 50)
            if steps is None:
                print(f"{variant:13s} skipped: SciPy is not installed")
                continue
        elif variant.startswith("pyramid-"):
            steps = pyramid_loop(count, content, args.evals, decay=float(variant.split("-")[1]))
        else:
            history = int(variant.split("-h")[1]) if "-h" in variant else optimize_module.LBFGS_HISTORY
            steps = package_loop(count, content, args.evals, history)
        log = count.log
        best_at = "  ".join(f"@{n}: {log[min(n, len(log)) - 1][3]:.5f}" for n in marks)
        reach = []
        for margin in (1.01, 1.005, 1.0):
            hit = next((entry for entry in log if entry[2] <= margin * args.target), None)
            reach.append(f"{margin:.3f}x: " + (f"eval {hit[0]} ({hit[1]:.0f} s)" if hit else "never"))
        print(f"{variant:13s} best {best_at}  | {' · '.join(reach)} | {steps} steps, {log[-1][1]:.0f} s")


if __name__ == "__main__":
    main()
