"""Which optimisation loop reaches a low style-transfer loss in the fewest network evaluations.

Run:  python experiments/loop_experiments.py [--pairs town:swirls,hopper:waves] [--sizes 128,256]
                                            [--evals 300] [--variants a,b,c] [--out FILE.jsonl]

Builds the package's transfer objective (conv4_2 content, five style layers, relative
normalisation, init from the content) on untrained seed-0 weights and runs each loop
variant for the same number of loss evaluations (one evaluation = one forward and one
backward pass through VGG-19, the honest unit of cost). Every evaluation's loss and
time is written as one JSON line per run; ``loop_analysis.py`` turns the file into tables.

The variants (letters as in the write-up, ``RESULTS.md``):

  a      torch L-BFGS, one iteration per step, step 0.5, clamp to [0, 1] after each step
  b      the same with step 1.0 (the plain tutorial loop)
  a-s    as a, but L-BFGS is told the step it really took (the clamped one)
  b-s    as b, with the true step
  c-sig  no clamp: optimise u with image = sigmoid(u), L-BFGS step 1.0
  c-sig3 as c-sig, but the start is clipped to [0.001, 0.999] before the logit, not [0.01, 0.99]
  c-refl no clamp: image = u reflected back into [0, 1] at its ends (a triangle wave), L-BFGS step 1.0
  c-sig-r as c-sig, but the L-BFGS history restarts when the best loss gained < 0.1% over 10 steps
  c-pen  no clamp: the clamp becomes a penalty 100 * sum(outside^2); the result is clamped
  d      as b, but the L-BFGS history is dropped whenever the loss rises
  d-s    as b-s, with the history reset
  e      torch L-BFGS with a strong-Wolfe line search, clamp after each step
  e-s    as e, with the true step
  e-sig  strong-Wolfe line search on the sigmoid parametrisation
  e-refl strong-Wolfe line search on the mirrored parametrisation
  adam   Adam, step 0.05 decaying to 0 along a cosine
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

import nst_course as nst


class Budget(Exception):
    """Raised inside a closure when a run has used its evaluations."""


@dataclass
class Problem:
    net: nst.VGG19
    objective: nst.Objective
    layers: list[str]
    content: torch.Tensor
    label: str
    start: torch.Tensor | None = None
    """Where the loop starts; None means the content image."""

    @property
    def init(self) -> torch.Tensor:
        return self.content if self.start is None else self.start

    def loss(self, image: torch.Tensor) -> torch.Tensor:
        terms = self.objective(self.net(image, self.layers), image)
        return torch.stack(list(terms.values())).sum()


def load_net() -> nst.VGG19:
    try:
        return nst.load_vgg19(weights="random", device="cpu", progress=False)
    except TypeError:
        return nst.load_vgg19("random", device="cpu")


#: The layers of the measurements in RESULTS.md (the package's defaults then); "default" is the package's now.
CONV_LAYERS = ("conv4_2",), ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


def make_problem(
    net: nst.VGG19, content_name: str, style_name: str, size: int, style_weight: float = 3.0, layers: str = "conv"
) -> Problem:
    """A transfer ("town", "swirls"), a reconstruction ("town", "") or a texture ("", "swirls").

    A transfer starts from the content image; the other two from seeded white noise.
    ``layers``: "conv" (conv4_2 and conv1_1 ... conv5_1) or "default" (the package's defaults).
    """
    content = nst.load_image(content_name, size=size) if content_name else None
    style = nst.load_image(style_name, size=size) if style_name else None
    defaults = nst.Settings()
    content_choice, style_choice = CONV_LAYERS if layers == "conv" else (defaults.content_layers, defaults.style_layers)
    content_layers = tuple(content_choice) if content is not None else ()
    style_layers = tuple(style_choice) if style is not None else ()
    with torch.no_grad():
        c_feats = net(content, content_layers) if content is not None else {}
        s_feats = net(style, style_layers) if style is not None else {}
    objective = nst.Objective(
        content_targets={k: v.detach() for k, v in c_feats.items()},
        style_targets={k: nst.gram_matrix(v).detach() for k, v in s_feats.items()},
        content_weight=1.0,
        style_weight=style_weight if content is not None else 1.0,
        normalization="relative",
    )
    used = list(dict.fromkeys([*content_layers, *style_layers]))
    shape = (content if content is not None else style).shape
    start = None
    if content is None or style is None:
        start = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    reference = content if content is not None else style
    label = f"{content_name}+{style_name}@{size}" + ("" if layers == "conv" else "/default layers")
    return Problem(net, objective, used, reference, label, start)


@dataclass
class Recorder:
    """Counts evaluations, records each one's loss and time, keeps the best in-range image."""

    problem: Problem
    budget: int
    losses: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    outside: list[float] = field(default_factory=list)  # how far the evaluated image left [0, 1]
    iterates: list[tuple[int, float]] = field(default_factory=list)  # (evaluation index, loss) per step
    best_loss: float = math.inf
    best_image: torch.Tensor | None = None
    best_raw_loss: float = math.inf
    best_raw_image: torch.Tensor | None = None
    start: float = field(default_factory=time.perf_counter)

    rule: tuple[float, int] | None = None
    """(fraction, window): end the run once the best loss improved by at most fraction over window steps."""

    def note_iterate(self, index: int, loss: float) -> None:
        """Record the loss a step starts from; raise Budget if the stopping rule says the run is done."""
        self.iterates.append((index, loss))
        if self.rule is None or len(self.iterates) <= self.rule[1]:
            return
        fraction, window = self.rule
        best_now = min(v for _, v in self.iterates)
        best_then = min(v for _, v in self.iterates[:-window])
        if best_then - best_now <= fraction * best_now:
            raise Budget

    def evaluate(self, image: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Loss of ``image`` (differentiable); ``extra`` is added to what is returned but not recorded."""
        if len(self.losses) >= self.budget:
            raise Budget
        total = self.problem.loss(image)
        value = float(total.detach())
        out = float((image.detach() - image.detach().clamp(0, 1)).abs().max())
        self.losses.append(value)
        self.outside.append(out)
        self.times.append(time.perf_counter() - self.start)
        if out <= 1e-6 and value < self.best_loss:
            self.best_loss = value
            self.best_image = image.detach().clone()
        if value < self.best_raw_loss:
            self.best_raw_loss = value
            self.best_raw_image = image.detach().clone()
        return total if extra is None else total + extra


def lbfgs_closure_loop(
    rec: Recorder,
    *,
    lr: float,
    line_search: str | None = None,
    param: str = "clamp",
    true_step: bool = False,
    reset_on_rise: bool = False,
    penalty: float = 0.0,
    eps: float = 0.01,
    reset_on_stall: int = 0,
) -> None:
    """Run torch L-BFGS, one iteration per step, until the recorder's budget is used.

    ``param``: "clamp" (project after each step), "sigmoid" (image = sigmoid(u)) or "free"
    (no projection; with ``penalty`` the clamp is folded into the objective).
    """
    content = rec.problem.init
    if param == "sigmoid":
        var = torch.logit(content.clamp(eps, 1 - eps)).requires_grad_(True)
    else:
        var = content.clone().requires_grad_(True)

    def image_of(v: torch.Tensor) -> torch.Tensor:
        if param == "sigmoid":
            return torch.sigmoid(v)
        if param == "reflect":  # the identity on [0, 1], mirrored at its ends: a triangle wave of period 2
            r = torch.remainder(v, 2)
            return torch.where(r <= 1, r, 2 - r)
        return v

    def make_opt() -> torch.optim.LBFGS:
        return torch.optim.LBFGS(
            [var],
            lr=lr,
            max_iter=1,
            max_eval=25,  # the line search may take up to 24 more; torch's default (5/4 of max_iter) allows none
            history_size=50,
            line_search_fn=line_search,
            tolerance_grad=0,
            tolerance_change=0,
        )

    opt = make_opt()
    cache: dict[str, torch.Tensor] = {}
    first_in_step = {"flag": True}

    def closure() -> torch.Tensor:
        # a line search ends on a point it has already evaluated; the next step asks again: reuse it
        if "x" in cache and torch.equal(cache["x"], var.detach()):
            var.grad = cache["g"].clone()
            loss, recorded = cache["loss"], cache["recorded"]
        else:
            opt.zero_grad(set_to_none=True)
            image = image_of(var)
            extra = None
            if penalty:
                extra = penalty * ((image - image.clamp(0, 1)) ** 2).sum()
            total = rec.evaluate(image, extra)
            total.backward()
            loss, recorded = total.detach(), rec.losses[-1]
            cache.update(x=var.detach().clone(), g=var.grad.detach().clone(), loss=loss, recorded=recorded)
        if first_in_step["flag"]:
            rec.note_iterate(len(rec.losses) - 1, recorded)
            first_in_step["flag"] = False
        return loss

    last = math.inf
    bests: list[float] = []
    try:
        while True:
            first_in_step["flag"] = True
            before = var.detach().clone()
            loss = float(opt.step(closure))
            if param == "clamp":
                with torch.no_grad():
                    var.clamp_(0, 1)
                if true_step:
                    st = opt.state[opt._params[0]]
                    if "d" in st and st.get("t"):
                        st["d"] = (var.detach() - before).flatten() / st["t"]
            if reset_on_rise and loss > last:
                opt = make_opt()
            last = loss
            bests.append(min(loss, bests[-1] if bests else math.inf))
            stalled = len(bests) > reset_on_stall and bests[-reset_on_stall - 1] - bests[-1] < 1e-3 * bests[-1]
            if reset_on_stall and stalled:
                opt = make_opt()
                bests.clear()
    except Budget:
        pass


def adam_loop(rec: Recorder, *, lr: float = 0.05) -> None:
    var = rec.problem.init.clone().requires_grad_(True)
    opt = torch.optim.Adam([var], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=rec.budget)
    try:
        while True:
            opt.zero_grad(set_to_none=True)
            total = rec.evaluate(var)
            rec.note_iterate(len(rec.losses) - 1, rec.losses[-1])
            total.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                var.clamp_(0, 1)
    except Budget:
        pass


VARIANTS: dict[str, Callable[[Recorder], None]] = {
    "a": lambda r: lbfgs_closure_loop(r, lr=0.5),
    "b": lambda r: lbfgs_closure_loop(r, lr=1.0),
    "a-s": lambda r: lbfgs_closure_loop(r, lr=0.5, true_step=True),
    "b-s": lambda r: lbfgs_closure_loop(r, lr=1.0, true_step=True),
    "c-sig": lambda r: lbfgs_closure_loop(r, lr=1.0, param="sigmoid"),
    "c-sig3": lambda r: lbfgs_closure_loop(r, lr=1.0, param="sigmoid", eps=0.001),
    "c-refl": lambda r: lbfgs_closure_loop(r, lr=1.0, param="reflect"),
    "e-refl": lambda r: lbfgs_closure_loop(r, lr=1.0, line_search="strong_wolfe", param="reflect"),
    "c-sig-r": lambda r: lbfgs_closure_loop(r, lr=1.0, param="sigmoid", reset_on_stall=10),
    "c-pen": lambda r: lbfgs_closure_loop(r, lr=1.0, param="free", penalty=100.0),
    "d": lambda r: lbfgs_closure_loop(r, lr=1.0, reset_on_rise=True),
    "d-s": lambda r: lbfgs_closure_loop(r, lr=1.0, reset_on_rise=True, true_step=True),
    "e": lambda r: lbfgs_closure_loop(r, lr=1.0, line_search="strong_wolfe"),
    "e-s": lambda r: lbfgs_closure_loop(r, lr=1.0, line_search="strong_wolfe", true_step=True),
    "e-sig": lambda r: lbfgs_closure_loop(r, lr=1.0, line_search="strong_wolfe", param="sigmoid"),
    "adam": adam_loop,
}


def run_recorded(problem: Problem, name: str, evals: int, rule: tuple[float, int] | None = None) -> Recorder:
    rec = Recorder(problem, evals, rule=rule)
    VARIANTS[name](rec)
    return rec


def best_image(rec: Recorder) -> torch.Tensor:
    """The lowest-loss image of a run, in [0, 1]."""
    if rec.best_raw_image is not None and rec.best_raw_loss < rec.best_loss:
        clamped = rec.best_raw_image.clamp(0, 1)
        with torch.no_grad():
            if float(rec.problem.loss(clamped)) < rec.best_loss:
                return clamped
    assert rec.best_image is not None
    return rec.best_image


def run_variant(problem: Problem, name: str, evals: int) -> dict:
    rec = run_recorded(problem, name, evals)
    return summarise(rec, name)


def summarise(rec: Recorder, name: str) -> dict:
    problem = rec.problem
    with torch.no_grad():  # the lowest loss seen, clamped into [0, 1]: what a user would get from it
        clamped_best = float(problem.loss(rec.best_raw_image.clamp(0, 1)))
    return {
        "problem": problem.label,
        "variant": name,
        "evals": len(rec.losses),
        "losses": rec.losses,
        "times": rec.times,
        "outside": rec.outside,
        "iterates": rec.iterates,
        "best_in_range": rec.best_loss,
        "best_raw_clamped": clamped_best,
        "best": min(rec.best_loss, clamped_best),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="town:swirls,hopper:waves")
    parser.add_argument("--sizes", default="128")
    parser.add_argument("--evals", type=int, default=300)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default="loop-experiments.jsonl")
    parser.add_argument("--layers", choices=("conv", "default"), default="conv")
    args = parser.parse_args()
    torch.manual_seed(0)
    net = load_net()
    print(f"weights: {net.weights}; torch threads: {torch.get_num_threads()}")
    with open(args.out, "a") as out:
        for size in [int(s) for s in args.sizes.split(",")]:
            for pair in args.pairs.split(","):
                content_name, style_name = pair.split(":")
                problem = make_problem(net, content_name, style_name, size, layers=args.layers)
                for name in args.variants.split(","):
                    record = run_variant(problem, name, args.evals)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    losses = record["losses"]
                    print(
                        f"{problem.label:<24} {name:<6} best {record['best']:.5f} "
                        f"first {losses[0]:.4f} last {losses[-1]:.4f} "
                        f"max-after-20 {max(losses[20:], default=math.nan):.4f} "
                        f"{record['times'][-1]:.1f}s",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
