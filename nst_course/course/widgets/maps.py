"""What a layer sees, without optimising: its feature maps (lesson 00) and one channel (lesson 06).

The feature-maps explorer redraws one layer's maps whenever the layer, the order or the
image changes; the channel explorer visualises the chosen channel and shows where it
responds in an image. Neither runs the optimisation loop of :mod:`.runtime`.
"""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING, Any

import torch

from ...engine.estimate import estimate_run
from ...engine.featurevis import VisSettings, visualise
from ...engine.vgg import LAYER_NAMES, STYLE_LAYERS, VGG19
from ...errors import NSTError
from ...media.images import ImageSource, load_image, resize
from ...media.samples import sample_names
from ..atlases import check_channels, draw_atlas
from ..examples import top_patches
from . import runtime
from .controls import Layer, Whole, image_size, step_count
from .runtime import Declaration, Explorer, PlainRun

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAP_ORDERS",
    "ChannelChoice",
    "FeatureMapsExplorer",
    "channel_explorer",
    "channel_map",
    "feature_maps",
    "feature_maps_explorer",
    "ordered_channels",
]


#: How the maps of a layer can be ordered.
MAP_ORDERS = ("energy", "index")
_THIS_IMAGE = "(the lesson's image)"


def feature_maps_explorer(
    image: ImageSource,
    net: VGG19,
    *,
    layer: str = STYLE_LAYERS[0],
    compare: str | None = None,
    order: str = "energy",
    size: int | None = None,
    max_maps: int = 16,
) -> FeatureMapsExplorer | PlainRun:
    """What does a layer represent? Its feature maps for ``image``, next to a second layer's. Lesson 00.

    Controls: the image (``image`` or a built-in sample), the layer, a layer to
    compare it with (or none), and the order of the maps: by energy (the sum of
    a map's squared values, most active first) or by channel number. The
    caption names each layer, its maps' shape and the network's weights.
    """
    picture = load_image(image, size=size)
    if order not in MAP_ORDERS:
        raise NSTError(f"order must be one of {', '.join(MAP_ORDERS)}, not {order!r}")
    if not runtime.front_end_available():
        print(runtime.NO_FRONT_END)
        figures, captions = [], []
        for name in [layer] + ([compare] if compare else []):
            figure, caption = feature_maps(picture, net, name, max_maps, order=order)
            figures.append(figure)
            captions.append(caption)
        print(" | ".join(captions))
        return PlainRun(" | ".join(captions), figures)
    return FeatureMapsExplorer(picture, net, layer, max_maps, compare=compare, order=order, size=size)


def ordered_channels(features: torch.Tensor, order: str = "energy") -> list[int]:
    """Channel numbers of (1, C, H, W) ``features``: most energy first, or simply 0, 1, 2, ...

    >>> f = torch.zeros(1, 3, 2, 2)
    >>> f[0, 2] = 2.0
    >>> f[0, 1] = 1.0
    >>> ordered_channels(f), ordered_channels(f, "index")
    ([2, 1, 0], [0, 1, 2])
    """
    if order == "index":
        return list(range(features.shape[1]))
    energy = features[0].detach().double().pow(2).flatten(1).sum(1)
    return [int(i) for i in torch.argsort(energy, descending=True, stable=True)]


def feature_maps(
    image: torch.Tensor, net: VGG19, layer: str, max_maps: int = 16, *, order: str = "energy"
) -> tuple[Figure, str]:
    """The figure of ``max_maps`` of ``layer``'s maps for ``image`` (most active first), and its caption."""
    from ..plotting import plot_feature_maps

    with torch.no_grad():
        features = net(image.to(net.device), [layer])[layer]
    _, channels, height, width = features.shape
    caption = f"{layer}: {channels} feature maps of {height}×{width} — {net.weights} weights"
    channels_shown = ordered_channels(features, order)[:max_maps]
    how = "most active" if order == "energy" else "first"
    title = f"{layer}: the {how} {len(channels_shown)} of {channels} maps ({height}×{width})"
    figure = plot_feature_maps(features[:, channels_shown], max_maps=max_maps, title=title)
    for ax, channel in zip(figure.axes, channels_shown, strict=False):
        ax.set_title(f"channel {channel}", fontsize=7)
    return figure, caption


