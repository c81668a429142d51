"""The paper's experiments, Fig. 3 to 7 of Gatys, Ecker & Bethge (2016), each one call away.

``figure3()`` ... ``figure7()`` run the panels of one figure with the one loop
(:func:`nst_course.engine.tasks.transfer`), with the figure's own choices as defaults
(paintings, layer sets, alpha/beta, start images, seeds) and small sizes for a
CPU, and return a :class:`PaperFigure`: every panel's
:class:`~nst_course.engine.loop.Result` (its settings, plus the figure's own values in
``extra``) and a matplotlib figure laid out and labelled like the paper's. One
progress bar covers the whole figure; Ctrl-C ends it and keeps the panels
already finished.

Translating alpha/beta. The paper's ratios (1e-3 and so on) are numbers on its
own loss scales: eq. (1) and (4) on a copy of VGG-19 rescaled so that every
filter's mean activation is 1, at about 512 px. :func:`loss_scales` measures, for
the given images and network, what each common normalisation makes of the two
losses, and :meth:`LossScales.style_weight` turns a paper alpha/beta into the beta
(alpha = 1) that weighs the two terms the same way under another normalisation.
Every panel runs with that translated beta, so a column of Fig. 4 means what the
paper's column meant.

>>> format_ratio(1e-3), format_ratio(8e-4)
('1e-03', '8e-04')
>>> [row[-1] for row in growing_layer_sets(("conv1_1", "conv2_1", "conv3_1"))]
['conv1_1', 'conv2_1', 'conv3_1']
>>> same_kind_layer(2, 2, like="relu4_2"), same_kind_layer(2, 2, like="conv4_2")
('relu2_2', 'conv2_2')
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..engine.estimate import estimate_seconds
from ..engine.loop import Result
from ..engine.losses import content_loss, gram_matrix, layer_style_loss
from ..engine.settings import Settings, replace_settings
from ..engine.tasks import build_objective, check_size, network_for, transfer
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19, with_pooling
from ..errors import NSTError
from ..media.images import ImageSource, load_image, resize
from ..media.paintings import load_painting
from ..media.samples import is_sample

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "NORMALISATION_LABELS",
    "LossScales",
    "Panel",
    "PaperFigure",
    "estimate_figure_seconds",
    "figure3",
    "figure4",
    "figure5",
    "figure6",
    "figure7",
    "loss_scales",
    "plot_normalisations",
    "trade_off",
    "tutorial_losses",
]

#: The paper's images are "about 512 px", taken here as the longest side (the authors' own code
#: sets the *shorter* side to 512 px, which for a 3:2 photo is 1.5x as many pixels across).
#: Its content loss is a sum over positions, so its alpha/beta depends on the size:
#: ``loss_scales(..., paper_size=PAPER_SIZE)`` translates for the paper's size, where the same
#: alpha/beta gives the style less weight.
PAPER_SIZE = 512
#: Small defaults for a CPU: every figure can be rerun bigger with ``size=`` and ``steps=``.
SIZE, STEPS = 64, 40

#: Fig. 3: one photo, five paintings, each with its own alpha/beta (panels B to F).
#: Picasso's Femme nue assise is not in the public domain; Juan Gris's portrait of Picasso stands in.
FIG3_STYLES = ("shipwreck", "starry_night", "the_scream", "portrait_of_picasso", "composition_vii")
FIG3_RATIOS = (1e-3, 8e-4, 5e-3, 5e-4, 5e-4)
#: Fig. 4: rows are growing sets of style layers, columns alpha/beta, one decade apart.
FIG4_STYLE = "composition_vii"
FIG4_RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)
FIG5_RATIO = FIG6_RATIO = 1e-3
FIG6_SEEDS = (0, 1, 2, 3)
FIG7_RATIO = 1e-2

#: What each normalisation is, in words (the keys of :class:`LossScales`).
NORMALISATION_LABELS = {
    "paper-rescaled": "paper, on its rescaled network",
    "paper": "paper, eq. (1) and (4), this network",
    "relative": "relative (this package's default)",
    "tutorial": "PyTorch tutorial: its own layers, sums, max pooling",
    "mean": "mean squared error",
}

#: The PyTorch tutorial's layers, in this package's names. Its ``conv_4`` counts
#: convolutions, so it is conv2_2; its ``conv_1`` ... ``conv_5`` are conv1_1, conv1_2,
#: conv2_1, conv2_2 and conv3_1. It attaches its losses after torchvision's ``Conv2d``
#: modules, before the ReLU, and keeps torchvision's max pooling.
TUTORIAL_CONTENT_LAYER = "conv2_2"
TUTORIAL_STYLE_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")
TUTORIAL_POOLING = "max"

PanelCallback = Callable[[int, int, Mapping[str, float], torch.Tensor], "bool | None"]
"""``callback(panel_index, step, losses, image)``; return True to stop the figure."""


def format_ratio(ratio: float) -> str:
    """An alpha/beta as the paper writes it, one significant figure: ``1e-03``."""
    return f"{ratio:.0e}"


def growing_layer_sets(layers: Sequence[str] = STYLE_LAYERS) -> list[tuple[str, ...]]:
    """The rows of Fig. 4: the first layer, the first two, ... all of ``layers``."""
    return [tuple(layers[: n + 1]) for n in range(len(layers))]


def same_kind_layer(block: int, index: int, *, like: str = CONTENT_LAYER) -> str:
    """The layer ``block_index`` of the same kind ("conv" or "relu") as ``like``."""
    kind = re.match(r"[a-z]+", like)
    return f"{kind.group() if kind else 'conv'}{block}_{index}"


def short_caption(caption: str) -> str:
    """A painting's caption short enough for a panel title; a stand-in still names what it stands for.

    >>> short_caption("The Scream, Edvard Munch (1893)")
    'The Scream'
    >>> short_caption("'waves' (built-in stand-in: The Scream is not downloaded)")
    "'waves' for The Scream"
    """
    stand_in = re.fullmatch(r"(.*) \(built-in stand-in: (.*) is not downloaded\)", caption)
    if stand_in:
        return f"{stand_in.group(1)} for {stand_in.group(2)}"
    return caption.split(", ")[0].split(" (")[0]


def layer_set_name(layers: Sequence[str]) -> str:
    """``conv1_1`` or ``conv1_1 … conv3_1``: a row of Fig. 4 by its first and last layer."""
    return layers[0] if len(layers) == 1 else f"{layers[0]} … {layers[-1]}"


# ------------------------------------------------------------------ translating alpha/beta


@dataclass(frozen=True)
class LossScales:
    """The content and style losses of one reference image under each normalisation.

    Keys are those of :data:`NORMALISATION_LABELS`. Only the ratio of the two
    losses under one normalisation matters: it says how big the style term is
    next to the content term before the weights multiply them.
    """

    content: dict[str, float]
    style: dict[str, float]
    reference: str
    """What the losses were measured on, in words."""

    def balance(self, normalization: str) -> float:
        """Style loss divided by content loss under ``normalization``."""
        if normalization not in self.content:
            raise NSTError(f"no normalisation {normalization!r}; choose one of {', '.join(self.content)}")
        return self.style[normalization] / self.content[normalization]

    def style_weight(self, paper_ratio: float, normalization: str = "relative") -> float:
        """beta (with alpha = 1) under ``normalization`` that weighs the terms as the paper's alpha/beta did.

        The paper's alpha/beta makes the style term ``balance("paper-rescaled") / ratio``
        times the content term on the reference image; this beta does the same here.
        """
        if not (isinstance(paper_ratio, (int, float)) and paper_ratio > 0):
            raise NSTError(f"alpha/beta must be a number > 0, not {paper_ratio!r}")
        return self.balance("paper-rescaled") / paper_ratio / self.balance(normalization)

    def paper_ratio(self, style_weight: float, normalization: str, content_weight: float = 1.0) -> float:
        """The paper's alpha/beta that a tutorial's (content_weight, style_weight) amounts to."""
        if not (style_weight > 0 and content_weight > 0):
            raise NSTError("both weights must be > 0 to compare them")
        return self.balance("paper-rescaled") / (style_weight / content_weight * self.balance(normalization))


def _rescaling(features: Sequence[Mapping[str, torch.Tensor]], name: str) -> float:
    """The mean rectified activation of layer ``name`` over these images: what the paper's network divides by.

    The paper rescaled each channel to a mean of 1 over ImageNet. Over two images
    some channels are almost silent, and dividing by their tiny means would blow
    them up; the layer's mean keeps the layer's scale, which is what sets the
    balance of the losses, without that.
    """
    mean = float(torch.stack([f[name].clamp(min=0).mean() for f in features]).mean())
    return mean if mean > 0 else 1.0


def tutorial_losses(
    net: VGG19, content: torch.Tensor, style: torch.Tensor, reference: torch.Tensor
) -> tuple[float, float]:
    """The PyTorch tutorial's content and style loss of ``reference``, with ``net``'s weights.

    The tutorial's objective, in its own conventions: the content loss is the mean
    squared error of conv2_2 (its ``conv_4``); each style layer's loss is the mean
    squared error of Gram matrices divided by C·H·W, and the five layers
    (:data:`TUTORIAL_STYLE_LAYERS`) are *summed*, not averaged; the network max-pools.
    With ``content_weight`` alpha and ``style_weight`` beta the tutorial minimises
    ``alpha * content + beta * style``.
    """
    tutorial_net = with_pooling(net, TUTORIAL_POOLING)
    layers = [TUTORIAL_CONTENT_LAYER, *TUTORIAL_STYLE_LAYERS]
    device = net.device
    with torch.no_grad():
        fc = tutorial_net(content.to(device), [TUTORIAL_CONTENT_LAYER])
        fs, fx = (tutorial_net(image.to(device), layers) for image in (style, reference))
    content_term = float(content_loss(fx[TUTORIAL_CONTENT_LAYER], fc[TUTORIAL_CONTENT_LAYER], normalization="mean"))
    # "mean" divides the squared error of G / (H·W) by C², the tutorial's of G / (C·H·W) by C² again
    style_term = sum(
        float(layer_style_loss(fx[n], gram_matrix(fs[n]), normalization="mean")) / fx[n].shape[1] ** 2
        for n in TUTORIAL_STYLE_LAYERS
    )
    return content_term, style_term


def loss_scales(
    net: VGG19,
    content: torch.Tensor,
    style: torch.Tensor,
    *,
    settings: Settings | None = None,
    reference: torch.Tensor | None = None,
    paper_size: int | None = None,
) -> LossScales:
    """Measure, on these images and this network, what each normalisation makes of the two losses.

    ``content`` and ``style`` are images at the size the run will use; the losses
    are those of ``reference`` (default: white noise from ``settings.seed``, the
    paper's start) against them, with the layers of ``settings`` and 1/L per
    style layer. "paper-rescaled" divides every channel by its mean rectified
    activation over the two images (the paper rescaled its network so that this
    mean is 1 over ImageNet) and scales the content loss, a sum over positions, up
    to ``paper_size``. "tutorial" is the PyTorch tutorial's objective in its own
    conventions (:func:`tutorial_losses`): its own layers (conv2_2; conv1_1 ...
    conv3_1, before the ReLU), its sum over the five style layers and its max
    pooling, with ``net``'s weights; ``settings`` does not change it.
    """
    settings = settings or Settings()
    content_layers, style_layers = list(settings.content_layers), list(settings.style_layers)
    layers = [*content_layers, *style_layers]
    check_size(tuple(content.shape[-2:]), layers)
    if reference is None:
        generator = torch.Generator().manual_seed(settings.seed)
        reference = torch.rand((1, 3, *content.shape[-2:]), generator=generator)
        described = f"white noise (seed {settings.seed})"
    else:
        described = "the given image"
    device = net.device
    with torch.no_grad():
        fc, fs, fx = (net(image.to(device), layers) for image in (content, style, reference))
    factors = {name: _rescaling([fc, fs], name) for name in layers}
    area = (paper_size / max(reference.shape[-2:])) ** 2 if paper_size else 1.0
    c_scale: dict[str, float] = {}
    s_scale: dict[str, float] = {}
    for norm in ("paper", "relative", "mean"):
        c_scale[norm] = sum(float(content_loss(fx[n], fc[n], normalization=norm)) for n in content_layers)
        c_scale[norm] /= len(content_layers)
        s_scale[norm] = sum(
            float(layer_style_loss(fx[n], gram_matrix(fs[n]), normalization=norm)) for n in style_layers
        ) / len(style_layers)
    c_scale["tutorial"], s_scale["tutorial"] = tutorial_losses(net, content, style, reference)
    c_scale["paper-rescaled"] = (
        area
        * sum(
            float(content_loss(fx[n] / factors[n], fc[n] / factors[n], normalization="paper")) for n in content_layers
        )
        / len(content_layers)
    )
    s_scale["paper-rescaled"] = sum(
        float(layer_style_loss(fx[n] / factors[n], gram_matrix(fs[n] / factors[n]), normalization="paper"))
        for n in style_layers
    ) / len(style_layers)
    order = list(NORMALISATION_LABELS)
    h, w = reference.shape[-2:]
    scaled = f" (the paper's content loss scaled to {paper_size} px)" if paper_size else ""
    return LossScales(
        content={k: c_scale[k] for k in order},
        style={k: s_scale[k] for k in order},
        reference=f"{described}, {w}x{h} px{scaled}, {net.weights}",
    )


def plot_normalisations(scales: LossScales, ratios: Sequence[float] = FIG4_RATIOS, *, title: str | None = None):
    """One picture: each normalisation's content and style loss (left), and the paper's alpha/beta in each (right)."""
    from ..media.canvas import new_figure

    names = list(NORMALISATION_LABELS)
    fig = new_figure(12.5, 4.2)
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    positions = range(len(names))
    left.bar([p - 0.2 for p in positions], [scales.content[n] for n in names], 0.4, label="content loss")
    left.bar([p + 0.2 for p in positions], [scales.style[n] for n in names], 0.4, label="style loss")
    left.set_yscale("log")
    labels = [textwrap.fill(NORMALISATION_LABELS[n], 16) for n in names]
    left.set_xticks(list(positions), labels, fontsize=7)
    left.set_ylabel("loss of the reference image")
    left.legend(fontsize=8)
    left.set_title(f"The same two losses, five scales\n({scales.reference})", fontsize=9)
    right.axis("off")
    header = ["paper α/β", *(n for n in names if n != "paper-rescaled")]
    rows = [
        [format_ratio(r), *(f"{scales.style_weight(r, n):.3g}" for n in names if n != "paper-rescaled")] for r in ratios
    ]
    table = right.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.6)
    right.set_title("β (with α = 1) that weighs the terms as the paper's α/β did", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# ------------------------------------------------------------------ running a figure


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

            def step(k: int, losses: Mapping[str, float], image: torch.Tensor, index: int = index) -> bool | None:
                bar.update(1)
                return callback(index, k, losses, image) if callback else None

            try:
                result = transfer(
                    plan.content, plan.style, settings=plan.settings, net=net, callback=step, progress=False
                )
                if result.stopped != "finished":
                    interrupted = True
                    break
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


def _image(source: ImageSource, size: int) -> tuple[torch.Tensor, str]:
    """An input at ``size`` with its caption (a painting's title, or its stand-in's name and why)."""
    if isinstance(source, str) and is_sample(source):
        return load_painting(source, size=size)
    image = load_image(source, size=size)
    return image, source if isinstance(source, str) else "the given image"


def _base(settings: Settings | None, overrides: Mapping[str, Any], **defaults: Any) -> Settings:
    """``settings`` (else :data:`SIZE` px, :data:`STEPS` steps), then the figure's own choices, then ``overrides``."""
    values = {**defaults, **overrides}
    return replace_settings(settings or replace_settings(None, {"size": SIZE, "steps": STEPS}), values)


def _translated(scales: LossScales, ratio: float, base: Settings) -> dict[str, Any]:
    beta = scales.style_weight(ratio, base.normalization)
    return {"style_weight": beta, "content_weight": 1.0}


def _extra(number: int, ratio: float, scales: LossScales, base: Settings, **more: Any) -> dict[str, Any]:
    beta = scales.style_weight(ratio, base.normalization)
    return {
        "figure": number,
        "paper_alpha_over_beta": ratio,
        "translation": f"paper alpha/beta {format_ratio(ratio)} -> beta {beta:.4g} with {base.normalization} "
        f"normalisation, measured on {scales.reference}",
        **more,
    }


def _finish(
    number: int,
    title: str,
    plans: Sequence[Plan],
    net: VGG19,
    inputs: dict[str, tuple[torch.Tensor, str]],
    draw: Callable[[list[Panel], str], Figure],
    *,
    progress: Any,
    callback: PanelCallback | None,
    on_panel: Callable[[Panel], None] | None,
) -> PaperFigure:
    panels, interrupted = run_panels(
        plans, net, description=f"Fig. {number}", progress=progress, callback=callback, on_panel=on_panel
    )
    base = plans[0].settings
    subtitle = (
        f"{net.weights} weights · {base.size} px · {base.steps} steps · {base.normalization} normalisation, "
        f"β translated from the paper's α/β"
    )
    if interrupted:
        subtitle += f" · interrupted: {len(panels)} of {len(plans)} panels"
    figure = draw(panels, f"Fig. {number}: {title}\n{subtitle}")
    return PaperFigure(number, title, panels, [p.key for p in plans], inputs, figure, interrupted, net.describe())


# ------------------------------------------------------------------ drawing


def _grid(rows: int, columns: int, size: float, title: str, *, aspect: float = 1.0):
    """``rows`` x ``columns`` empty axes for images ``aspect`` (height / width) tall, ``size`` inches wide."""
    from ..media.canvas import new_figure

    width = size * columns
    # about 13 characters of a 10-point title per inch: wrap what would run off a narrow figure
    lines = [part for line in title.splitlines() for part in textwrap.wrap(line, max(30, int(width * 13.5)))]
    title = "\n".join(lines)
    fig = new_figure(width, (size * aspect + 0.45) * rows + 0.4 + 0.2 * len(lines))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def _show(ax, image: torch.Tensor | None, title: str = "", *, inset: torch.Tensor | None = None) -> None:
    from ..media.images import to_pil

    if image is None:
        ax.text(0.5, 0.5, "not run", ha="center", va="center", color="grey", transform=ax.transAxes)
    else:
        ax.imshow(to_pil(image))
    if inset is not None and image is not None:
        small = ax.inset_axes([0.0, 0.0, 0.32, 0.32])
        small.imshow(to_pil(inset))
        small.set_xticks([])
        small.set_yticks([])
    ax.set_title(title, fontsize=8)


def _by_key(panels: Sequence[Panel]) -> dict[str, Panel]:
    return {p.key: p for p in panels}


# ------------------------------------------------------------------ the figures


def figure3(
    *,
    net: VGG19 | None = None,
    content: ImageSource = "town",
    styles: Sequence[ImageSource] = FIG3_STYLES,
    ratios: Sequence[float] = FIG3_RATIOS,
    settings: Settings | None = None,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
    **overrides: Any,
) -> PaperFigure:
    """Fig. 3: one photo (A) in five styles (B to F), each painting with its own alpha/beta, from white noise."""
    if len(styles) != len(ratios):
        raise NSTError(f"Fig. 3 needs one alpha/beta per painting: {len(styles)} paintings, {len(ratios)} ratios")
    net = network_for(net)
    base = _base(settings, overrides, init="noise")
    photo, photo_caption = _image(content, base.size)
    plans, inputs = [], {"content": (photo, photo_caption)}
    for letter, source, ratio in zip("BCDEFGHIJK", styles, ratios, strict=False):
        painting, caption = _image(source, base.size)
        inputs[f"style {letter}"] = (painting, caption)
        scales = loss_scales(net, photo, painting, settings=base)
        cfg = replace_settings(base, _translated(scales, ratio, base))
        label = f"{letter}: {short_caption(caption)}\nα/β = {format_ratio(ratio)} (β = {cfg.beta:.3g} here)"
        plans.append(Plan(letter, label, photo, painting, cfg, _extra(3, ratio, scales, base, style=caption)))

    def draw(panels: list[Panel], title: str):
        done = _by_key(panels)
        columns = 3
        fig, axes = _grid(
            -(-(len(plans) + 1) // columns), columns, 3.0, title, aspect=photo.shape[-2] / photo.shape[-1]
        )
        _show(axes.flat[0], photo, f"A: {photo_caption}")
        for ax, plan in zip(list(axes.flat)[1:], plans, strict=False):
            panel = done.get(plan.key)
            _show(ax, panel.image if panel else None, plan.label, inset=plan.style)
        return fig

    return _finish(
        3, "one photograph, five paintings", plans, net, inputs, draw,
        progress=progress, callback=callback, on_panel=on_panel,
    )  # fmt: skip


def figure4(
    *,
    net: VGG19 | None = None,
    content: ImageSource = "town",
    style: ImageSource = FIG4_STYLE,
    layer_sets: Sequence[Sequence[str]] | None = None,
    ratios: Sequence[float] = FIG4_RATIOS,
    settings: Settings | None = None,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
    **overrides: Any,
) -> PaperFigure:
    """Fig. 4: rows are growing sets of style layers, columns the paper's alpha/beta; from white noise.

    Rows default to the growing prefixes of :data:`~nst_course.STYLE_LAYERS`. Along
    a row beta/alpha falls from left to right: the left column weighs the style
    most (texture-like), the right the content (photo-like).
    """
    net = network_for(net)
    base = _base(settings, overrides, init="noise")
    rows = [tuple(s) for s in (layer_sets or growing_layer_sets(base.style_layers))]
    if not rows or not ratios:
        raise NSTError("Fig. 4 needs at least one layer set and one alpha/beta")
    photo, photo_caption = _image(content, base.size)
    painting, painting_caption = _image(style, base.size)
    plans = []
    for r, layers in enumerate(rows, start=1):
        row_base = replace_settings(base, {"style_layers": layers, "style_layer_weights": None})
        scales = loss_scales(net, photo, painting, settings=row_base)
        for c, ratio in enumerate(ratios, start=1):
            cfg = replace_settings(row_base, _translated(scales, ratio, row_base))
            extra = _extra(4, ratio, scales, row_base, row=r, column=c, layers=list(layers))
            plans.append(Plan(f"r{r}c{c}", f"β = {cfg.beta:.3g}", photo, painting, cfg, extra))

    def draw(panels: list[Panel], title: str):
        done = _by_key(panels)
        width = max(2.2, 6.0 / len(ratios))  # one cell alone is drawn large enough for the titles
        fig, axes = _grid(len(rows), len(ratios), width, title, aspect=photo.shape[-2] / photo.shape[-1])
        for plan in plans:
            r, c = plan.extra["row"] - 1, plan.extra["column"] - 1
            ax = axes[r][c]
            panel = done.get(plan.key)
            header = f"α/β = {format_ratio(ratios[c])}\n" if r == 0 else ""
            _show(ax, panel.image if panel else None, header + plan.label)
            if c == 0:
                ax.set_ylabel(layer_set_name(rows[r]), fontsize=9)
        fig.supxlabel(f"content: {photo_caption} · style: {painting_caption}", fontsize=8)
        return fig

    return _finish(
        4, "style layers (rows) against α/β (columns)", plans, net,
        {"content": (photo, photo_caption), "style": (painting, painting_caption)}, draw,
        progress=progress, callback=callback, on_panel=on_panel,
    )  # fmt: skip


def _pair_figure(
    number: int,
    title: str,
    net: VGG19 | None,
    content: ImageSource,
    style: ImageSource,
    ratio: float,
    variants: Sequence[tuple[str, str, dict[str, Any]]],
    settings: Settings | None,
    overrides: Mapping[str, Any],
    defaults: Mapping[str, Any],
    progress: Any,
    callback: PanelCallback | None,
    on_panel: Callable[[Panel], None] | None,
) -> PaperFigure:
    """Fig. 5, 6 and 7: one photo, one style, one alpha/beta, and panels that differ in one setting each."""
    net = network_for(net)
    base = _base(settings, overrides, **defaults)
    photo, photo_caption = _image(content, base.size)
    painting, painting_caption = _image(style, base.size)
    scales = loss_scales(net, photo, painting, settings=base)
    plans = []
    for key, label, change in variants:
        cfg = replace_settings(base, {**change, **_translated(scales, ratio, base)})
        plans.append(Plan(key, label, photo, painting, cfg, _extra(number, ratio, scales, base, **change)))
    inputs = {"content": (photo, photo_caption), "style": (painting, painting_caption)}

    def draw(panels: list[Panel], title: str):
        done = _by_key(panels)
        fig, axes = _grid(1, len(plans) + 2, 2.4, title, aspect=photo.shape[-2] / photo.shape[-1])
        _show(axes[0][0], photo, f"content: {short_caption(photo_caption)}")
        _show(axes[0][1], painting, f"style: {short_caption(painting_caption)}")
        for ax, plan in zip(axes[0][2:], plans, strict=True):
            panel = done.get(plan.key)
            loss = f"\nloss {panel.result.best_loss:.3g}" if panel and panel.result.best_loss is not None else ""
            _show(ax, panel.image if panel else None, plan.label + loss)
        fig.supxlabel(f"α/β = {format_ratio(ratio)} (β = {plans[0].settings.beta:.3g} here)", fontsize=9)
        return fig

    return _finish(number, title, plans, net, inputs, draw, progress=progress, callback=callback, on_panel=on_panel)


def figure5(
    *,
    net: VGG19 | None = None,
    content: ImageSource = "town",
    style: ImageSource = "starry_night",
    layers: Sequence[str] | None = None,
    ratio: float = FIG5_RATIO,
    settings: Settings | None = None,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
    **overrides: Any,
) -> PaperFigure:
    """Fig. 5: the content matched at the conv2_2 level (A) and at the default content layer (B); from noise."""
    layers = list(layers or (same_kind_layer(2, 2), CONTENT_LAYER))
    letters = "ABCDEFGH"
    variants = [
        (letters[i], f"{letters[i]}: content {name}", {"content_layers": (name,)}) for i, name in enumerate(layers)
    ]
    return _pair_figure(
        5, "content layer", net, content, style, ratio, variants, settings, overrides, {"init": "noise"},
        progress, callback, on_panel,
    )  # fmt: skip


def figure6(
    *,
    net: VGG19 | None = None,
    content: ImageSource = "town",
    style: ImageSource = "the_scream",
    seeds: Sequence[int] = FIG6_SEEDS,
    ratio: float = FIG6_RATIO,
    settings: Settings | None = None,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
    **overrides: Any,
) -> PaperFigure:
    """Fig. 6: start from the photo (A), from the painting (B), and from white noise with several seeds (C)."""
    variants = [
        ("A", "A: from the photo", {"init": "content"}),
        ("B", "B: from the painting", {"init": "style"}),
        *((f"C{i}", f"C: noise, seed {seed}", {"init": "noise", "seed": seed}) for i, seed in enumerate(seeds, 1)),
    ]
    return _pair_figure(
        6, "where the optimisation starts", net, content, style, ratio, variants, settings, overrides, {},
        progress, callback, on_panel,
    )  # fmt: skip


def figure7(
    *,
    net: VGG19 | None = None,
    content: ImageSource = "town",
    style: ImageSource = "hopper",
    ratio: float = FIG7_RATIO,
    settings: Settings | None = None,
    progress: Any = True,
    callback: PanelCallback | None = None,
    on_panel: Callable[[Panel], None] | None = None,
    **overrides: Any,
) -> PaperFigure:
    """Fig. 7: one photograph's style onto another, alpha/beta = 1e-2, starting from the content photo."""
    variants = [("result", "the photo in the other photo's style", {"init": "content"})]
    return _pair_figure(
        7, "a photograph's style on another photograph", net, content, style, ratio, variants, settings, overrides,
        {}, progress, callback, on_panel,
    )  # fmt: skip


#: Each figure's function, by number.
FIGURES: dict[int, Callable[..., PaperFigure]] = {3: figure3, 4: figure4, 5: figure5, 6: figure6, 7: figure7}
#: How many panels each figure runs with its defaults.
PANEL_COUNTS = {3: len(FIG3_STYLES), 4: len(STYLE_LAYERS) * len(FIG4_RATIOS), 5: 2, 6: 2 + len(FIG6_SEEDS), 7: 1}


def estimate_figure_seconds(net: VGG19, numbers: Sequence[int], *, size: int = SIZE, steps: int = STEPS) -> float:
    """About how long the figures ``numbers`` take at their defaults, at ``size`` px and ``steps`` steps each panel."""
    probe = resize(load_image("town"), size)
    layers = [CONTENT_LAYER, *STYLE_LAYERS]
    runs = sum(PANEL_COUNTS[n] for n in numbers)
    return estimate_seconds(net, probe, layers=layers, steps=steps, runs=runs)


def trade_off(figure: PaperFigure) -> dict[tuple[str, ...], list[tuple[float, float, float]]]:
    """Fig. 4's rows: for each layer set, ``(beta/alpha, content loss, style loss)`` per finished column."""
    rows: dict[tuple[str, ...], list[tuple[float, float, float]]] = {}
    for panel in figure.panels:
        extra = panel.result.extra
        if "layers" not in extra:
            raise NSTError("trade_off reads Fig. 4 (figure4()); this figure has no layer-set rows")
        beta_over_alpha = panel.result.settings["style_weight"] / panel.result.settings["content_weight"]
        rows.setdefault(tuple(extra["layers"]), []).append(
            (beta_over_alpha, extra["content_loss"], extra["style_loss"])
        )
    return {layers: sorted(values) for layers, values in rows.items()}
