"""How L-BFGS's first step is aimed: torch's own first try against 2 loss / |gradient|^2.

Run:  python experiments/first_step.py [--size 128] [--steps 100] [--threads 2]

The first step is what a learner waits for before the first preview. For a transfer
(two image pairs), a texture and a reconstruction from noise, at the lessons' settings,
prints for each first try: the forward and backward passes spent before the first
preview (the start image and the line search's trials; the targets' forward passes are
not counted), the loss after that step as a share of the start, and the lowest loss of
a run of at most ``--steps`` steps with the stopping rule on, with its steps and seconds.
Passes and losses are deterministic (fixed seeds, untrained seed-0 weights); seconds
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import torch

import nst_course as nst
from nst_course.engine import loop


def problems(size: int) -> dict:
    lesson = {k: nst.lesson_settings(k, size=size) for k in (1, 2, 3)}
    return {  # name: (run, forward passes that compute its targets)
        "transfer town+swirls": (lambda **kw: nst.transfer("town", "swirls", settings=lesson[3], **kw), 2),
        "transfer hopper+waves": (lambda **kw: nst.transfer("hopper", "waves", settings=lesson[3], **kw), 2),
        "texture swirls": (lambda **kw: nst.synthesize_texture("swirls", settings=lesson[2], **kw), 1),
        "reconstruct town, noise start": (
            lambda **kw: nst.reconstruct("town", settings=lesson[1], init="noise", **kw),
            1,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = nst.load_vgg19(weights="random")
    passes = [0]
    forward = net.forward

    def counting(*a, **kw):
        passes[0] += 1
        return forward(*a, **kw)

    net.forward = counting
    chosen = loop.first_step_lr
    tries = {"torch's: min(1, 1/sum|g|)": lambda loss, grad, lr=1.0: lr, "2 loss / |g|^2": chosen}
    print(f"{args.size} px, at most {args.steps} steps, {args.threads} threads, weights: {net.weights}")
    print(f"{'problem':<30} {'first try':<26} {'passes':>6} {'after step 1':>12} {'lowest':>10} {'steps':>5} {'s':>6}")
    for name, (run, targets) in problems(args.size).items():
        for label, rule in tries.items():
            loop.first_step_lr = rule
            at_first: list[int] = []
            passes[0] = 0
            start = time.perf_counter()
            note = lambda *_, seen=at_first: seen.append(passes[0])  # noqa: E731  passes when step 1 is shown
            result = run(net=net, steps=args.steps, progress=False, callback=note)
            seconds = time.perf_counter() - start
            total = result.history["total"]
            print(
                f"{name:<30} {label:<26} {at_first[0] - targets:>6} {total[1] / total[0]:>12.3f} "
                f"{result.best_loss:>10.5g} {result.steps_done:>5} {seconds:>6.1f}",
                flush=True,
            )
    loop.first_step_lr = chosen


if __name__ == "__main__":
    main()
