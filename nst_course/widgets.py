"""Interactive front ends for the lessons: choose layers and weights, press Run, watch.

Each explorer is a thin layer over the package API: it turns the controls into
:class:`~nst_course.Settings` (with :func:`dataclasses.replace`) and calls
:func:`~nst_course.reconstruct`, :func:`~nst_course.synthesize_texture` or
:func:`~nst_course.transfer`, whose callback updates a preview image in place.
Nothing is optimised when an explorer is shown, only when Run is pressed. The
run happens in a background thread, so the kernel stays free to hear the Stop
button; stopping keeps the best image found so far.

::

    from nst_course import widgets
    widgets.reconstruction_explorer(photo, net, settings=settings)   # lesson 01

Without a widget front end (ipywidgets missing, or not inside a Jupyter
kernel) each explorer prints a note, does one plain run with the default
choice and returns a :class:`PlainRun` that shows the figure.

This module imports ipywidgets only when an explorer is built, so
``import nst_course`` never needs it.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from .errors import NSTError
from .images import ImageSource, load_image, resize, to_pil
from .optimize import Callback, Result
from .settings import Settings
from .tasks import reconstruct, synthesize_texture, transfer
from .vgg import CONTENT_LAYER, LAYER_NAMES, STYLE_LAYERS, VGG19

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "STYLE_LAYER_SETS",
    "Explorer",
    "FeatureMapsExplorer",
    "PlainRun",
    "feature_maps_explorer",
    "reconstruction_explorer",
    "texture_explorer",
    "transfer_explorer",
]

#: The growing layer sets of the paper's Fig. 1 (bottom rows): conv1_1, then
#: conv1_1 + conv2_1, ... up to all five style layers.
STYLE_LAYER_SETS: tuple[tuple[str, ...], ...] = tuple(STYLE_LAYERS[: n + 1] for n in range(len(STYLE_LAYERS)))

PREVIEW_WIDTH = "256px"
#: Figures keep their own size (not stretched to the cell's width), but never overflow it.
FIGURE_LAYOUT = {"max_width": "100%", "height": "auto", "align_self": "flex-start"}
#: Seconds between two preview updates (every step would flood the browser).
PREVIEW_INTERVAL = 0.2

_NO_FRONT_END = (
    "(No widget front end here, so this is a plain run with the default choice. "
    "Open the lesson in JupyterLab to choose for yourself.)"
)


# ---------------------------------------------------------------- helpers


def _front_end_available() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _png(image: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _join(layers: Sequence[str]) -> str:
    return " + ".join(layers)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, NSTError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _html(text: str) -> str:
    import html

    return html.escape(text)


def _base(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


def _device(net: VGG19) -> torch.device:
    return next(net.parameters()).device


def _layer_or(value: str, options: Sequence[str], default: str) -> str:
    return value if value in options else default


def _drop_text(result: Result) -> str:
    drop = result.loss_drop  # never rounded up to "100%": the loss does not reach zero
    if drop > 0.9999:
        return "loss fell more than 99.99%"
    return f"loss fell {drop:.2%}" if drop >= 0.995 else f"loss fell {drop:.0%}"


def _stopped_text(result: Result, steps: int) -> str:
    if result.stopped == "finished":
        return ""
    return f" — stopped at step {result.steps_done} of {steps}; the best image so far (step {result.best_step}) is kept"


@dataclasses.dataclass
class Plan:
    """One press of Run: what to call, and how to describe what came back.

    Built from the controls when Run is pressed, so later changes to the
    controls do not affect a run in progress.
    """

    steps: int
    run: Callable[[Callback | None], Result]
    caption: Callable[[Result], str]
    figures: Callable[[Result], list[Figure]]
    target: torch.Tensor | None = None


@dataclasses.dataclass
class PlainRun:
    """What an explorer gives back without a widget front end: one plain run.

    In a notebook it shows the caption and the figures; ``print`` gives the
    caption; ``.figures`` can be saved with ``savefig``.
    """

    caption: str
    figures: list[Figure]
    result: Result | None = None

    def __str__(self) -> str:
        return self.caption

    def _repr_html_(self) -> str:
        import base64

        parts = [f"<p>{_html(self.caption)}</p>"]
        for figure in self.figures:
            data = base64.b64encode(_figure_png(figure)).decode("ascii")
            parts.append(f'<img src="data:image/png;base64,{data}" style="max-width:100%">')
        return "\n".join(parts)


def _plain_run(plan: Plan) -> PlainRun:
    print(_NO_FRONT_END)
    result = plan.run(None)
    caption = plan.caption(result)
    print(caption)
    return PlainRun(caption, plan.figures(result), result)


# ---------------------------------------------------------------- the explorer


class Explorer:
    """Controls, Run and Stop buttons, a live preview, a progress bar and a caption.

    ``make_plan()`` reads the controls and returns a :class:`Plan`; pressing Run
    calls it and runs the plan in a background thread. Display the explorer
    (the last line of a cell) to see it; ``.result`` holds the last result.
    """

    def __init__(
        self,
        kind: str,
        title: str,
        controls: dict[str, Any],
        make_plan: Callable[[], Plan],
        *,
        target: torch.Tensor | None = None,
        target_label: str = "target",
        figures: int = 1,
        control_area: Any = None,
    ) -> None:
        import ipywidgets as w

        self.title = title
        self.controls = controls
        self._make_plan = make_plan
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.result: Result | None = None
        self.error: BaseException | None = None

        self.run_button = w.Button(description="Run", button_style="primary", icon="play", tooltip="start")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True, tooltip="stop, keep the best")
        self.run_button.add_class("nst-run")
        self.stop_button.add_class("nst-stop")
        self.run_button.on_click(lambda _button: self.run())
        self.stop_button.on_click(lambda _button: self.stop())

        image_layout = {"width": PREVIEW_WIDTH, "height": "auto", "object_fit": "contain"}
        self.target = w.Image(format="png", layout=image_layout)
        self.target.add_class("nst-target")
        self.preview = w.Image(format="png", layout=image_layout)
        self.preview.add_class("nst-preview")
        if target is not None:
            self.target.value = _png(target)
            self.preview.value = _png(torch.full_like(target, 0.5))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="steps", layout={"width": "auto"})
        self.progress.add_class("nst-progress")
        self.status = w.HTML("Press <b>Run</b> to start.")
        self.status.add_class("nst-status")
        self.caption = w.HTML("")
        self.caption.add_class("nst-caption")
        self.figures = [w.Image(format="png", layout={**FIGURE_LAYOUT, "display": "none"}) for _ in range(figures)]
        for figure in self.figures:
            figure.add_class("nst-figure")

        def labelled(label: str, image: Any) -> Any:
            return w.VBox([w.HTML(f"<b>{label}</b>"), image])

        control_row = control_area or w.HBox(
            [*controls.values()],
            layout={"flex_flow": "row wrap", "align_items": "center", "grid_gap": "4px 16px"},
        )
        self.widget = w.VBox(
            [
                w.HTML(f"<h4 style='margin:0'>{_html(title)}</h4>"),
                control_row,
                w.HBox([self.run_button, self.stop_button]),
                w.HBox(
                    [labelled(target_label, self.target), labelled("live preview", self.preview)],
                    layout={"grid_gap": "16px"},
                ),
                self.progress,
                self.status,
                self.caption,
                *self.figures,
            ],
            layout={"max_width": "100%", "overflow": "hidden"},
        )
        self.widget.add_class("nst-explorer")
        self.widget.add_class(f"nst-explorer-{kind}")

    # display: delegate to the box, with a short, deterministic text form
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.title} (choose, then press Run; needs JupyterLab)"
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, *, wait: bool = False) -> None:
        """What Run does: read the controls, start the run in a background thread."""
        if self.running and self.run_button.disabled:
            return  # a run is going on
        self.wait(timeout=5)  # the last run has shown its result and is just ending
        self.error = None
        try:
            plan = self._make_plan()
        except Exception as exc:  # a bad choice: say so in one line
            self._fail(exc)
            return
        self._stop_event.clear()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.progress.max = plan.steps
        self.progress.value = 0
        self.progress.bar_style = ""
        self.caption.value = ""
        for figure in self.figures:
            figure.layout.display = "none"
        if plan.target is not None:
            self.target.value = _png(plan.target)
        self.status.value = f"Running {plan.steps} steps…"
        self._thread = threading.Thread(target=self._work, args=(plan,), name="nst-explorer", daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def stop(self) -> None:
        """What Stop does: the run ends after the current step, keeping its best image."""
        if self.running:
            self._stop_event.set()
            self.status.value = "Stopping after this step…"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current run ends; False if it is still going after ``timeout`` s."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _callback(self, steps: int) -> Callback:
        last = [0.0]  # when the preview was last sent; local to this run

        def callback(step: int, losses: Any, image: torch.Tensor) -> bool:
            self.progress.value = step
            now = time.monotonic()
            if now - last[0] >= PREVIEW_INTERVAL or step == steps:
                last[0] = now
                self.preview.value = _png(image)
                self.status.value = f"Step {step} of {steps}: loss {losses['total']:.4g}"
            return self._stop_event.is_set()

        return callback

    def _work(self, plan: Plan) -> None:
        try:
            result = plan.run(self._callback(plan.steps))
            self.result = result
            self.preview.value = _png(result.image)
            figures = plan.figures(result)
            for widget, figure in zip(self.figures, figures, strict=True):
                widget.value = _figure_png(figure)
                widget.layout.display = None
            caption = plan.caption(result) + _stopped_text(result, plan.steps)
            stopped = result.stopped != "finished"
            self.progress.bar_style = "warning" if stopped else "success"
            self.status.value = (
                f"Stopped after {result.steps_done} steps ({result.seconds:.1f} s)."
                if stopped
                else f"Done: {result.steps_done} steps in {result.seconds:.1f} s."
            )
            self._ready()
            self.caption.value = f"<b>{_html(caption)}</b>"  # last: the sign that the run is over
        except Exception as exc:  # shown in the widget, not as a traceback
            result = getattr(exc, "result", None)
            if result is not None:
                self.result = result
                self.preview.value = _png(result.image)
            self._fail(exc)
        finally:
            self._ready()

    def _ready(self) -> None:
        self.run_button.disabled = False
        self.stop_button.disabled = True

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.progress.bar_style = "danger"
        self.status.value = f"<span style='color:#c62828'><b>Error:</b> {_html(_one_line(exc))}</span>"
        self._ready()


class FeatureMapsExplorer:
    """A layer dropdown and the feature maps of that layer (no optimisation)."""

    def __init__(self, image: torch.Tensor, net: VGG19, layer: str, max_maps: int) -> None:
        import ipywidgets as w

        self.image = image
        self.net = net
        self.max_maps = max_maps
        self.layer = w.Dropdown(options=list(LAYER_NAMES), value=layer, description="layer")
        self.layer.add_class("nst-layer")
        self.figure = w.Image(format="png", layout=FIGURE_LAYOUT)
        self.figure.add_class("nst-figure")
        self.caption = w.HTML("")
        self.caption.add_class("nst-caption")
        self.widget = w.VBox([self.layer, self.caption, self.figure], layout={"max_width": "100%"})
        self.widget.add_class("nst-explorer")
        self.widget.add_class("nst-explorer-feature-maps")
        self.layer.observe(lambda change: self.show(change["new"]), names="value")
        self.show(layer)

    def show(self, layer: str) -> None:
        try:
            figure, caption = _feature_maps(self.image, self.net, layer, self.max_maps)
        except Exception as exc:
            self.caption.value = f"<span style='color:#c62828'><b>Error:</b> {_html(_one_line(exc))}</span>"
            return
        self.figure.value = _figure_png(figure)
        self.caption.value = f"<b>{_html(caption)}</b>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "Feature maps explorer (choose a layer; needs JupyterLab)"
        return bundle


def _feature_maps(image: torch.Tensor, net: VGG19, layer: str, max_maps: int) -> tuple[Figure, str]:
    from .plotting import plot_feature_maps

    with torch.no_grad():
        features = net(image.to(_device(net)), [layer])[layer]
    _, channels, height, width = features.shape
    caption = f"{layer}: {channels} feature maps of {height}×{width} — {net.weights} weights"
    shown = min(max_maps, channels)
    title = f"{layer}: the first {shown} of {channels} maps ({height}×{width})"
    return plot_feature_maps(features, max_maps=max_maps, title=title), caption


# ---------------------------------------------------------------- the four explorers


def feature_maps_explorer(
    image: ImageSource, net: VGG19, *, layer: str = "conv1_1", size: int | None = None, max_maps: int = 16
) -> FeatureMapsExplorer | PlainRun:
    """Pick a layer (paper names) and see its feature maps for ``image``. Lesson 00.

    The caption names the layer, the maps' shape and the network's weights.
    """
    picture = load_image(image, size=size)
    if not _front_end_available():
        print(_NO_FRONT_END)
        figure, caption = _feature_maps(picture, net, layer, max_maps)
        print(caption)
        return PlainRun(caption, [figure])
    return FeatureMapsExplorer(picture, net, layer, max_maps)


def _size_slider(w: Any, value: int) -> Any:
    return w.IntSlider(
        value=value, min=32, max=max(512, value), step=16, description="size (px)", continuous_update=False
    )


def _steps_slider(w: Any, value: int) -> Any:
    return w.IntSlider(value=value, min=1, max=max(500, value), step=1, description="steps", continuous_update=False)


def _layer_set_controls(w: Any, current: Sequence[str], label: str) -> tuple[Any, Any, Any]:
    """A dropdown of the paper's growing layer sets, and a multi-select of every layer.

    Picking a set selects its layers; selecting layers by hand (Ctrl/Shift-click)
    shows "(your choice)" in the dropdown. The run uses the multi-select. Returns
    both and a box that shows them with the current choice in words.
    """
    current = tuple(current) or STYLE_LAYERS
    presets = [(_join(layers), tuple(layers)) for layers in STYLE_LAYER_SETS]
    custom = ("(your choice)", ())
    preset = w.Dropdown(
        options=[*presets, custom],
        value=current if current in STYLE_LAYER_SETS else (),
        description=label,
        layout={"width": "max-content"},
    )
    chosen = w.SelectMultiple(
        options=list(LAYER_NAMES), value=current, rows=6, description="layers", layout={"width": "220px"}
    )

    def preset_changed(change: dict[str, Any]) -> None:
        if change["new"]:
            chosen.value = change["new"]

    def chosen_changed(change: dict[str, Any]) -> None:
        preset.value = tuple(change["new"]) if tuple(change["new"]) in STYLE_LAYER_SETS else ()

    shown = w.HTML(layout={"margin": "0 0 0 90px"})

    def show_choice() -> None:
        text = _join(chosen.value) if chosen.value else "none: pick at least one"
        shown.value = f"<small>chosen: {_html(text)} (Ctrl- or Shift-click for several)</small>"

    preset.observe(preset_changed, names="value")
    chosen.observe(chosen_changed, names="value")
    chosen.observe(lambda _change: show_choice(), names="value")
    show_choice()
    preset.add_class("nst-layer-set")
    chosen.add_class("nst-layers")
    shown.add_class("nst-chosen-layers")
    return preset, chosen, w.VBox([preset, chosen, shown], layout={"grid_gap": "4px"})


def _two_columns(w: Any, left: Sequence[Any], right: Any) -> Any:
    column = w.VBox(list(left), layout={"grid_gap": "4px"})
    return w.HBox([column, right], layout={"flex_flow": "row wrap", "grid_gap": "8px 32px"})


def _chosen_layers(value: Sequence[str]) -> tuple[str, ...]:
    layers = tuple(value)
    if not layers:
        raise NSTError("choose at least one layer for the style (Ctrl-click to select several)")
    return layers


def _controls_or_defaults(controls: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    if controls is None:
        return defaults
    return {name: control.value for name, control in controls.items()}


def reconstruction_explorer(image: ImageSource, net: VGG19, *, settings: Settings | None = None) -> Explorer | PlainRun:
    """Reconstruct ``image`` from one layer's features, with a live preview. Lesson 01.

    Controls: layer (any of :data:`~nst_course.LAYER_NAMES`; default
    ``settings.content_layers[0]``, conv4_2), steps and size. The caption names
    the layer, the weights and how far the loss fell.
    """
    base = _base(settings)
    photo = load_image(image)
    first = base.content_layers[0] if base.content_layers else CONTENT_LAYER
    defaults = {"layer": _layer_or(first, LAYER_NAMES, CONTENT_LAYER), "steps": base.steps, "size": base.size}

    def make_plan(controls: dict[str, Any] | None = None) -> Plan:
        choice = _controls_or_defaults(controls, defaults)
        layer = choice["layer"]
        cfg = dataclasses.replace(base, content_layers=(layer,), steps=int(choice["steps"]), size=int(choice["size"]))
        target = resize(photo, cfg.size)

        def run(callback: Callback | None) -> Result:
            return reconstruct(photo, layer=layer, settings=cfg, net=net, callback=callback, progress=False)

        def caption(result: Result) -> str:
            return f"Reconstruction from {layer} — {result.weights} weights — {_drop_text(result)}"

        def figures(result: Result) -> list[Figure]:
            from .plotting import show_images

            return [
                show_images(
                    [target, result.image],
                    ["photo (target)", f"reconstructed from {layer}"],
                    suptitle=f"{result.weights} weights",
                    size=3.0,
                )
            ]

        return Plan(cfg.steps, run, caption, figures, target)

    if not _front_end_available():
        return _plain_run(make_plan())
    import ipywidgets as w

    controls = {
        "layer": w.Dropdown(options=list(LAYER_NAMES), value=defaults["layer"], description="layer"),
        "steps": _steps_slider(w, base.steps),
        "size": _size_slider(w, base.size),
    }
    controls["layer"].add_class("nst-layer")
    return Explorer(
        "reconstruction",
        "Feature reconstruction: which layer keeps what?",
        controls,
        lambda: make_plan(controls),
        target=resize(photo, base.size),
        target_label="photo (target)",
    )


def texture_explorer(style: ImageSource, net: VGG19, *, settings: Settings | None = None) -> Explorer | PlainRun:
    """Synthesise a texture from the Gram matrices of a growing layer set. Lesson 02.

    Controls: the layer set (a preset: conv1_1; conv1_1 + conv2_1; ... up to
    conv5_1, or any layers picked by hand), steps and size. The caption names
    the layers and the weights.
    """
    base = _base(settings)
    painting = load_image(style)
    start = tuple(base.style_layers) or STYLE_LAYERS
    defaults = {"layers": start, "steps": base.steps, "size": base.size}

    def make_plan(controls: dict[str, Any] | None = None) -> Plan:
        choice = _controls_or_defaults(controls, defaults)
        layers = _chosen_layers(choice["layers"])
        cfg = dataclasses.replace(
            base, style_layers=layers, style_layer_weights=None, steps=int(choice["steps"]), size=int(choice["size"])
        )
        target = resize(painting, cfg.size)

        def run(callback: Callback | None) -> Result:
            return synthesize_texture(painting, layers=layers, settings=cfg, net=net, callback=callback, progress=False)

        def caption(result: Result) -> str:
            return f"Texture from {_join(layers)} — {result.weights} weights — {_drop_text(result)}"

        def figures(result: Result) -> list[Figure]:
            from .plotting import show_images

            return [
                show_images(
                    [target, result.image],
                    ["style (target)", f"texture from {_join(layers)}"],
                    suptitle=f"{result.weights} weights",
                    size=3.0,
                )
            ]

        return Plan(cfg.steps, run, caption, figures, target)

    if not _front_end_available():
        return _plain_run(make_plan())
    import ipywidgets as w

    preset, chosen, picker = _layer_set_controls(w, start, "layer set")
    controls = {
        "preset": preset,
        "layers": chosen,
        "steps": _steps_slider(w, base.steps),
        "size": _size_slider(w, base.size),
    }
    area = _two_columns(w, [controls["steps"], controls["size"]], picker)
    return Explorer(
        "texture",
        "Texture synthesis: which layers make the style?",
        controls,
        lambda: make_plan(controls),
        target=resize(painting, base.size),
        target_label="style (target)",
        control_area=area,
    )


def transfer_explorer(
    content: ImageSource, style: ImageSource, net: VGG19, *, settings: Settings | None = None
) -> Explorer | PlainRun:
    """Paint ``content`` in the style of ``style``, choosing beta and the layers. Lesson 03.

    Controls: style weight (beta, log scale; alpha stays ``settings.content_weight``),
    content layer, style layers, steps and size. After the run: the result next
    to both inputs, and every layer's loss per step.
    """
    base = _base(settings)
    photo = load_image(content)
    painting = load_image(style)
    first = base.content_layers[0] if base.content_layers else CONTENT_LAYER
    start_style = tuple(base.style_layers) or STYLE_LAYERS
    defaults = {
        "style_weight": base.style_weight,
        "content_layer": _layer_or(first, LAYER_NAMES, CONTENT_LAYER),
        "style_layers": start_style,
        "steps": base.steps,
        "size": base.size,
    }

    def make_plan(controls: dict[str, Any] | None = None) -> Plan:
        choice = _controls_or_defaults(controls, defaults)
        beta = float(choice["style_weight"])
        content_layer = choice["content_layer"]
        style_layers = _chosen_layers(choice["style_layers"])
        cfg = dataclasses.replace(
            base,
            style_weight=beta,
            content_layers=(content_layer,),
            style_layers=style_layers,
            style_layer_weights=None,
            steps=int(choice["steps"]),
            size=int(choice["size"]),
        )
        target = resize(photo, cfg.size)

        def run(callback: Callback | None) -> Result:
            return transfer(photo, painting, settings=cfg, net=net, callback=callback, progress=False)

        def caption(result: Result) -> str:
            return (
                f"Transfer with style weight β = {beta:.3g} (α = {cfg.content_weight:.3g}), content {content_layer}, "
                f"style {_join(style_layers)} — {result.weights} weights — {_drop_text(result)}"
            )

        def figures(result: Result) -> list[Figure]:
            from .plotting import plot_losses, show_images

            pictures = show_images(
                [target, result.image, resize(painting, cfg.size)],
                ["content", f"result (β = {beta:.3g})", "style"],
                suptitle=f"{result.weights} weights",
                size=3.0,
            )
            curves = plot_losses(result.history, title="weighted loss per layer", size=3.5)
            return [pictures, curves]

        return Plan(cfg.steps, run, caption, figures, target)

    if not _front_end_available():
        return _plain_run(make_plan())
    import ipywidgets as w

    weight = min(max(base.style_weight, 1e-2), 1e4)
    preset, chosen, picker = _layer_set_controls(w, start_style, "style")
    controls = {
        "style_weight": w.FloatLogSlider(
            value=weight,
            base=10,
            min=-2,
            max=4,
            step=0.25,
            description="style β",
            readout_format=".3g",
            continuous_update=False,
        ),
        "content_layer": w.Dropdown(options=list(LAYER_NAMES), value=defaults["content_layer"], description="content"),
        "style_preset": preset,
        "style_layers": chosen,
        "steps": _steps_slider(w, base.steps),
        "size": _size_slider(w, base.size),
    }
    controls["style_weight"].add_class("nst-style-weight")
    controls["content_layer"].add_class("nst-layer")
    return Explorer(
        "transfer",
        "Style transfer: content + style",
        controls,
        lambda: make_plan(controls),
        target=resize(photo, base.size),
        target_label="content",
        figures=2,
        control_area=_two_columns(w, [controls[k] for k in ("style_weight", "content_layer", "steps", "size")], picker),
    )