class FeatureMapsExplorer:
    """Image, layer, comparison layer and order; the maps of both layers, redrawn on every change."""

    def __init__(
        self,
        image: torch.Tensor,
        net: VGG19,
        layer: str,
        max_maps: int,
        *,
        compare: str | None = None,
        order: str = "energy",
        size: int | None = None,
    ) -> None:
        import ipywidgets as w

        self.image = image
        self.net = net
        self.max_maps = max_maps
        self.size = size or max(image.shape[-2:])
        self.source = w.Dropdown(options=[_THIS_IMAGE, *sample_names()], value=_THIS_IMAGE, description="image")
        self.source.add_class("nst-image")
        self.layer, _view = Layer("layer", layer).build(w)
        self.compare = w.Dropdown(options=["(none)", *LAYER_NAMES], value=compare or "(none)", description="compare")
        self.compare.add_class("nst-compare")
        self.order = w.ToggleButtons(options=list(MAP_ORDERS), value=order, description="order")
        self.order.add_class("nst-order")
        self.figure = w.Image(format="png", layout=runtime.FIGURE_LAYOUT)
        self.figure.add_class("nst-figure")
        self.second = w.Image(format="png", layout=runtime.FIGURE_LAYOUT)
        self.second.add_class("nst-figure-compare")
        self.caption = w.HTML("")
        self.caption.add_class("nst-caption")
        controls = w.HBox([w.VBox([self.source, self.layer]), w.VBox([self.compare, self.order])])
        figures = w.HBox([self.figure, self.second], layout={"max_width": "100%"})
        self.widget = w.VBox([controls, self.caption, figures], layout={"max_width": "100%"})
        self.widget.add_class("nst-explorer")
        self.widget.add_class("nst-explorer-feature-maps")
        for control in (self.source, self.layer, self.compare, self.order):
            control.observe(lambda change: self.show(), names="value")
        self.show()

    def picture(self) -> torch.Tensor:
        """The chosen image: the lesson's own, or a built-in sample at the same size."""
        if self.source.value == _THIS_IMAGE:
            return self.image
        return load_image(self.source.value, size=self.size)

    def show(self, layer: str | None = None) -> None:
        """Redraw both panels (``layer`` sets the first layer's dropdown first)."""
        if layer is not None and layer != self.layer.value:
            self.layer.value = layer  # observing the dropdown redraws
            return
        try:
            picture = self.picture()
            figure, caption = feature_maps(picture, self.net, self.layer.value, self.max_maps, order=self.order.value)
            captions = [caption]
            second = None
            if self.compare.value != "(none)":
                second, other = feature_maps(
                    picture, self.net, self.compare.value, self.max_maps, order=self.order.value
                )
                captions.append(other.split(" — ")[0])
        except Exception as exc:
            self.caption.value = runtime.error_html(exc)
            return
        self.figure.value = runtime.figure_png(figure)
        self.second.value = runtime.figure_png(second) if second is not None else b""
        self.second.layout.display = "none" if second is None else None
        self.caption.value = f"<b>{html.escape(' | '.join(captions))}</b>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "Feature maps explorer (choose an image and two layers; needs JupyterLab)"
        return bundle


@dataclasses.dataclass(frozen=True)
class ChannelChoice:
    """What the channel explorer runs: one channel of one layer, and how it is visualised."""

    layer: str = "relu3_1"
    channel: int = 0
    vis: VisSettings = dataclasses.field(default_factory=VisSettings)

    def __post_init__(self) -> None:
        check_channels(self.layer, [self.channel])

    @property
    def steps(self) -> int:
        return self.vis.steps


def channel_map(net: VGG19, image: torch.Tensor, choice: ChannelChoice) -> torch.Tensor:
    """Where on ``image`` (at the visualisation's size) the channel responds: grey, brightest at its maximum."""
    small = resize(image, choice.vis.size)
    with torch.no_grad():
        fmap = net(small.to(net.device), [choice.layer])[choice.layer][:, choice.channel : choice.channel + 1].cpu()
    fmap = fmap / fmap.max() if float(fmap.max()) > 0 else fmap
    grey = torch.nn.functional.interpolate(fmap, size=small.shape[-2:], mode="nearest")
    return grey.expand(-1, 3, -1, -1).clamp(0, 1)


def channel_explorer(
    net: VGG19,
    *,
    image: ImageSource = "town",
    layer: str = "relu3_1",
    channel: int = 0,
    settings: VisSettings | None = None,
) -> Explorer | PlainRun:
    """Pick a layer and a channel; see the image optimised to excite it, its top sample patches,
    and its feature map on ``image``.

    Controls: layer, channel, steps and size. The picture beside the live preview is the
    channel's map on the photo; the figure, after the run, adds the sample patches.
    """
    base = ChannelChoice(layer, channel, settings or VisSettings())
    photo = load_image(image)
    return runtime.explore(
        Declaration(
            kind="channel",
            title="What does one channel look for?",
            base=base,
            controls={
                "layer": Layer("layer", layer),
                "channel": Whole("channel", channel, 0, 511),
                "steps": step_count(base.vis.steps),
                "size": image_size(base.vis.size),
            },
            overrides=lambda c: {
                "layer": c["layer"],
                "channel": c["channel"],
                "vis": dataclasses.replace(base.vis, steps=c["steps"], size=c["size"]),
            },
            run=lambda cfg, callback: visualise(
                net, cfg.layer, [cfg.channel], settings=cfg.vis, callback=callback, progress=False
            ),
            caption=lambda cfg, r: (
                f"{cfg.layer} channel {cfg.channel} — {r.weights} weights — "
                f"mean activation {-(r.best_loss or 0.0):.3g} (while moved at random)"
            ),
            figures=lambda cfg, r: [
                draw_atlas(cfg.layer, [cfg.channel], r, top_patches(net, cfg.layer, [cfg.channel]))
            ],
            target=lambda cfg: channel_map(net, photo, cfg),
            target_label="the channel on the photo",
            estimate=lambda cfg: estimate_run(
                net, shape=(cfg.vis.size, cfg.vis.size), layers=[cfg.layer], steps=cfg.vis.steps, optimizer="adam"
            ),
        )
    )
