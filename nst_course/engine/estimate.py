"""Before a run: about how long it will take and how much memory it will need, and whether it fits.

Time comes from a short probe on this machine: a few forward and backward passes
through the network, up to the deepest layer the run uses, at the run's own size
(:func:`seconds_per_evaluation`), times the evaluations the run may make. Memory
comes from a model (:func:`run_bytes`): the feature maps autograd keeps for the
backward pass, the optimiser's state (L-BFGS keeps 50 pairs of image-sized
vectors), and the images, on top of what the process already holds. Its two
constants were fitted to peak memory measured on a CPU (``benchmarks/estimate_accuracy.py``).

:func:`check_fits` refuses a run whose memory would not fit, before anything large
is allocated, with the estimate and the largest size that fits.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import NSTError
from .loop import LBFGS_HISTORY
from .settings import Settings, plan_scales
from .vgg import LAYER_NAMES, VGG19, check_layers, describe_layers

__all__ = [
    "Estimate",
    "available_bytes",
    "check_fits",
    "estimate_run",
    "estimate_seconds",
    "in_use_bytes",
    "run_bytes",
    "seconds_per_evaluation",
    "shape_at",
]

MIB = 2**20
#: Bytes autograd holds per byte of the kept feature maps (rectified and pooled outputs up to the
#: deepest layer), the gradients of the backward pass and the losses' own tensors included; and
#: what a run adds whatever its size (targets, workspaces). Fitted to the peak resident memory of
#: fresh processes at 256 and 512 px; at 128 px it then overestimates the peak by 2%.
ACTIVATION_FACTOR = 2.2
RUN_CONSTANT = 64 * 2**20
#: Image-sized float32 vectors each optimiser keeps: L-BFGS 2 x 50 history pairs plus its
#: direction, previous gradient and the line search's copies; Adam its two moments. The loop
#: adds the best image, the last point measured and its gradient.
OPTIMIZER_VECTORS = {"lbfgs": 2 * LBFGS_HISTORY + 8, "adam": 2 + 6}
#: Loss evaluations (forward + backward passes) per step: L-BFGS's strong-Wolfe line search
#: needs an extra one now and then (1.01-1.05 measured, experiments/RESULTS.md).
EVALUATIONS_PER_STEP = {"lbfgs": 1.02, "adam": 1.0}
#: Passes each scale of a run makes besides its steps, in the probe's units: the first step's
#: line search, the targets (a forward pass of each image), the last image's loss, the images'
#: loading and resizing. Fitted with STEP_OVERHEAD (``benchmarks/estimate_accuracy.py``).
FIXED_EVALUATIONS = 5
#: A step's cost beyond one probe pass: the losses (Gram matrices of six layers, forward and
#: backward), the optimiser, the copies, and the probe being the fastest of its passes. Fitted:
#: with 0.08 a 30-step run at 128 and 256 px took 17-20% more CPU time than estimated.
STEP_OVERHEAD = 0.3
#: A run may use at most this share of the memory available when it starts.
HEADROOM = 0.9

_probe_cache: dict[tuple, float] = {}


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to cost, before it starts."""

    seconds: float
    """If every step runs; the stopping rule usually ends a run sooner."""
    peak_bytes: int
    """Peak memory of the process (CPU: resident memory; CUDA: memory allocated on the device)."""
    run_bytes: int
    """What the run adds to what is in use when it starts (the part that must fit)."""
    available: int | None
    """Memory free for it now (None: unknown on this device)."""
    steps: int
    scales: tuple[int, ...]
    device: str

    @property
    def fits(self) -> bool:
        """False when the run would need more than :data:`HEADROOM` of the memory available now."""
        return self.available is None or self.run_bytes <= HEADROOM * self.available

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MIB

    def line(self) -> str:
        """One line for a user: "about 40 s for at most 300 steps (...), peak about 900 MiB"."""
        plan = f" at {' then '.join(f'{s} px' for s in self.scales)}" if len(self.scales) > 1 else ""
        return (
            f"about {_seconds(self.seconds)} for at most {self.steps} steps{plan} (less if it converges sooner), "
            f"peak about {self.peak_mib:.0f} MiB on {self.device}"
        )


