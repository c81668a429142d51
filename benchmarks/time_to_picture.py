"""Time to a good picture: the package's transfer against a plain tutorial loop, in one run.

Run:  python benchmarks/time_to_picture.py [--size 256] [--steps 300] [--device cpu]
                                           [--memory-sizes 256,512] [--weights random]
                                           [--rounds 3] [--preview-size 128]
                                           [--pair town,swirls]

Both optimise the same objective (the package's defaults, built by the function
``nst.transfer`` uses) with the same network and the same images (``--pair``: "town"
and "swirls" unless told), starting from the content image. The plain loop is what a
tutorial writes: torch L-BFGS, one iteration per step, step 1, clamp to [0, 1] after
each step, ``--steps`` steps. The package runs ``nst.transfer`` with its defaults
(``--steps`` is its upper bound; its stopping rule usually ends it sooner).

Prints: the plain loop's best loss and the seconds it took to reach it, and its highest
rise above its best so far; the seconds the package took to reach that loss (and the
ratio), and to come within 1% and 0.5% of it (against the plain loop's seconds to the
same); the package's own best loss, why and when it stopped; the package's loop as it
was before (step 0.5, clamp after each step, all ``--steps`` steps: its default run then),
its best loss and time against the package's default run; seconds per step and per loss evaluation of each (ratios); the
floating-point rate of one step (forward and backward, counted by torch) as a share of
a float32 matrix multiply measured here; how long after Run the first preview image of
lesson 03's transfer explorer arrives at ``--preview-size`` px; and the peak memory of a
two-step transfer at each of ``--memory-sizes`` (each in a fresh process, so the figures do
not mix), next to what ``nst_course.engine.estimate`` predicted before it. The package's run uses
its defaults, coarse to fine included where they apply; the losses of a smaller scale are
not compared with the plain loop's.
Compare the ratios printed by one run: on a shared machine absolute times drift.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

import torch

import nst_course as nst
from nst_course.engine import tasks
from nst_course.engine.objective import Objective


def load_net(weights: str, device: str | None) -> nst.VGG19:
    return nst.load_vgg19(weights=weights, device=device, progress=False)


def build_objective(net: nst.VGG19, content: torch.Tensor, style: torch.Tensor) -> tuple[Objective, list[str]]:
    """The objective nst.transfer builds from its default settings, by the function it uses."""
    objective = tasks.build_objective(net, nst.Settings(size=max(content.shape[-2:])), content=content, style=style)
    return objective, list(objective.layers)


def plain_loop(net, objective, layers, content, steps, lr=1.0, keep=None):
    """The tutorial loop. Returns (seconds after each step, loss before each step, evaluations).

    ``keep``, a dict, receives the image with the lowest loss as "image".
    With ``lr=0.5`` it is the package's own loop before it folded the pixels, searched the
    line and stopped by itself (its default then: 300 steps).
    """
    image = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=50)
    losses, times, evals = [], [], [0]

    def closure():
        opt.zero_grad()
        terms = objective(net(image, layers), image)
        loss = torch.stack(list(terms.values())).sum()
        loss.backward()
        losses.append(loss.item())
        if keep is not None and losses[-1] <= min(losses):
            keep["image"] = image.detach().cpu().clone()
        evals[0] += 1
        return loss

    start = time.perf_counter()
    for _ in range(steps):
        opt.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
        times.append(time.perf_counter() - start)
    return times, losses, evals[0]


def package_run(net, content, style, steps):
    """nst.transfer with its defaults (coarse to fine where it applies).

    Returns (seconds after each step, loss before each step, result, evaluations), the
    losses of the smaller scales replaced by inf: they belong to another objective.
    """
    times, widths, start = [], [], time.perf_counter()

    def note(step, losses, image):
        times.append(time.perf_counter() - start)
        widths.append(image.shape[-1])

    with counting_evaluations(net) as evals:
        result = nst.transfer(
            content, style, net=net, size=max(content.shape[-2:]), steps=steps, callback=note, progress=False
        )
    full = content.shape[-1]
    losses = [loss if width == full else math.inf for loss, width in zip(result.history["total"], widths, strict=True)]
    return times, losses, result, evals[0]


@contextlib.contextmanager
def counting_evaluations(net: nst.VGG19):
    """Count the network's forward passes that will be differentiated (one per loss evaluation)."""
    counted = [0]

    def count(module, inputs):
        counted[0] += torch.is_grad_enabled()

    hook = net.register_forward_pre_hook(count)
    try:
        yield counted
    finally:
        hook.remove()


def seconds_per_evaluation(net, objective, layers, content, steps: int = 10, rounds: int = 3) -> tuple[float, float]:
    """(plain, package) seconds per loss evaluation over ``steps`` steps, the fastest of ``rounds`` alternated runs.

    The package runs :func:`nst.optimize` (the loop alone, stopping rule off) on the same objective.
    """
    plain, package = math.inf, math.inf
    for _ in range(rounds):
        times, _, evals = plain_loop(net, objective, layers, content, steps)
        plain = min(plain, times[-1] / evals)
        with counting_evaluations(net) as counted:
            result = nst.optimize(net, objective, content, steps=steps, stop_tolerance=0.0, progress=False)
        package = min(package, result.seconds / counted[0])
    return plain, package


