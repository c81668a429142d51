"""What a run gives back: :class:`Result`, built in one place (:func:`result_of`).

The loop (``nst_course.engine.loop``) records what each of its calls saw in a
:class:`Trace`; a run of one or more such calls (one per
scale, coarse to fine) becomes one :class:`Result`: the best image, every loss, and a
true record of how it was made, which it saves inside the PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import NSTError
from ..media.images import save_image

__all__ = ["OptimizationError", "Result", "Trace", "result_of"]


@dataclass(frozen=True)
class Result:
    """What a run gives back: the best image, every loss, and a true record of how it was made."""

    image: torch.Tensor
    """(1, 3, H, W) on the CPU, in [0, 1]: the image with the lowest total loss."""
    history: dict[str, list[float]]
    """Loss per step for each term and for "total" (the value before that step's update)."""
    settings: dict[str, Any]
    """The settings of the run (``Settings.as_dict()``, or the loop's own when called directly)."""
    network: dict[str, Any]
    """The network actually used: ``VGG19.describe()`` (weights, kind, pretrained, pooling)."""
    best_step: int
    """How many steps had been taken when the kept image was measured (0: the start image)."""
    best_loss: float | None
    """The kept image's total loss (it may be lower than every value in ``history``: the image
    after the last step is measured too, and the history holds each step's starting loss)."""
    steps_done: int
    stopped: str = "finished"
    """"converged" (the stopping rule ended it), "finished" (all ``steps`` done), "stopped"
    (the callback asked), "interrupted" (Ctrl-C) or "error"."""
    seconds: float = 0.0
    converged_step: int | None = None
    """The step at which the stopping rule found the run converged (``Settings.stop_tolerance``); None if never."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else the task wants recorded (e.g. the scales of a coarse-to-fine run)."""

    @property
    def weights(self) -> str:
        """The weights the network carried, in words."""
        return str(self.network.get("weights", ""))

    @property
    def loss_drop(self) -> float:
        """Fraction by which the total loss fell from the first step to the best (0.9 = 90%)."""
        total = self.history.get("total", [])
        if not total or total[0] == 0 or self.best_loss is None:
            return 0.0
        return 1.0 - self.best_loss / total[0]

    def metadata(self) -> dict[str, Any]:
        """What is saved inside the PNG: settings, network, seed, outcome and versions."""
        from importlib import metadata

        import PIL

        from .._version import __version__

        return {
            "Software": f"nst-course {__version__}",
            "nst-course:settings": self.settings,
            "nst-course:network": self.network,
            "nst-course:weights": self.weights,
            "nst-course:seed": self.settings.get("seed"),
            "nst-course:result": {
                "stopped": self.stopped,
                "best_step": self.best_step,
                "steps_done": self.steps_done,
                "converged_step": self.converged_step,
                "final_loss": self.best_loss,
                "seconds": round(self.seconds, 3),
                **self.extra,
            },
            "nst-course:versions": {
                "nst-course": __version__,
                "torch": torch.__version__,
                "torchvision": metadata.version("torchvision"),  # read, not imported: importing costs ~80 MiB
                "pillow": PIL.__version__,
            },
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Any:
        """Save the image as PNG with the settings, seed, versions and network inside.

        ``overwrite=False`` never replaces an existing file (see :func:`~nst_course.media.files.atomic_write`).
        """
        return save_image(self.image, path, metadata=self.metadata(), overwrite=overwrite)


class OptimizationError(NSTError):
    """The loss stopped being a finite number; ``.result`` holds the last good image."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Trace:
    """What one call of the loop saw; :func:`result_of` turns one or more of these into a :class:`Result`."""

    best_image: torch.Tensor
    best_loss: float = math.inf
    best_step: int = 0
    steps_done: int = 0
    stopped: str = "finished"
    history: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    """Why the run failed (a non-finite loss), else None."""
    converged_step: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """What the loop ran with: steps, optimizer, learning_rate, stop_tolerance, stop_window."""


def result_of(
    traces: Sequence[Trace],
    *,
    settings: dict[str, Any],
    network: dict[str, Any],
    seconds: float,
    image: torch.Tensor | None = None,
    extra: dict[str, Any] | None = None,
) -> Result:
    """THE place a :class:`Result` is built: from the traces of one run (one per scale, in order).

    Steps and the histories add up over the traces; the best image and loss are the
    last trace's (each scale continues from the one before). ``image`` replaces
    that best image (a task resizes one cut short at a coarse scale).

    >>> coarse = Trace(best_image=torch.zeros(1, 3, 8, 8), best_loss=2.0, best_step=3, steps_done=4)
    >>> fine = Trace(best_image=torch.zeros(1, 3, 16, 16), best_loss=1.0, best_step=1, steps_done=2)
    >>> result = result_of([coarse, fine], settings={}, network={}, seconds=0.5)
    >>> result.steps_done, result.best_step, result.best_loss, tuple(result.image.shape)
    (6, 5, 1.0, (1, 3, 16, 16))
    """
    history: dict[str, list[float]] = {}
    for trace in traces:
        for name, values in trace.history.items():
            history.setdefault(name, []).extend(values)
    last = traces[-1]
    before = sum(trace.steps_done for trace in traces[:-1])
    return Result(
        image=last.best_image if image is None else image,
        history=history,
        settings=settings,
        network=network,
        best_step=before + last.best_step,
        best_loss=last.best_loss if math.isfinite(last.best_loss) else None,
        steps_done=before + last.steps_done,
        stopped=last.stopped,
        seconds=seconds,
        converged_step=None if last.converged_step is None else before + last.converged_step,
        extra=extra or {},
    )
