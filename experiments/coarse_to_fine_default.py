"""Should a run go coarse to fine by default? One scale against half size first, both as a user gets them.

Run:  python experiments/coarse_to_fine_default.py [--sizes 128,256] [--pairs town:swirls,hopper:waves]
                                                  [--steps 300] [--weights random]

For each size S and image pair: ``nst.transfer`` with ``scales=(S,)`` (one scale) and with
``scales=(S // 2, S)`` (what ``tasks.plan_scales`` does from ``COARSE_TO_FINE_FROM`` on), both
with the default stopping rule and ``--steps`` as the upper bound. Prints, for each plan, the
steps taken at each scale, the wall and CPU seconds of the whole run, the lowest full-size loss,
and the CPU seconds the coarse-to-fine plan took to reach the one-scale run's lowest loss (its
coarse stage included). CPU seconds are the fairer measure on a shared machine; both are printed
with the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

import nst_course as nst


def timed_run(photo, style, size, scales, steps, net):
    """(result, [(width, cpu seconds, loss)] per step) of one transfer."""
    start = time.process_time()
    seen = []

    def note(step, losses, image):
        seen.append((image.shape[-1], time.process_time() - start, float(losses["total"])))

    wall = time.perf_counter()
    result = nst.transfer(photo, style, net=net, size=size, steps=steps, scales=scales, callback=note, progress=False)
    return result, seen, time.perf_counter() - wall, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--pairs", default="town:swirls,hopper:waves")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--weights", default="random")
    args = parser.parse_args()
    net = nst.load_vgg19(weights=args.weights, device="cpu", progress=False)
    print(f"weights: {net.weights}; torch threads: {torch.get_num_threads()}; load average: {os.getloadavg()}")
    print("| size | pair | plan | steps per scale | wall s | CPU s | lowest loss | CPU s to one scale's lowest |")
    print("|---|---|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        for pair in args.pairs.split(","):
            content_name, style_name = pair.split(":")
            photo, style = nst.load_image(content_name, size=size), nst.load_image(style_name, size=size)
            nst.transfer(photo, style, net=net, size=size, steps=2, scales=(size,), progress=False)  # warm up
            target = None
            for plan in ((size,), (size // 2, size)):
                result, seen, wall, cpu = timed_run(photo, style, size, plan, args.steps, net)
                widths = [w for w, _, _ in seen]
                per_scale = " + ".join(str(widths.count(w)) for w in dict.fromkeys(widths))
                full = max(widths)
                if target is None:
                    target, reach = result.best_loss, ""
                else:
                    hit = next((c for w, c, loss in seen if w == full and loss <= target), None)
                    reach = "never" if hit is None else f"{hit:.1f}"
                print(
                    f"| {size} | {pair} | {' > '.join(map(str, plan))} | {per_scale} ({result.stopped}) | "
                    f"{wall:.1f} | {cpu:.1f} | {result.best_loss:.5f} | {reach} |",
                    flush=True,
                )
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
