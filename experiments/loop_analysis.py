"""Tables from ``loop_experiments.py`` output: cost to a good loss, blow-ups, and stopping rules.

Run:  python experiments/loop_analysis.py FILE.jsonl [FILE.jsonl ...] [--rules-for b-s,c-sig]

For each problem (pair and size) and loop variant it prints, as Markdown tables:

* the best loss (in [0, 1]) and the evaluations (forward + backward passes) and seconds
  it took to reach the plain loop's (variant b) best loss, with the ratio to b's own, and
  the evaluations it took to come within 2% of that loss;
* blow-ups: the largest ratio of a step's loss to the best loss so far after step 10
  ("worst rise"; 1.0 = never rose above its best), the number of steps more than 1.5x
  above it, and the largest ratio once the run has come within 2% of its final best;
* whether the images it stepped through stayed in [0, 1].

Then, for the variants named in ``--rules-for``, every stopping rule "stop when the best
loss improved by less than a fraction f over the last w steps": the step it stops at and
how far its best loss then is from the best of the whole run.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict


def best_so_far(values: list[float]) -> list[float]:
    out, best = [], math.inf
    for v in values:
        best = min(best, v)
        out.append(best)
    return out


def first_reaching(losses: list[float], outside: list[float], target: float) -> int | None:
    for i, (loss, out) in enumerate(zip(losses, outside, strict=True)):
        if out <= 1e-6 and loss <= target:
            return i
    return None


def blow_up(iterates: list[float], within: float = 0.02) -> float:
    """Largest loss / best-so-far after the run first comes within ``within`` of its final best."""
    if not iterates:
        return math.nan
    running = best_so_far(iterates)
    final = running[-1]
    start = next(i for i, b in enumerate(running) if b <= final * (1 + within))
    return max(v / b for v, b in zip(iterates[start:], running[start:], strict=True))


def rises(iterates: list[float], after: int = 10, factor: float = 1.5) -> tuple[float, int]:
    """Worst loss / best-so-far from step ``after`` on, and how many steps were above ``factor`` times it."""
    running = best_so_far(iterates)
    ratios = [v / b for v, b in zip(iterates[after:], running[after:], strict=True)]
    return (max(ratios) if ratios else math.nan), sum(r > factor for r in ratios)


def stop_step(best: list[float], fraction: float, window: int) -> int:
    """First step s (1-based) with best[s - window] - best[s] < fraction * best[s]; len(best) if none."""
    for s in range(window, len(best)):
        if best[s - window] - best[s] < fraction * best[s]:
            return s + 1
    return len(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rules-for", default="")
    parser.add_argument("--fractions", default="0.002,0.005,0.01,0.02")
    parser.add_argument("--windows", default="10,20,30")
    args = parser.parse_args()
    runs: dict[str, dict[str, dict]] = defaultdict(dict)
    for name in args.files:
        with open(name) as handle:
            for line in handle:
                record = json.loads(line)
                runs[record["problem"]][record["variant"]] = record

    print(
        "| problem | variant | best loss | evals to b's best | x b's | s to b's best | evals to 1.02x b's best "
        "| worst rise | steps >1.5x "
        "| rise after within 2% | max outside [0,1] |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for problem, variants in runs.items():
        plain = variants.get("b")
        target = plain["best"] if plain else math.nan
        plain_evals = first_reaching(plain["losses"], plain["outside"], target) if plain else None
        for variant, r in variants.items():
            reach = first_reaching(r["losses"], r["outside"], target * (1 + 1e-9))
            evals = "never" if reach is None else str(reach + 1)
            ratio = "" if reach is None or plain_evals is None else f"{(reach + 1) / (plain_evals + 1):.2f}"
            secs = "" if reach is None else f"{r['times'][reach]:.1f}"
            near = first_reaching(r["losses"], r["outside"], 1.02 * target)
            near_text = "never" if near is None else str(near + 1)
            iterates = [loss for _, loss in r["iterates"]]
            worst, count = rises(iterates)
            print(
                f"| {problem} | {variant} | {r['best']:.4f} | {evals} | {ratio} | {secs} | {near_text} | "
                f"{worst:.2f} | {count} | {blow_up(iterates):.2f} | {max(r['outside']):.2g} |"
            )

    wanted = [v for v in args.rules_for.split(",") if v]
    if not wanted:
        return
    fractions = [float(f) for f in args.fractions.split(",")]
    windows = [int(w) for w in args.windows.split(",")]
    print()
    print("Stopping rules: step stopped at / % above the run's final best loss")
    header = [f"f={f:g} w={w}" for f in fractions for w in windows]
    print("| problem | variant | " + " | ".join(header) + " |")
    print("|---|---|" + "---|" * len(header))
    worst: dict[str, float] = defaultdict(float)
    total_steps: dict[str, int] = defaultdict(int)
    for problem, variants in runs.items():
        for variant in wanted:
            if variant not in variants:
                continue
            best = best_so_far([loss for _, loss in variants[variant]["iterates"]])
            cells = []
            for f in fractions:
                for w in windows:
                    s = stop_step(best, f, w)
                    gap = 100 * (best[s - 1] / best[-1] - 1)
                    key = f"f={f:g} w={w}"
                    worst[key] = max(worst[key], gap)
                    total_steps[key] += s
                    cells.append(f"{s} / {gap:.1f}%")
            print(f"| {problem} | {variant} | " + " | ".join(cells) + " |")
    print("| worst gap / total steps | | " + " | ".join(f"{worst[k]:.1f}% / {total_steps[k]}" for k in header) + " |")


if __name__ == "__main__":
    main()
