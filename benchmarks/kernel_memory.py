"""Where a learner's kernel memory goes: private (USS) and shared memory after each thing a lesson loads.

One fresh process does, in order, what a lesson's kernel does: import torch, import the
course and what its lessons draw with (matplotlib, ipywidgets), load the network, run it on
a picture, draw a figure, optimise a small transfer. After each step it reads its own
/proc/self/smaps_rollup; during the two runs a thread samples it, for their peaks.

    python benchmarks/kernel_memory.py                      # weights from NST_COURSE_WEIGHTS (random here)
    python benchmarks/kernel_memory.py --weights vgg.pth    # a weights file (mapped, shared between kernels)

Private memory (USS) is what each learner's kernel adds to a machine; shared pages (the
libraries' code, a mapped weights file) are paid once per machine. Linux only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20


def memory() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name.strip()] = int(rest.split()[0]) * 1024
    return {
        "rss": fields["Rss"] / MIB,
        "pss": fields["Pss"] / MIB,
        "uss": (fields["Private_Clean"] + fields["Private_Dirty"]) / MIB,
        "dirty": fields["Private_Dirty"] / MIB,
    }


class Peak:
    """The largest written private memory while a block runs (sampled every 50 ms)."""

    def __enter__(self) -> Peak:
        self.uss, self._stop = memory()["dirty"], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.uss = max(self.uss, memory()["dirty"])

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.uss = max(self.uss, memory()["dirty"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="NST_COURSE_WEIGHTS for this run (default: as set, else random)")
    parser.add_argument("--size", type=int, default=224, help="picture size for the forward pass (lesson 00: 224)")
    parser.add_argument("--transfer-size", type=int, default=128, help="size of the small transfer (lesson 03: 128)")
    parser.add_argument("--steps", type=int, default=10, help="steps of the small transfer")
    options = parser.parse_args(argv)
    if options.weights:
        os.environ["NST_COURSE_WEIGHTS"] = options.weights
    os.environ.setdefault("NST_COURSE_WEIGHTS", "random")
    sys.path.insert(0, str(ROOT))
    rows: list[tuple[str, dict[str, float], float | None]] = []

    def step(name: str, peak: float | None = None) -> None:
        rows.append((name, memory(), peak))

    step("python")
    import ipykernel.kernelapp  # noqa: F401  (what every kernel loads before the lesson's first cell)

    step("+ ipykernel")
    import torch

    step("+ import torch")
    import matplotlib.pyplot as plt

    import nst_course as nst
    from nst_course import plotting, widgets  # noqa: F401

    step("+ nst_course, matplotlib, ipywidgets")
    net = nst.load_vgg19()
    step(f"+ load_vgg19 ({net.weights.kind})")
    photo = nst.load_image("town", size=options.size)
    with Peak() as peak, torch.no_grad():
        features = net(photo, ["relu1_1", "relu3_1", "relu5_1"])
    step(f"+ forward pass {options.size} px (kept: 3 layers)", peak.uss)
    del features
    step("  features freed")
    figure, axes = plt.subplots(4, 4, figsize=(8, 8))
    for ax in axes.flat:
        ax.imshow(photo[0, 0].numpy())
    figure.canvas.draw()
    step("+ a 4x4 matplotlib figure drawn")
    plt.close(figure)
    style = nst.load_image("swirls", size=options.transfer_size)
    content = nst.load_image("town", size=options.transfer_size)
    with Peak() as peak:
        nst.transfer(content, style, net=net, steps=options.steps, progress=False)
    step(f"+ transfer {options.transfer_size} px, {options.steps} steps", peak.uss)

    print(f"weights: {net.weights}   torch {torch.__version__}   threads {torch.get_num_threads()}")
    print(f"{'after':46} {'RSS':>6} {'PSS':>6} {'USS':>6} {'dirty':>6} {'added':>6} {'peak':>6}  (MiB)")
    previous = 0.0
    for name, values, peak in rows:
        peak_text = f"{peak:6.0f}" if peak is not None else " " * 6
        print(
            f"{name:46} {values['rss']:6.0f} {values['pss']:6.0f} {values['uss']:6.0f} {values['dirty']:6.0f} "
            f"{values['dirty'] - previous:+6.0f} {peak_text}"
        )
        previous = values["dirty"]
    print(
        "dirty: written private pages, what every learner's kernel adds; USS also counts clean file pages "
        "(libraries, a mapped weights file) that a second kernel on the machine shares; peak: dirty, sampled"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