def first_preview_seconds(net: nst.VGG19, size: int) -> tuple[float, float]:
    """(seconds from Run to the first preview image, seconds the Run handler itself took) in a transfer explorer.

    The explorer is built as in lesson 03 (``lesson_settings(3)`` at ``size``), with the widget
    front end assumed present; the run is stopped once the first preview has arrived.
    """
    from nst_course.course.widgets import explorers, runtime

    runtime.front_end_available = lambda: True
    settings = nst.lesson_settings(3, size=size)
    explorer = explorers.transfer_explorer("town", "swirls", net, settings=settings)
    blank = explorer.preview.value
    start = time.perf_counter()
    explorer.run()
    handler = time.perf_counter() - start
    while explorer.preview.value == blank and explorer.running:
        time.sleep(0.002)
    first = time.perf_counter() - start
    explorer.stop()
    explorer.wait(600)
    return first, handler


def first_reaching(losses, target):
    return next((i for i, loss in enumerate(losses) if loss <= target), None)


def matmul_gflops(device: torch.device, n: int = 1024, repeats: int = 10) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_gflops(net, objective, layers, content, repeats: int = 3) -> tuple[float, float]:
    """(GFLOP in one forward + backward, GFLOP/s it runs at)."""
    from torch.utils.flop_counter import FlopCounterMode

    image = content.clone().requires_grad_(True)

    def once():
        terms = objective(net(image, layers), image)
        torch.stack(list(terms.values())).sum().backward()

    with FlopCounterMode(display=False) as counter:
        once()
    flop = counter.get_total_flops()
    once()
    sync(content.device)
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    sync(content.device)
    return flop / 1e9, flop * repeats / (time.perf_counter() - start) / 1e9