def _seconds(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


def shape_at(shape: Sequence[int], size: int) -> tuple[int, int]:
    """The (H, W) an image of ``shape`` (H, W) has once resized to longest side ``size`` (as ``resize`` does).

    >>> shape_at((480, 640), 256)
    (192, 256)
    """
    height, width = int(shape[-2]), int(shape[-1])
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _deepest(layers: Sequence[str]) -> str:
    return max(check_layers(layers), key=LAYER_NAMES.index)


def feature_bytes(shape: Sequence[int], layers: Sequence[str]) -> int:
    """Bytes of the feature maps autograd keeps through ``layers``' deepest: every rectified and pooled output."""
    deepest = LAYER_NAMES.index(_deepest(layers))
    rows = describe_layers((int(shape[0]), int(shape[1])))[: deepest + 1]
    kept = sum(int(r["channels"]) * int(r["height"]) * int(r["width"]) for r in rows if r["type"] in ("relu", "pool"))
    return 4 * (kept + 3 * int(shape[0]) * int(shape[1]))


def run_bytes(shape: Sequence[int], layers: Sequence[str], optimizer: str = "lbfgs", steps: int = 10**6) -> int:
    """Bytes a run of ``steps`` steps at (H, W) ``shape`` adds to the process: feature maps, optimiser state, images.

    L-BFGS keeps one pair of vectors per step, up to its history of 50.
    """
    image = 4 * 3 * int(shape[0]) * int(shape[1])
    vectors = OPTIMIZER_VECTORS.get(optimizer, OPTIMIZER_VECTORS["lbfgs"])
    if optimizer == "lbfgs":
        vectors -= 2 * max(0, LBFGS_HISTORY - steps)
    return int(ACTIVATION_FACTOR * feature_bytes(shape, layers) + vectors * image + RUN_CONSTANT)


def in_use_bytes(device: torch.device | str) -> int:
    """Memory the process holds now: resident memory on a CPU, memory allocated on a CUDA device."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.memory_allocated(device))
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except Exception:
            return 0


def available_bytes(device: torch.device | str) -> int | None:
    """Memory a run could still take: free CUDA memory, or the CPU's MemAvailable; None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def seconds_per_evaluation(
    net: VGG19, shape: Sequence[int], layers: Sequence[str], *, repeats: int = 2, batch: int = 1
) -> float:
    """Seconds one forward and backward pass to ``layers``' deepest takes at (H, W) ``shape``, measured now.

    ``batch`` images go through at once, as a batched run sends them (a batch is cheaper
    than as many single passes, most of all on small images).

    One warm-up pass, then the fastest of ``repeats``. Remembered per network, shape and
    layer for this process. Draws from its own generator: the global random state is untouched.
    """
    deepest = _deepest(layers)
    key = (id(net), str(net.device), tuple(int(s) for s in shape), deepest, int(batch))
    if key in _probe_cache:
        return _probe_cache[key]
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((int(batch), 3, int(shape[0]), int(shape[1])), generator=generator)
    x = x.to(net.device).requires_grad_(True)

    def one_pass() -> None:
        net(x, [deepest])[deepest].pow(2).mean().backward()
        if net.device.type == "cuda":
            torch.cuda.synchronize(net.device)

    one_pass()
    best = math.inf
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        one_pass()
        best = min(best, time.perf_counter() - start)
    _probe_cache[key] = best
    return best


