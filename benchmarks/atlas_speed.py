"""How long a layer atlas's visualisations take: a 16-channel grid at 128 px, as one batch.

Run:  python benchmarks/atlas_speed.py [--layer relu3_1] [--channels 16] [--size 128] [--steps 64]
      [--weights random] [--device cpu]

Prints the estimate the command line would print first, then the seconds the
visualisations took (the loop's own measure) and the seconds the top patches took.
Timings on a shared machine are noisy: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import time

import torch

import nst_course as nst
from nst_course.course.atlases import atlas_seconds
from nst_course.course.examples import top_patches
from nst_course.engine.featurevis import VisSettings, visualise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="relu3_1")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=VisSettings().steps)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    net = nst.load_vgg19(weights=args.weights, device=args.device)
    settings = VisSettings(size=args.size, steps=args.steps)
    channels = list(range(args.channels))
    print(f"weights: {net.weights}; device: {net.device}; torch threads: {torch.get_num_threads()}")
    print(f"estimate: {atlas_seconds(net, args.layer, len(channels), settings):.1f} s")
    result = visualise(net, args.layer, channels, settings=settings, progress=False)
    print(
        f"visualisations: {result.seconds:.1f} s for {len(channels)} channels of {args.layer}, "
        f"{result.steps_done} steps at {args.size} px"
    )
    start = time.perf_counter()
    top_patches(net, args.layer, channels)
    print(f"top patches: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
