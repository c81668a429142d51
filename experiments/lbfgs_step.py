"""Which L-BFGS step size to use by default: final loss and loss jumps by step size.

Run:  python experiments/lbfgs_step.py [--size 128] [--steps 100] [--weights random]

For a transfer, a texture and a deep reconstruction, prints the lowest loss reached
and how often the loss jumped up by more than half from one step to the next, for
step sizes 1.0, 0.5 and 0.25. Loss values are deterministic (fixed seeds); only the
time column depends on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import time

import nst_course as nst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--weights", default="random")
    args = parser.parse_args()
    net = nst.load_vgg19(weights=args.weights, device="cpu")
    print(f"weights: {net.weights}; {args.steps} steps at {args.size} px")
    runs = {
        "transfer town/swirls": lambda **kw: nst.transfer("town", "swirls", **kw),
        "texture swirls": lambda **kw: nst.synthesize_texture("swirls", **kw),
        "reconstruct conv4_2": lambda **kw: nst.reconstruct("town", layer="conv4_2", **kw),
    }
    print(f"{'run':<22} {'step':>5} {'lowest loss':>12} {'jumps':>6} {'seconds':>8}")
    for name, run in runs.items():
        for lr in (1.0, 0.5, 0.25):
            start = time.perf_counter()
            result = run(net=net, size=args.size, steps=args.steps, learning_rate=lr, progress=False)
            total = result.history["total"]
            jumps = sum(later > 1.5 * earlier for earlier, later in itertools.pairwise(total))
            print(f"{name:<22} {lr:>5} {min(total):>12.5f} {jumps:>6} {time.perf_counter() - start:>8.1f}")


if __name__ == "__main__":
    main()
