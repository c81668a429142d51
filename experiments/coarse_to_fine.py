"""Does optimising at half size first, upsampling and continuing reach a low loss sooner?

Run:  python experiments/coarse_to_fine.py [--pair town:swirls] [--sizes 256] [--variant c-sig]
                                          [--evals 150] [--half-evals 25,50,100] [--fine-evals N]
                                          [--out FILE.jsonl]

For each size S: one run of ``--evals`` evaluations at S from the content image (the single
scale reference), then for each number k in ``--half-evals``: k evaluations at S/2, the best
image upsampled to S, and ``--fine-evals`` evaluations at S from it. Prints, for each, the seconds
(half-size stage included) to reach the single-scale run's best loss, the same in full-size
evaluation equivalents (a half-size evaluation counts as its measured share of a full one),
and the best loss. Writes every run's loss history as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loop_experiments as le

import nst_course as nst


def first_at_or_below(rec: le.Recorder, target: float) -> int | None:
    for i, (loss, out) in enumerate(zip(rec.losses, rec.outside, strict=True)):
        if out <= 1e-6 and loss <= target:
            return i
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="town:swirls")
    parser.add_argument("--sizes", default="256")
    parser.add_argument("--variant", default="c-sig")
    parser.add_argument("--evals", type=int, default=150)
    parser.add_argument("--half-evals", default="25,50,100", help="0: until the stopping rule ends the half-size run")
    parser.add_argument("--fine-evals", type=int, default=None, help="evaluations after upsampling (default: --evals)")
    parser.add_argument("--out", default="coarse-to-fine.jsonl")
    parser.add_argument("--layers", choices=("conv", "default"), default="conv")
    args = parser.parse_args()
    net = le.load_net()
    content_name, style_name = args.pair.split(":")
    print(f"weights: {net.weights}; torch threads: {torch.get_num_threads()}; variant {args.variant}")
    print("| size | plan | s to single best | full-eval equivalents | best loss | half s/eval / full s/eval |")
    print("|---|---|---|---|---|---|")
    with open(args.out, "a") as out:
        for size in [int(s) for s in args.sizes.split(",")]:
            full = le.make_problem(net, content_name, style_name, size, layers=args.layers)
            single = le.run_recorded(full, args.variant, args.evals)
            out.write(json.dumps(le.summarise(single, args.variant) | {"plan": "single"}) + "\n")
            target = min(single.best_loss, single.best_raw_loss)
            full_rate = single.times[-1] / len(single.times)
            reach = first_at_or_below(single, target)
            print(
                f"| {size} | single, {args.evals} | {single.times[reach]:.1f} | {reach + 1} | "
                f"{single.best_loss:.4f} | |",
                flush=True,
            )
            half = le.make_problem(net, content_name, style_name, size // 2, layers=args.layers)
            for k in [int(v) for v in args.half_evals.split(",")]:
                # 0: as many as the stopping rule (best improved < 0.5% over 20 steps) lets it take, up to --evals
                coarse = le.run_recorded(half, args.variant, k or args.evals, rule=None if k else (0.005, 20))
                k = len(coarse.losses)
                shape = tuple(full.content.shape[-2:])
                start = nst.resize(le.best_image(coarse), shape)
                fine_problem = le.Problem(full.net, full.objective, full.layers, full.content, full.label, start)
                fine_evals = args.fine_evals or args.evals
                fine = le.run_recorded(fine_problem, args.variant, fine_evals)
                plan = f"{k} at {size // 2} + {fine_evals} at {size}"
                record = le.summarise(fine, args.variant) | {
                    "plan": plan,
                    "coarse_seconds": coarse.times[-1],
                    "coarse_losses": coarse.losses,
                }
                out.write(json.dumps(record) + "\n")
                half_rate = coarse.times[-1] / len(coarse.times)
                hit = first_at_or_below(fine, target)
                seconds = "never" if hit is None else f"{coarse.times[-1] + fine.times[hit]:.1f}"
                equiv = "never" if hit is None else f"{k * half_rate / full_rate + hit + 1:.0f}"
                print(
                    f"| {size} | {plan} | {seconds} | {equiv} | {fine.best_loss:.4f} | {half_rate / full_rate:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
