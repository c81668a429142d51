"""Coarse to fine through the public API: does it reach the single-scale run's loss at full size sooner?

Run:  python experiments/coarse_to_fine_transfer.py [--size 128] [--steps 60] [--coarse-steps 30,60]
                                                   [--coarse-size 64] [--pair town:swirls] [--weights random]

First one transfer at ``--size`` for ``--steps`` steps (the single-scale run); its
lowest loss is the target. Then, for each number k in ``--coarse-steps``: k steps
at ``--coarse-size`` (default half the size), the result upsampled, and at most
``--steps`` steps at full size from it, stopped as soon as the loss is at or
below the target. Prints the wall and CPU seconds each plan took to get there
(the coarse stage included), as ``nst_course`` lesson 05 does. Loss values are
deterministic (fixed seeds); the seconds depend on the machine and its load,
so the script prints the load average too.
"""

from __future__ import annotations

import argparse
import os

import torch

import nst_course as nst
from nst_course.course.analysis import LossClock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--coarse-steps", default="30,60")
    parser.add_argument("--coarse-size", type=int, default=None)
    parser.add_argument("--pair", default="town:swirls")
    parser.add_argument("--weights", default="random")
    args = parser.parse_args()
    coarse_size = args.coarse_size or args.size // 2
    content_name, style_name = args.pair.split(":")
    net = nst.load_vgg19(weights=args.weights, device="cpu")
    photo = nst.load_image(content_name, size=args.size)
    style = nst.load_image(style_name, size=args.size)
    settings = nst.Settings(size=args.size, steps=args.steps, scales=(args.size,))  # one scale: the plan is ours
    print(f"weights: {net.weights}; torch threads: {torch.get_num_threads()}; load average: {os.getloadavg()}")
    print(f"{content_name} in the style of {style_name}, {args.size} px, coarse stage at {coarse_size} px")
    nst.transfer(photo, style, settings=settings, net=net, steps=2, progress=False)  # warm up

    clock = LossClock()
    single = nst.transfer(photo, style, settings=settings, net=net, callback=clock, progress=False)
    wall, cpu = clock.elapsed()
    target = single.best_loss
    print("| plan | steps (coarse + full) | wall s | CPU s | lowest full-size loss |")
    print("|---|---|---|---|---|")
    print(f"| single scale | 0 + {single.steps_done} | {wall:.1f} | {cpu:.1f} | {target:.4g} |")
    for coarse_steps in [int(k) for k in args.coarse_steps.split(",")]:
        clock = LossClock(target=target)
        small = nst.transfer(
            photo,
            style,
            settings=settings,
            net=net,
            size=coarse_size,
            scales=(coarse_size,),
            steps=coarse_steps,
            progress=False,
        )
        start = nst.resize(small.image, tuple(photo.shape[-2:]))
        fine = nst.transfer(photo, style, settings=settings, net=net, init_image=start, callback=clock, progress=False)
        wall, cpu = clock.reached or clock.elapsed()
        where = "reached" if clock.reached else "NOT reached"
        print(
            f"| coarse to fine ({where}) | {coarse_steps} + {fine.steps_done} | {wall:.1f} | {cpu:.1f} | "
            f"{fine.best_loss:.4g} |"
        )


if __name__ == "__main__":
    main()
