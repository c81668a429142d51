"""How long one optimisation step takes, and how much memory, by image size.

Run:  python benchmarks/step_time.py [--sizes 64,128,256] [--steps 5] [--weights random]

Prints seconds per step for a full transfer objective (conv4_2 + five style layers)
at each size, the ratio to the smallest size, and the peak memory of the process.
Also compares a forward pass that stops at conv1_1 with one to conv5_1, which shows
what truncating the network after the deepest requested layer saves. Timings on a
shared machine are noisy: compare the ratios printed by one run, not numbers
across runs.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

import nst_course as nst


def seconds_per_step(net: nst.VGG19, size: int, steps: int) -> float:
    content = nst.load_image("town", size=size)
    style = nst.load_image("swirls", size=size)
    settings = nst.Settings(size=size, steps=1)
    nst.transfer(content, style, settings=settings, net=net, progress=False)  # warm-up
    start = time.perf_counter()
    nst.transfer(content, style, settings=settings, steps=steps, net=net, progress=False)
    return (time.perf_counter() - start) / steps


def forward_seconds(net: nst.VGG19, image: torch.Tensor, layer: str, repeats: int = 5) -> float:
    with torch.no_grad():
        net(image, [layer])
        start = time.perf_counter()
        for _ in range(repeats):
            net(image, [layer])
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    net = nst.load_vgg19(weights=args.weights, device=args.device)
    print(f"weights: {net.weights}; device: {net.device}; torch threads: {torch.get_num_threads()}")
    sizes = [int(s) for s in args.sizes.split(",")]
    base = None
    print(f"{'size':>6} {'s/step':>9} {'x smallest':>11} {'peak RSS MB':>12}")
    for size in sizes:
        sec = seconds_per_step(net, size, args.steps)
        base = base or sec
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>6} {sec:>9.3f} {sec / base:>11.2f} {peak:>12.0f}")
    image = nst.load_image("town", size=sizes[-1])
    shallow = forward_seconds(net, image, "conv1_1")
    deep = forward_seconds(net, image, "conv5_1")
    print(
        f"forward to conv1_1: {shallow * 1000:.1f} ms, to conv5_1: {deep * 1000:.1f} ms "
        f"(truncating saves {100 * (1 - shallow / deep):.0f}% for a conv1_1-only objective)"
    )


if __name__ == "__main__":
    main()