def estimate_run(
    net: VGG19,
    *,
    shape: Sequence[int],
    layers: Sequence[str],
    steps: int,
    scales: Sequence[int] = (),
    optimizer: str = "lbfgs",
    runs: int = 1,
    probe: bool = True,
    batch: int = 1,
) -> Estimate:
    """Time and peak memory of ``runs`` runs of at most ``steps`` steps on an image of (H, W) ``shape``.

    ``batch``: images optimised together in one run (e.g. the channels of an atlas), timed as one
    batched pass rather than as ``batch`` runs.

    ``scales`` are the sizes of a coarse-to-fine run (each takes an even share of the
    steps); empty means one scale, ``shape`` itself. ``probe=False`` skips the timed
    passes (memory only; ``seconds`` is then NaN).
    """
    size = max(int(shape[0]), int(shape[1]))
    plan = tuple(scales) or (size,)
    shapes = [shape_at(shape, s) for s in plan]
    shares = [steps // len(plan) + (i < steps % len(plan)) for i in range(len(plan))]
    now = in_use_bytes(net.device)  # before the probe, whose passes grow the process too
    seconds = math.nan
    if probe:
        per_step = EVALUATIONS_PER_STEP.get(optimizer, 1.0) * (1 + STEP_OVERHEAD)
        seconds = runs * sum(
            (n * per_step + FIXED_EVALUATIONS) * seconds_per_evaluation(net, s, layers, batch=batch)
            for s, n in zip(shapes, shares, strict=True)
        )
    extra = batch * max(run_bytes(s, layers, optimizer, steps) for s in shapes)
    return Estimate(
        seconds=seconds,
        peak_bytes=now + extra,
        run_bytes=extra,
        available=available_bytes(net.device),
        steps=steps,
        scales=plan,
        device=str(net.device),
    )


def estimate_seconds(net: VGG19, image: torch.Tensor, *, layers: Sequence[str], steps: int, runs: int = 1) -> float:
    """About how long ``runs`` optimisations of at most ``steps`` steps on ``image``'s size will take.

    :func:`estimate_run`'s time, in the shape the lessons ask for it. The stopping rule
    often ends a run sooner.
    """
    shape = tuple(int(n) for n in image.shape[-2:])
    return estimate_run(net, shape=shape, layers=check_layers(layers), steps=steps, runs=runs).seconds


def check_fits(
    shape: Sequence[int],
    layers: Sequence[str],
    *,
    optimizer: str,
    device: torch.device | str,
    steps: int = 10**6,
    what: str = "run",
) -> None:
    """Refuse, with one line, a run at (H, W) ``shape`` whose memory would not fit in what is available now."""
    available = available_bytes(device)
    if available is None:
        return
    need = run_bytes(shape, layers, optimizer, steps)
    if need <= HEADROOM * available:
        return
    size = max(int(shape[0]), int(shape[1]))
    fits = next(
        (
            s
            for s in range(size - 16, 15, -16)
            if run_bytes(shape_at(shape, s), layers, optimizer, steps) <= HEADROOM * available
        ),
        None,
    )
    advice = f"use a size of at most {fits} px" if fits else "free some memory or use shallower layers"
    raise NSTError(
        f"a {size} px {what} needs about {need / MIB:.0f} MiB more memory on {torch.device(device)}, "
        f"but only {available / MIB:.0f} MiB are available: {advice}"
    )


#: Which of a run's layers each task optimises.
TASKS = ("transfer", "reconstruct", "texture")


def task_layers(settings: Settings, task: str = "transfer") -> list[str]:
    """The layers a ``task`` ("transfer", "reconstruct" or "texture") with ``settings`` runs the network through."""
    if task not in TASKS:
        raise NSTError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    content = list(settings.content_layers) if task in ("transfer", "reconstruct") else []
    return content + (list(settings.style_layers) if task in ("transfer", "texture") else [])


def estimate_settings(
    net: VGG19, settings: Settings, *, shape: Sequence[int], task: str = "transfer", runs: int = 1, probe: bool = True
) -> Estimate:
    """:func:`estimate_run` for a run of ``settings`` on an image of ``shape`` (any size: resized as the run will)."""
    return estimate_run(
        net,
        shape=shape_at(shape, settings.size),
        layers=task_layers(settings, task),
        steps=settings.steps,
        scales=plan_scales(settings),
        optimizer=settings.optimizer,
        runs=runs,
        probe=probe,
    )
