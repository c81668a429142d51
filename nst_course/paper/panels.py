"""Running a figure's panels: what each panel is (:class:`Plan`), what it gave (:class:`Panel`), the figure.

:func:`run_panels` runs every plan with the one loop (:func:`nst_course.engine.tasks.transfer`)
under one progress bar; Ctrl-C ends it and keeps the panels already finished.
:func:`finish` runs a figure's plans and draws it; :class:`PaperFigure` is the outcome,
which shows itself in a notebook and saves itself with every panel's settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..engine.result import Result
from ..engine.settings import Settings, replace_settings
from ..engine.tasks import build_objective, transfer
from ..engine.vgg import VGG19
from ..errors import NSTError
from ..media.images import ImageSource, load_image, resize
from ..media.paintings import load_painting
from ..media.samples import is_sample
from .alphabeta import LossScales, format_ratio
from .specs import SIZE, STEPS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FigureRun",
    "Panel",
    "PanelCallback",
    "PaperFigure",
    "Plan",
    "base_settings",
    "finish",
    "input_image",
    "panel_record",
    "run_panels",
    "save_panel",
    "split_figure_options",
    "translated_weights",
]

PanelCallback = Callable[[int, int, Mapping[str, float], torch.Tensor], "bool | None"]
"""``callback(panel_index, step, losses, image)``; return True to stop the figure."""


@dataclass(frozen=True)
class Plan:
    """One panel to run: its images, its settings and what the figure records about it."""

    key: str
    label: str
    content: torch.Tensor
    style: torch.Tensor
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """A finished panel: its key (file name), its label in the figure, and its result."""

    key: str
    label: str
    result: Result

    @property
    def image(self) -> torch.Tensor:
        return self.result.image


@dataclass
class PaperFigure:
    """One of the paper's figures as run here: the finished panels and the figure drawn from them."""

    number: int
    title: str
    panels: list[Panel]
    planned: list[str]
    """The keys of every panel the figure was to have, in order."""
    inputs: dict[str, tuple[torch.Tensor, str]]
    """The images it was made from, by role, each with its caption."""
    figure: Any
    interrupted: bool
    network: dict[str, Any]

    def show(self) -> Figure:
        """The figure (a notebook shows it when a cell ends with ``fig.show()``)."""
        return self.figure

    def _repr_png_(self) -> bytes:
        """A notebook shows the figure itself."""
        from ..media.canvas import figure_png

        return figure_png(self.figure)

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else "complete" if self.complete else "partial"
        return f"<Fig. {self.number}: {len(self.panels)} of {len(self.planned)} panels, {state}>"

    @property
    def complete(self) -> bool:
        return not self.interrupted and len(self.panels) == len(self.planned)

    def panel(self, key: str) -> Panel:
        for panel in self.panels:
            if panel.key == key:
                return panel
        raise NSTError(f"Fig. {self.number} has no finished panel {key!r}; it has {[p.key for p in self.panels]}")

    def metadata(self) -> dict[str, Any]:
        """What the figure's PNG records: each panel's settings and outcome, the network, the versions."""
        versions = self.panels[0].result.metadata()["nst-course:versions"] if self.panels else {}
        return {
            "Software": f"nst-course {versions.get('nst-course', '')}".strip(),
            "nst-course:figure": {
                "number": self.number,
                "title": self.title,
                "planned": self.planned,
                "interrupted": self.interrupted,
                "inputs": {role: caption for role, (_, caption) in self.inputs.items()},
                "panels": [
                    {
                        "key": p.key,
                        "label": p.label,
                        "settings": p.result.settings,
                        "extra": p.result.extra,
                        "final_loss": p.result.best_loss,
                        "seconds": round(p.result.seconds, 3),
                    }
                    for p in self.panels
                ],
            },
            "nst-course:network": self.network,
            "nst-course:weights": str(self.network.get("weights", "")),
            "nst-course:versions": versions,
        }

    def save(self, folder: str | Path, *, panels: bool = True) -> list[Path]:
        """Write ``figN.png`` (with metadata) and, with ``panels``, ``figN-<panel>.png`` for each finished panel."""
        from ..media.files import atomic_write

        folder = Path(folder).expanduser()
        written = [save_panel(self.number, p, folder) for p in self.panels] if panels else []
        meta = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in self.metadata().items()}
        path = folder / f"fig{self.number}.png"
        atomic_write(path, lambda fh: self.figure.savefig(fh, format="png", dpi=110, metadata=meta))
        return [path, *written]


def save_panel(number: int, panel: Panel, folder: str | Path) -> Path:
    """Write one panel's image as ``fig<number>-<key>.png`` with its result's metadata."""
    return panel.result.save(str(Path(folder).expanduser() / f"fig{number}-{panel.key}.png"))


def measure(net: VGG19, image: torch.Tensor, plan: Plan) -> dict[str, float]:
    """The panel's unweighted content and style losses (its own normalisation), measured on ``image``."""
    unweighted = replace_settings(plan.settings, {"content_weight": 1.0, "style_weight": 1.0})
    size = max(image.shape[-2:])
    objective = build_objective(
        net,
        unweighted,
        content=resize(plan.content, size).to(net.device),
        style=resize(plan.style, size).to(net.device),
    )
    with torch.no_grad():
        terms = objective(net(image.to(net.device), objective.layers), image)
    return {
        "content_loss": sum(float(v) for k, v in terms.items() if k.startswith("content")),
        "style_loss": sum(float(v) for k, v in terms.items() if k.startswith("style")),
    }