def peak_memory_mb(size: int, weights: str, device: str) -> tuple[float, float]:
    """(estimated, measured) peak memory of loading the network and two steps at ``size``, in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-probe", str(size), "--weights", weights, "--device", device],
        capture_output=True,
        text=True,
        check=True,
    )
    estimated, measured = out.stdout.strip().splitlines()[-1].split()
    return float(estimated), float(measured)


def memory_probe(size: int, weights: str, device: str, steps: int = 2) -> None:
    """Prints the estimated and the measured peak memory (MiB) of a ``steps``-step transfer at ``size``."""
    from nst_course.engine.estimate import estimate_settings

    net = load_net(weights, device)
    content, style = nst.load_image("town", size=size), nst.load_image("swirls", size=size)
    settings = nst.Settings(size=size, steps=steps, scales=(size,))
    estimated = estimate_settings(net, settings, shape=content.shape, probe=False).peak_mib
    nst.transfer(content, style, net=net, settings=settings, progress=False)
    if net.device.type == "cuda":
        print(estimated, torch.cuda.max_memory_allocated() / 2**20)
    else:
        print(estimated, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--pair", default="town,swirls", help="content and style image, built-in names or files")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--memory-sizes", default="256,512")
    parser.add_argument("--rounds", type=int, default=3, help="alternated 10-step runs for seconds per evaluation")
    parser.add_argument("--preview-size", type=int, default=128, help="size of the widget run (lesson default)")
    parser.add_argument("--save-images", default=None, help="folder for the three best images, to compare by eye")
    parser.add_argument("--memory-probe", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pair.count(",") != 1:
        parser.error("--pair takes two images, CONTENT,STYLE (e.g. town,swirls)")
    if args.memory_probe:
        memory_probe(args.memory_probe, args.weights, args.device)
        return
    net = load_net(args.weights, args.device)
    device = net.device
    content_name, style_name = args.pair.split(",")
    content = nst.load_image(content_name, size=args.size).to(device)
    style = nst.load_image(style_name, size=args.size).to(device)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {device}; weights: {net.weights}"
    )
    shape = tuple(content.shape[-2:])
    print(f"{content_name} + {style_name} at {shape} px, at most {args.steps} steps; load {os.getloadavg()}")
    objective, layers = build_objective(net, content, style)

    plain_kept, old_kept = {}, {}
    plain_times, plain_losses, plain_evals = plain_loop(net, objective, layers, content, args.steps, keep=plain_kept)
    plain_best = min(plain_losses)
    plain_hit = first_reaching(plain_losses, plain_best)
    plain_seconds = plain_times[min(plain_hit, len(plain_times) - 1)]
    pkg_times, pkg_losses, result, evals = package_run(net, content, style, args.steps)
    pkg_hit = first_reaching(pkg_losses, plain_best)
    pkg_seconds = pkg_times[pkg_hit] if pkg_hit is not None and pkg_hit < len(pkg_times) else math.nan
    plain_step = plain_times[-1] / len(plain_times)
    pkg_step = pkg_times[-1] / len(pkg_times)

    old_times, old_losses, _ = plain_loop(net, objective, layers, content, args.steps, lr=0.5, keep=old_kept)
    old_best = min(old_losses)

    print()
    print(f"plain loop: best loss {plain_best:.5f} at step {plain_hit} ({plain_seconds:.1f} s)")
    best_so_far = list(itertools.accumulate(plain_losses, min))
    rises = [later / low for later, low in zip(plain_losses[10:], best_so_far[10:], strict=True)]
    print(f"plain loop: highest loss after step 10 / best so far: {max(rises, default=1.0):.2f}")
    print(
        f"package:    best loss {result.best_loss:.5f} at step {result.best_step}; stopped: {result.stopped} "
        f"after {result.steps_done} steps, {result.seconds:.1f} s"
        + (f" (converged at step {result.converged_step})" if getattr(result, "converged_step", None) else "")
    )
    reached = "never" if pkg_hit is None else f"step {pkg_hit}, {pkg_seconds:.1f} s"
    print(f"package reaches the plain loop's best: {reached}; time ratio {pkg_seconds / plain_seconds:.2f}")
    print(f"best loss, package / plain: {result.best_loss / plain_best:.4f}")
    for margin in (1.01, 1.005):
        target = margin * plain_best
        plain_at, pkg_at = first_reaching(plain_losses, target), first_reaching(pkg_losses, target)
        if pkg_at is None or pkg_at >= len(pkg_times):
            print(f"time to {margin:.3f}x the plain loop's best: package never")
            continue
        ratio = pkg_times[pkg_at] / plain_times[plain_at]
        print(
            f"time to {margin:.3f}x the plain loop's best: package {pkg_times[pkg_at]:.1f} s / plain "
            f"{plain_times[plain_at]:.1f} s = {ratio:.2f}"
        )
    print(
        f"the package's loop before (step 0.5, clamp, all {args.steps} steps): best loss {old_best:.5f} in "
        f"{old_times[-1]:.1f} s; the package's default run / it: time {result.seconds / old_times[-1]:.2f}, "
        f"best loss {result.best_loss / old_best:.4f}"
    )
    print(
        f"whole runs: package {result.seconds:.1f} s / plain {plain_times[-1]:.1f} s = "
        f"{result.seconds / plain_times[-1]:.2f}"
    )
    if args.save_images:
        os.makedirs(args.save_images, exist_ok=True)
        for name, image in (("plain", plain_kept["image"]), ("before", old_kept["image"]), ("package", result.image)):
            nst.save_image(image, os.path.join(args.save_images, f"{name}.png"))
        print(f"best images: {args.save_images}/plain.png, before.png, package.png")
    print(f"seconds per step: package {pkg_step:.3f} / plain {plain_step:.3f} = {pkg_step / plain_step:.2f}")
    print(f"evaluations per step: package {evals / result.steps_done:.2f}, plain {plain_evals / args.steps:.2f}")
    pkg_eval, plain_eval = pkg_times[-1] / evals, plain_times[-1] / plain_evals
    print(f"seconds per evaluation in the runs above: package {pkg_eval:.3f} / plain {plain_eval:.3f}")
    plain_eval, pkg_eval = seconds_per_evaluation(net, objective, layers, content, rounds=args.rounds)
    print(
        f"seconds per evaluation, fastest of {args.rounds} alternated 10-step runs: package {pkg_eval:.3f} / plain "
        f"{plain_eval:.3f} = {pkg_eval / plain_eval:.2f}"
    )
    gflop, rate = step_gflops(net, objective, layers, content)
    matmul = matmul_gflops(device)
    print(
        f"one step: {gflop:.2f} GFLOP at {rate:.1f} GFLOP/s = {100 * rate / matmul:.0f}% of a float32 "
        f"1024x1024 matmul here ({matmul:.1f} GFLOP/s)"
    )
    first, handler = first_preview_seconds(net, args.preview_size)
    print(
        f"first preview of a widget run at {args.preview_size} px (lesson 03's explorer): {first:.2f} s after Run "
        f"(the Run handler itself {handler:.2f} s)"
    )
    for size in [int(s) for s in args.memory_sizes.split(",") if s]:
        estimated, peak = peak_memory_mb(size, args.weights, args.device)
        kind = "GPU memory allocated" if device.type == "cuda" else "process RSS"
        print(f"peak {kind} for a {size} px transfer (2 steps): {peak:.0f} MiB (estimated before: {estimated:.0f} MiB)")
    print(f"load average at the end: {os.getloadavg()}")
    print(
        json.dumps(
            {"plain_best": plain_best, "package_best": result.best_loss, "time_ratio": pkg_seconds / plain_seconds}
        )
    )


if __name__ == "__main__":
    main()