def run_panels(
    plans: Sequence[Plan],
    net: VGG19,
    *,
    description: str,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
) -> tuple[list[Panel], bool]:
    """Run every plan with the one loop under one progress bar; stop at Ctrl-C and keep the finished ones.

    ``progress`` is True, False, or a progress bar of the caller's (one bar for
    several figures) that is advanced one step at a time and left open.
    Returns the finished panels and whether the figure was cut short. A panel
    cut short is not kept: half a panel would misrepresent the figure.
    """
    from tqdm.auto import tqdm

    done: list[Panel] = []
    owned = not hasattr(progress, "update")
    total = sum(p.settings.steps for p in plans)
    bar = tqdm(total=total, desc=description, unit="step", disable=not progress) if owned else progress
    interrupted = False
    try:
        for index, plan in enumerate(plans):

            def step(k: int, losses: Mapping[str, float], image: torch.Tensor, *, index: int = index) -> bool | None:
                bar.update(1)
                return callback(index, k, losses, image) if callback else None

            try:
                result = transfer(
                    plan.content, plan.style, settings=plan.settings, net=net, callback=step, progress=False
                )
                if result.stopped not in ("finished", "converged"):
                    interrupted = True
                    break
                bar.update(plan.settings.steps - result.steps_done)  # the steps a converged panel did not need
                extra = {**result.extra, **plan.extra, **measure(net, result.image, plan)}
            except KeyboardInterrupt:
                interrupted = True
                break
            panel = Panel(plan.key, plan.label, dataclasses.replace(result, extra=extra))
            done.append(panel)
            if on_panel is not None:
                on_panel(panel)
    finally:
        if owned:
            bar.close()
    return done, interrupted


@dataclass(frozen=True)
class FigureRun:
    """How a figure is run, apart from its network and settings: the progress bar and the callbacks.

    ``progress``: True, False, or a progress bar of the caller's (see :func:`run_panels`).
    ``callback(panel_index, step, losses, image)`` may return True to stop the figure;
    ``on_panel(panel)`` is called as each panel finishes (the command line saves it then).
    """

    progress: Any = True
    callback: PanelCallback | None = None
    on_panel: Callable[[Panel], None] | None = None


_RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(FigureRun))


def split_figure_options(options: Mapping[str, Any]) -> tuple[FigureRun, dict[str, Any]]:
    """A figure's keyword options as its :class:`FigureRun` and the settings they change.

    >>> run, overrides = split_figure_options({"progress": False, "size": 32})
    >>> run.progress, overrides
    (False, {'size': 32})
    """
    run = FigureRun(**{k: v for k, v in options.items() if k in _RUN_FIELDS})
    return run, {k: v for k, v in options.items() if k not in _RUN_FIELDS}


def input_image(source: ImageSource, size: int) -> tuple[torch.Tensor, str]:
    """An input at ``size`` with its caption (a painting's title, or its stand-in's name and why)."""
    if isinstance(source, str) and is_sample(source):
        return load_painting(source, size=size)
    image = load_image(source, size=size)
    return image, source if isinstance(source, str) else "the given image"


def base_settings(settings: Settings | None, overrides: Mapping[str, Any], **defaults: Any) -> Settings:
    """``settings`` (else :data:`SIZE` px, :data:`STEPS` steps), then the figure's own choices, then ``overrides``.

    >>> base = base_settings(None, {"steps": 5}, init="noise")
    >>> base.size, base.steps, base.init
    (64, 5, 'noise')
    """
    values = {**defaults, **overrides}
    return replace_settings(settings or replace_settings(None, {"size": SIZE, "steps": STEPS}), values)


def translated_weights(scales: LossScales, ratio: float, base: Settings) -> dict[str, Any]:
    """The weights (alpha = 1, beta) that mean the paper's alpha/beta ``ratio`` under ``base``'s normalisation."""
    beta = scales.style_weight(ratio, base.normalization)
    return {"style_weight": beta, "content_weight": 1.0}


def panel_record(number: int, *, ratio: float, scales: LossScales, base: Settings, **more: Any) -> dict[str, Any]:
    """What a panel of Fig. ``number`` records beside its settings: the paper's alpha/beta and its translation."""
    beta = scales.style_weight(ratio, base.normalization)
    return {
        "figure": number,
        "paper_alpha_over_beta": ratio,
        "translation": f"paper alpha/beta {format_ratio(ratio)} -> beta {beta:.4g} with {base.normalization} "
        f"normalisation, measured on {scales.reference}",
        **more,
    }


def finish(
    number: int,
    *,
    title: str,
    plans: Sequence[Plan],
    net: VGG19,
    inputs: dict[str, tuple[torch.Tensor, str]],
    draw: Callable[[list[Panel], str], Figure],
    run: FigureRun,
) -> PaperFigure:
    """Run Fig. ``number``'s ``plans`` (:func:`run_panels`) and draw it with ``draw(panels, title)``."""
    panels, interrupted = run_panels(
        plans, net, description=f"Fig. {number}", progress=run.progress, callback=run.callback, on_panel=run.on_panel
    )
    base = plans[0].settings
    subtitle = (
        f"{net.weights} weights · {base.size} px · {base.steps} steps · {base.normalization} normalisation, "
        f"β translated from the paper's α/β"
    )
    if interrupted:
        subtitle += f" · interrupted: {len(panels)} of {len(plans)} panels"
    figure = draw(panels, f"Fig. {number}: {title}\n{subtitle}")
    return PaperFigure(
        number=number,
        title=title,
        panels=panels,
        planned=[p.key for p in plans],
        inputs=inputs,
        figure=figure,
        interrupted=interrupted,
        network=net.describe(),
    )
